import { randomBytes, randomUUID } from 'node:crypto';
import { createDidKey, type DocumentLoader } from '@personachain/credentials';
import { type KeyStore, toBase64Url } from '@personachain/crypto';
import { v7 as uuidv7 } from 'uuid';
import { Problem } from '../../http/problem.js';
import type { UserDidsTable } from '../../store/schema.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import {
  formatSuite,
  type PresentationFormat,
  type PresentationSuite,
  signHeldPresentation,
  withHolder,
} from '../credentials/holder.js';
import type { JsonObject } from '../credentials/json.js';
import { rejected } from '../credentials/rejection.js';
import type { CredentialsService } from '../credentials/service.js';
import type { IdentityService } from '../identity/service.js';
import { hashToken } from '../identity/sessions.js';
import type { Principal } from '../policy/model.js';
import { didAuthClaims } from './did-auth.js';
import type { WalletRepo } from './repo.js';

/** How many DIDs one user may link. */
export const MAX_DIDS_PER_USER = 10;
/** How long a DID Auth challenge answers, and how many a user may hold at once. */
const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_LIVE_CHALLENGES = 5;

/** A signed-in end user of a project (an identity session's ids). */
export interface EndUser {
  projectId: string;
  userId: string;
}

export interface LinkedDid {
  did: string;
  /** `did-auth`: the user proved control of it; `custodial`: the platform holds its key for the user. */
  custody: 'self' | 'platform';
  linkedAt: string;
}

export interface UserPresentationOptions {
  /** Which of the user's custodial DIDs signs; default their first. */
  holder?: string | undefined;
  challenge: string;
  domain?: string | undefined;
  cryptosuite?: Exclude<PresentationSuite, 'ecdsa-rdfc-2019'> | undefined;
  /** VC-JOSE-COSE instead of Data Integrity: an EnvelopedVerifiablePresentation, as the VC-API holder answers. */
  format?: PresentationFormat | undefined;
  created?: string | undefined;
}

export interface UserDidsOptions {
  repo: WalletRepo;
  credentials: CredentialsService;
  identity: IdentityService;
  keys: KeyStore;
  documentLoader: DocumentLoader;
  audit: AuditService;
  /** What DID Auth presentations must name as their `domain`: the platform's public origin. */
  domain: string;
  now: () => Date;
}

/**
 * End users' DIDs: linked by DID Auth (any DID the platform resolves, its control proven by a presentation
 * answering a single-use challenge) or created for them as a did:key whose Ed25519 key the KeyStore holds
 * (custodial), which then signs presentations for them. A DID belongs to at most one user of a project.
 */
export class UserDids {
  private readonly repo: WalletRepo;

  constructor(private readonly options: UserDidsOptions) {
    this.repo = options.repo;
  }

  get domain(): string {
    return this.options.domain;
  }

  async challenge(user: EndUser): Promise<{ challenge: string; domain: string; expiresAt: string }> {
    const now = this.options.now();
    if (
      (await this.repo.countChallenges(user.projectId, user.userId, now.toISOString())) >= MAX_LIVE_CHALLENGES
    ) {
      throw new Problem(
        'rate-limited',
        'Too many open DID Auth challenges: answer one or wait for them to expire.',
      );
    }
    const challenge = toBase64Url(randomBytes(32));
    const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString();
    await this.repo.insertChallenge({
      challenge_hash: hashToken(challenge),
      project_id: user.projectId,
      user_id: user.userId,
      expires_at: expiresAt,
    });
    return { challenge, domain: this.options.domain, expiresAt };
  }

  /**
   * Links the presentation's holder DID once the presentation verifies against the user's challenge (which
   * is spent whether or not it does) and the platform's domain, signed by a key the DID lists under
   * `authentication`.
   */
  async linkProven(user: EndUser, presentation: object): Promise<LinkedDid> {
    const { holder, challenge } = didAuthClaims(presentation as JsonObject);
    const now = this.options.now().toISOString();
    if (!(await this.repo.consumeChallenge(user.projectId, user.userId, hashToken(challenge), now))) {
      throw new Problem('forbidden', 'The challenge is unknown, used or expired: ask for a new one.', {
        extensions: { code: 'invalid_challenge' },
      });
    }
    const outcome = await this.options.credentials.checkPresentation(presentation, {
      challenge,
      domain: this.options.domain,
    });
    if (!outcome.verified) {
      const reasons = [...new Set(outcome.errors.map((error) => error.code))].join(', ');
      throw new Problem('not-verified', `The DID Auth presentation did not verify: ${reasons}.`, {
        extensions: { verified: false, checks: outcome.checks, errors: outcome.errors },
      });
    }
    return this.link(user, { did: holder, method: 'did-auth', key_id: null }, user.userId);
  }

  /** Creates an Ed25519 did:key for the user, its key in the KeyStore, and links it. */
  async createCustodial(user: EndUser): Promise<LinkedDid> {
    await this.checkCap(user);
    const key = await this.options.keys.createKey({
      // The KeyStore keeps one active key per purpose: each of the user's DIDs has its own.
      purpose: `user-did:${user.projectId}:${user.userId}:${randomUUID()}`,
      algorithm: 'Ed25519',
    });
    try {
      const did = createDidKey('Ed25519', key.publicKey);
      return await this.link(user, { did, method: 'custodial', key_id: key.id }, user.userId);
    } catch (error) {
      await this.options.keys.retireKey(key.id);
      throw error;
    }
  }

  list(user: EndUser): Promise<LinkedDid[]> {
    return this.repo.listDids(user.projectId, user.userId).then((rows) => rows.map(toLinkedDid));
  }

  /** The admin API's read of a user's DIDs (`users:read`); another project's user answers 404. */
  async listForUser(principal: Principal, projectId: string, userId: string): Promise<LinkedDid[]> {
    await this.options.identity.getUser(principal, projectId, userId);
    return this.list({ projectId, userId });
  }

  /** The user's DIDs as strings, primary (first linked) first. */
  async didsOf(projectId: string, userId: string): Promise<string[]> {
    return (await this.repo.listDids(projectId, userId)).map((row) => row.did);
  }

  /** Unlinks a DID; a custodial DID's key is retired, so nothing can sign as it any more. */
  async unlink(user: EndUser, did: string): Promise<void> {
    const row = await this.repo.getDid(user.projectId, did);
    if (row?.user_id !== user.userId) throw new Problem('not-found', 'No such DID linked to this account.');
    await this.repo.transaction(async (repo) => {
      if (!(await repo.deleteDid(user.projectId, user.userId, did))) {
        throw new Problem('not-found', 'No such DID linked to this account.');
      }
      await this.options.audit.record(repo.db, this.event('user.did_unlinked', user, row));
    });
    this.options.audit.committed();
    if (row.key_id !== null) await this.options.keys.retireKey(row.key_id);
  }

  /** Signs a presentation as one of the user's custodial DIDs (proofPurpose `authentication`). */
  async signPresentation(
    user: EndUser,
    presentation: object,
    options: UserPresentationOptions,
  ): Promise<JsonObject> {
    if (options.cryptosuite !== undefined && options.format !== undefined) {
      throw new Problem('validation-error', 'options.format cannot be combined with options.cryptosuite.', {
        errors: [
          { in: 'body', pointer: '#/options/format', detail: 'cannot be combined with options.cryptosuite' },
        ],
      });
    }
    const custodial = (await this.repo.listDids(user.projectId, user.userId)).filter(
      (row) => row.key_id !== null && (options.holder === undefined || row.did === options.holder),
    );
    const [row] = custodial;
    if (row === undefined) {
      throw new Problem('not-found', 'No custodial DID of this account to sign with: create one first.');
    }
    const key = {
      algorithm: 'Ed25519' as const,
      keyId: row.key_id as string,
      verificationMethod: `${row.did}#${row.did.slice('did:key:'.length)}`,
    };
    const suite =
      options.format === undefined ? (options.cryptosuite ?? 'eddsa-rdfc-2022') : formatSuite(options.format);
    const held = withHolder(presentation as JsonObject, row.did);
    let signed: JsonObject;
    try {
      signed = await signHeldPresentation(
        this.options.keys,
        this.options.documentLoader,
        held,
        { suite, key },
        options,
      );
    } catch (error) {
      throw rejected(error, 'validation-error', '#/presentation');
    }
    // The user's key signed: recorded with what was signed for, never the contents.
    await this.options.audit.recordAlone({
      type: 'presentation.signed',
      orgId: null,
      projectId: user.projectId,
      actor: user.userId,
      subject: row.did,
      details: { suite, ...(options.domain === undefined ? {} : { domain: options.domain }) },
    });
    return signed;
  }

  async purgeExpired(): Promise<void> {
    await this.repo.purgeExpiredChallenges(this.options.now().toISOString());
  }

  private async checkCap(user: EndUser): Promise<void> {
    if ((await this.repo.listDids(user.projectId, user.userId)).length >= MAX_DIDS_PER_USER)
      throw tooManyDids();
  }

  private async link(
    user: EndUser,
    link: Pick<UserDidsTable, 'did' | 'method' | 'key_id'>,
    actor: string,
  ): Promise<LinkedDid> {
    const row: UserDidsTable = {
      id: `udid_${uuidv7().replace(/-/g, '')}`,
      project_id: user.projectId,
      user_id: user.userId,
      created_at: this.options.now().toISOString(),
      ...link,
    };
    await this.repo.transaction(async (repo) => {
      const existing = await repo.getDid(user.projectId, link.did);
      if (existing) {
        // Whose it is stays unsaid: a DID is public, its owner in this project is not.
        throw new Problem('conflict', 'This DID is already linked to an account of the project.', {
          extensions: { code: 'did_taken' },
        });
      }
      if ((await repo.listDids(user.projectId, user.userId)).length >= MAX_DIDS_PER_USER) throw tooManyDids();
      await repo.insertDid(row);
      await this.options.audit.record(repo.db, { ...this.event('user.did_linked', user, row), actor });
    });
    this.options.audit.committed();
    return toLinkedDid(row);
  }

  private event(type: AuditEvent['type'], user: EndUser, row: UserDidsTable): AuditEvent {
    return {
      type,
      orgId: null,
      projectId: user.projectId,
      actor: user.userId,
      subject: user.userId,
      details: { did: row.did, method: row.method },
    };
  }
}

function tooManyDids(): Problem {
  return new Problem('conflict', `An account links at most ${MAX_DIDS_PER_USER} DIDs: unlink one first.`, {
    extensions: { code: 'too_many_dids' },
  });
}

function toLinkedDid(row: UserDidsTable): LinkedDid {
  return { did: row.did, custody: row.key_id === null ? 'self' : 'platform', linkedAt: row.created_at };
}
