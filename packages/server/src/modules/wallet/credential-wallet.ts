import { v7 as uuidv7 } from 'uuid';
import { Problem } from '../../http/problem.js';
import type { UserCredentialsTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import { asArray, isObject, type JsonObject } from '../credentials/json.js';
import type { CredentialsService, IssueOptions } from '../credentials/service.js';
import type { SecretBox } from '../identity/secret-box.js';
import type { IdentityService } from '../identity/service.js';
import type { IssuersService } from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import type { WalletRepo } from './repo.js';
import type { EndUser, UserDids } from './user-dids.js';

/** The largest credential a wallet keeps (its JSON, UTF-8), and how many one user may keep. */
export const MAX_CREDENTIAL_BYTES = 64 * 1024;
export const MAX_CREDENTIALS_PER_USER = 100;

const CREDENTIAL_ID = /^ucr_[0-9a-f]{32}$/;

/** What a wallet lists of a credential: its metadata, kept in clear so listing opens no ciphertext. */
export interface HeldCredentialSummary {
  id: string;
  types: string[];
  issuer: string;
  validFrom: string | null;
  validUntil: string | null;
  storedAt: string;
}

export interface CredentialWalletOptions {
  repo: WalletRepo;
  credentials: CredentialsService;
  issuers: IssuersService;
  identity: IdentityService;
  dids: UserDids;
  /** Seals each credential, bound to its user and its id. */
  box: SecretBox;
  audit: AuditService;
  now: () => Date;
}

/**
 * End users' credential wallets. A credential is kept only when it verifies (its status included) and is
 * about the user: every `credentialSubject.id` is one of their linked DIDs. It is personal data, so it is
 * sealed at rest; only what the listing shows (types, issuer, validity) stays in clear.
 */
export class CredentialWallet {
  private readonly repo: WalletRepo;

  constructor(private readonly options: CredentialWalletOptions) {
    this.repo = options.repo;
  }

  async store(user: EndUser, sent: object): Promise<HeldCredentialSummary> {
    const verifiableCredential = sent as JsonObject;
    checkSize(verifiableCredential);
    const payload = await this.options.credentials.verifiedCredential(verifiableCredential);
    await this.checkSubjects(user, payload);
    return this.keep(user, verifiableCredential, payload, user.userId);
  }

  list(user: EndUser): Promise<HeldCredentialSummary[]> {
    return this.repo.listCredentials(user.projectId, user.userId).then((rows) => rows.map(toSummary));
  }

  async get(user: EndUser, id: string): Promise<HeldCredentialSummary & { verifiableCredential: unknown }> {
    const row = CREDENTIAL_ID.test(id)
      ? await this.repo.getCredential(user.projectId, user.userId, id)
      : undefined;
    if (!row) throw new Problem('not-found', 'No such credential in this wallet.');
    const opened = await this.options.box.open(row.sealed, sealOwner(row));
    return { ...toSummary(row), verifiableCredential: JSON.parse(new TextDecoder().decode(opened)) };
  }

  async delete(user: EndUser, id: string): Promise<void> {
    await this.repo.transaction(async (repo) => {
      if (!CREDENTIAL_ID.test(id) || !(await repo.deleteCredential(user.projectId, user.userId, id))) {
        throw new Problem('not-found', 'No such credential in this wallet.');
      }
      await this.options.audit.record(repo.db, event('user.credential_deleted', user, user.userId, id));
    });
    this.options.audit.committed();
  }

  /**
   * The admin API: issues `credential` as the project's issuer (the VC-API issue path and its scope) with
   * `credentialSubject.id` set to the user's DID (`did` when given, else their primary one), and keeps it
   * in the user's wallet.
   */
  async issueTo(
    principal: Principal,
    projectId: string,
    userId: string,
    input: {
      issuerId: string;
      did?: string | undefined;
      credential: object;
      options?: IssueOptions | undefined;
    },
  ): Promise<HeldCredentialSummary> {
    const issuer = await this.options.issuers.authorizeIssuer(principal, input.issuerId, 'credentials:issue');
    if (issuer.projectId !== projectId) throw new Problem('not-found', `No issuer ${input.issuerId}.`);
    if ((await this.options.identity.describeUsers(projectId, [userId])).size === 0) {
      throw new Problem('not-found', `No user ${userId}.`);
    }
    const user = { projectId, userId };
    const dids = await this.options.dids.didsOf(projectId, userId);
    const did = input.did ?? dids[0];
    if (did === undefined || !dids.includes(did)) {
      throw new Problem('validation-error', 'The user has no such linked DID to issue to.', {
        errors: [{ in: 'body', pointer: '#/did', detail: 'must be one of the user’s linked DIDs' }],
      });
    }
    const { credentialSubject } = input.credential as JsonObject;
    if (credentialSubject !== undefined && !isObject(credentialSubject)) {
      throw new Problem('validation-error', 'The credential must have a single credentialSubject.', {
        errors: [{ in: 'body', pointer: '#/credential/credentialSubject', detail: 'must be an object' }],
      });
    }
    await this.checkRoom(user);
    const credential = {
      issuer: issuer.did,
      ...input.credential,
      credentialSubject: { ...credentialSubject, id: did },
    };
    const { verifiableCredential } = await this.options.credentials.issue(principal, input.issuerId, {
      credential,
      ...(input.options === undefined ? {} : { options: input.options }),
    });
    checkSize(verifiableCredential);
    // An enveloped (vc+jwt) credential's payload is what was just sent to be issued.
    const payload =
      verifiableCredential.type === 'EnvelopedVerifiableCredential' ? credential : verifiableCredential;
    return this.keep(user, verifiableCredential, { ...payload, issuer: issuer.did }, principal.keyId);
  }

  private async checkSubjects(user: EndUser, payload: JsonObject): Promise<void> {
    const subjects = asArray(payload.credentialSubject);
    const dids = new Set(await this.options.dids.didsOf(user.projectId, user.userId));
    const about =
      subjects.length > 0 && subjects.every((subject) => isObject(subject) && dids.has(subject.id as string));
    if (!about) {
      throw new Problem(
        'forbidden',
        'The credential is not about this account: its subject must be one of your DIDs.',
        {
          extensions: { code: 'subject_not_linked' },
        },
      );
    }
  }

  private async checkRoom(user: EndUser): Promise<void> {
    if ((await this.repo.countCredentials(user.projectId, user.userId)) >= MAX_CREDENTIALS_PER_USER) {
      throw walletFull();
    }
  }

  private async keep(
    user: EndUser,
    verifiableCredential: JsonObject,
    payload: JsonObject,
    actor: string,
  ): Promise<HeldCredentialSummary> {
    const id = `ucr_${uuidv7().replace(/-/g, '')}`;
    const base = { id, project_id: user.projectId, user_id: user.userId };
    const row: UserCredentialsTable = {
      ...base,
      sealed: await this.options.box.seal(
        new TextEncoder().encode(JSON.stringify(verifiableCredential)),
        sealOwner(base),
      ),
      types: JSON.stringify(asArray(payload.type).filter((type) => typeof type === 'string')),
      issuer: issuerOf(payload),
      valid_from: dateOf(payload.validFrom ?? payload.issuanceDate),
      valid_until: dateOf(payload.validUntil ?? payload.expirationDate),
      stored_at: this.options.now().toISOString(),
    };
    await this.repo.transaction(async (repo) => {
      // Counted again in the transaction: concurrent stores must not pass the cap together.
      if ((await repo.countCredentials(user.projectId, user.userId)) >= MAX_CREDENTIALS_PER_USER) {
        throw walletFull();
      }
      await repo.insertCredential(row);
      await this.options.audit.record(repo.db, event('user.credential_stored', user, actor, id));
    });
    this.options.audit.committed();
    return toSummary(row);
  }
}

/** The associated data of a sealed credential: a ciphertext moved to another user or row does not open. */
function sealOwner(row: Pick<UserCredentialsTable, 'id' | 'project_id' | 'user_id'>): string {
  return `${row.project_id}/${row.user_id}/${row.id}`;
}

function walletFull(): Problem {
  return new Problem(
    'conflict',
    `A wallet keeps at most ${MAX_CREDENTIALS_PER_USER} credentials: delete one first.`,
    {
      extensions: { code: 'wallet_full' },
    },
  );
}

function checkSize(credential: JsonObject): void {
  if (new TextEncoder().encode(JSON.stringify(credential)).length > MAX_CREDENTIAL_BYTES) {
    throw new Problem(
      'payload-too-large',
      `A wallet keeps credentials of at most ${MAX_CREDENTIAL_BYTES} bytes.`,
    );
  }
}

function issuerOf(payload: JsonObject): string {
  const issuer = isObject(payload.issuer) ? payload.issuer.id : payload.issuer;
  return typeof issuer === 'string' ? issuer : '';
}

function dateOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The audit names the credential by its wallet id only, never its contents. */
function event(type: AuditEvent['type'], user: EndUser, actor: string, id: string): AuditEvent {
  return {
    type,
    orgId: null,
    projectId: user.projectId,
    actor,
    subject: user.userId,
    details: { credentialId: id },
  };
}

function toSummary(row: Omit<UserCredentialsTable, 'sealed'>): HeldCredentialSummary {
  return {
    id: row.id,
    types: JSON.parse(row.types) as string[],
    issuer: row.issuer,
    validFrom: row.valid_from,
    validUntil: row.valid_until,
    storedAt: row.stored_at,
  };
}
