import { hash, randomInt } from 'node:crypto';
import {
  buildStatusListCredential,
  buildStatusListEntry,
  createKeyStoreSigner,
  type DocumentLoader,
  issueCredential,
  STATUS_LIST_MIN_LENGTH,
  StatusList,
  type StatusListEntry,
} from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { AuditEvent, AuditService } from '../audit/service.js';
import {
  type IssuerKey,
  type IssuerRecord,
  type IssuersService,
  keyForSuite,
  type StatusPurpose,
  statusListSuite,
} from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import type { StatusRepo } from './repo.js';

/** How long verifiers may reuse a served list (`Cache-Control: max-age`, and `ttl` in the list). */
export const STATUS_LIST_MAX_AGE_SECONDS = 60;
/** Random picks before falling back to choosing among the free indexes of a crowded list. */
const RANDOM_PICKS = 16;

/** An index given to a credential being issued, not yet recorded. */
export interface Allocation {
  purpose: StatusPurpose;
  index: number;
  entry: StatusListEntry;
}

/** A signed status-list credential as served. */
export interface Publication {
  version: number;
  body: string;
  etag: string;
  document: Record<string, unknown>;
}

export interface StatusUpdate {
  credentialId?: string | undefined;
  credentialStatus: {
    type: 'BitstringStatusListEntry';
    statusPurpose: StatusPurpose;
    id?: string | undefined;
    statusListIndex?: string | undefined;
    statusListCredential?: string | undefined;
  };
  status?: boolean | undefined;
}

export interface StatusChange {
  statusPurpose: StatusPurpose;
  statusListCredential: string;
  status: boolean;
  entries: Array<{ statusListIndex: string; changed: boolean }>;
}

/**
 * Bitstring Status Lists of the platform's issuers: one revocation and one suspension list per issuer,
 * made on first need, of 131,072 entries; random indexes that are never given out twice (the table's
 * primary key); status changes, audited; and the signed list credentials, published at
 * `{publicUrl}/status/{issuerId}/{purpose}` and signed again, lazily, after every change.
 */
export class StatusService {
  /** The last publication read or signed per list; reused while its version is the list's. */
  private readonly publications = new Map<string, Publication>();
  /** Status changes made by this process per list, so a publication read before one is not kept after. */
  private readonly changes = new Map<string, number>();

  constructor(
    private readonly repo: StatusRepo,
    private readonly issuers: IssuersService,
    private readonly keys: KeyStore,
    private readonly audit: AuditService,
    private readonly publicUrl: string,
    private readonly documentLoader: DocumentLoader,
    private readonly remote: (url: string) => Promise<unknown>,
    /**
     * This process is the database's only user (embedded SQLite): every status change passes through it,
     * so a cached publication is current until this process changes the list, and is served without
     * reading the list's version (a status-checked verification then costs no query for it).
     */
    private readonly singleProcess: boolean,
    private readonly now: () => Date = () => new Date(),
  ) {}

  listUrl(issuerId: string, purpose: StatusPurpose): string {
    return `${this.publicUrl}/status/${issuerId}/${purpose}`;
  }

  /** A random index not yet given out, per purpose (nothing is written until `recordIssued`). */
  async allocate(issuer: IssuerRecord, purposes: readonly StatusPurpose[]): Promise<Allocation[]> {
    const allocations: Allocation[] = [];
    for (const purpose of purposes) {
      const list = await this.repo.getList(issuer.id, purpose);
      const index = await this.freeIndex(issuer.id, purpose, Number(list?.size ?? STATUS_LIST_MIN_LENGTH));
      const statusListCredential = this.listUrl(issuer.id, purpose);
      allocations.push({
        purpose,
        index,
        entry: buildStatusListEntry({ statusListCredential, statusPurpose: purpose, index }),
      });
    }
    return allocations;
  }

  /**
   * Records the allocated indexes of an issued credential (creating its lists on first need) and its audit
   * entry in one transaction. False (nothing written) when a concurrent issuance took one of the indexes:
   * allocate again and re-sign.
   */
  async recordIssued(
    issuer: IssuerRecord,
    allocations: readonly Allocation[],
    credentialHash: string,
    event: AuditEvent,
  ): Promise<boolean> {
    const issuerId = issuer.id;
    const at = this.now().toISOString();
    const recorded = await this.repo
      .transaction(async (repo) => {
        for (const { purpose } of allocations) {
          await repo.ensureList({
            issuer_id: issuerId,
            purpose,
            project_id: issuer.projectId,
            size: STATUS_LIST_MIN_LENGTH,
            version: 0,
            created_at: at,
          });
        }
        const rows = allocations.map(({ purpose, index }) => ({
          issuer_id: issuerId,
          purpose,
          idx: index,
          credential_hash: credentialHash,
        }));
        if (!(await repo.insertEntries(rows, at))) throw new IndexTaken();
        await this.audit.record(repo.db, event);
        return true;
      })
      .catch((error: unknown) => {
        if (error instanceof IndexTaken) return false;
        throw error;
      });
    if (recorded) this.audit.committed();
    return recorded;
  }

  /** Revokes, suspends or reinstates (suspension only) the entries of a credential or an index. */
  async changeStatus(principal: Principal, issuerId: string, input: StatusUpdate): Promise<StatusChange> {
    const issuer = await this.issuers.authorizeIssuer(principal, issuerId, 'credentials:status');
    const { statusPurpose: purpose, statusListIndex, statusListCredential } = input.credentialStatus;
    const url = this.listUrl(issuer.id, purpose);
    if (statusListCredential !== undefined && statusListCredential !== url) {
      throw invalid(
        '#/credentialStatus/statusListCredential',
        `is not this issuer's ${purpose} list (${url})`,
      );
    }
    if ((input.credentialId === undefined) === (statusListIndex === undefined)) {
      throw invalid('#/credentialId', 'give either credentialId or credentialStatus.statusListIndex');
    }
    const status = input.status ?? true;
    if (!status && purpose === 'revocation') {
      throw invalid('#/status', 'a revocation is final: only a suspension can be reinstated');
    }
    const by =
      statusListIndex === undefined
        ? { credentialHash: sha256(input.credentialId as string) }
        : { idx: Number(statusListIndex) };
    const entries = await this.apply(issuer, purpose, by, status, principal.keyId);
    return { statusPurpose: purpose, statusListCredential: url, status, entries };
  }

  /**
   * For modules that decided a revocation themselves (OpenID4VCI: a reversed verification revokes what
   * was issued for it): revokes the credential with this hash (as `issue` recorded it), audited with
   * `actor`. False when the issuer has no revocation entry for it.
   */
  async revokeAsSystem(issuer: IssuerRecord, credentialHash: string, actor: string): Promise<boolean> {
    try {
      await this.apply(issuer, 'revocation', { credentialHash }, true, actor);
      return true;
    } catch (error) {
      if (error instanceof Problem && error.slug === 'not-found') return false;
      throw error;
    }
  }

  private async apply(
    issuer: IssuerRecord,
    purpose: StatusPurpose,
    by: { credentialHash: string } | { idx: number },
    status: boolean,
    actor: string,
  ): Promise<StatusChange['entries']> {
    const at = this.now().toISOString();
    const entries = await this.repo.transaction(async (repo) => {
      // First, so concurrent changes of one list wait for each other (the list row's lock).
      await repo.bumpVersion(issuer.id, purpose);
      const rows = await repo.findEntries(issuer.id, purpose, by);
      if (rows.length === 0) {
        throw new Problem(
          'not-found',
          `No credential with a ${purpose} entry of issuer ${issuer.id} matches.`,
        );
      }
      const result: StatusChange['entries'] = [];
      for (const row of rows) {
        const changed = (row.status === 1) !== status;
        if (changed) {
          await repo.setStatus(issuer.id, purpose, Number(row.idx), status ? 1 : 0, at);
          await this.audit.record(repo.db, {
            type: 'credential.status_changed',
            // Empty for an issuer looked up without a caller: the audit module finds the project's.
            orgId: issuer.orgId || null,
            projectId: issuer.projectId,
            actor,
            subject: issuer.id,
            // Never the subject's data: the hash that identifies the credential, the purpose, the status.
            details: { credentialHash: row.credential_hash, purpose, status },
          });
        }
        result.push({ statusListIndex: String(row.idx), changed });
      }
      return result;
    });
    const key = `${issuer.id}/${purpose}`;
    this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
    this.publications.delete(key);
    if (entries.some((entry) => entry.changed)) this.audit.committed();
    return entries;
  }

  /**
   * The signed list credential of a live issuer's list, signed again when a status changed since it was
   * last signed; undefined when there is no such list (or its project is gone).
   */
  async publication(issuerId: string, purpose: StatusPurpose): Promise<Publication | undefined> {
    const issuer = await this.issuers.liveIssuer(issuerId);
    if (!issuer) return undefined;
    const key = `${issuerId}/${purpose}`;
    const cached = this.publications.get(key);
    if (cached && this.singleProcess) return cached;
    const changesBefore = this.changes.get(key);
    const row = await this.repo.getList(issuerId, purpose);
    if (!row) return undefined;
    const version = Number(row.version);
    if (cached && cached.version === version) return cached;
    let publication: Publication;
    if (row.published !== null && Number(row.published_version) === version) {
      publication = publicationOf(row.published, version);
    } else {
      // The version is read before the bits: what is signed is at least as new as the version it claims.
      const set = await this.repo.takenIndexes(issuerId, purpose, true);
      const body = await this.sign(issuer, purpose, Number(row.size), set, row.created_at);
      publication = publicationOf(body, version);
      if (!(await this.repo.storePublished(issuerId, purpose, body, version))) {
        const stored = await this.repo.getList(issuerId, purpose);
        if (stored?.published && Number(stored.published_version) === version) {
          publication = publicationOf(stored.published, version);
        }
      }
    }
    if (this.changes.get(key) === changesBefore) this.publications.set(key, publication);
    return publication;
  }

  /** For the status checker: the platform's own lists locally, any other over public HTTPS. */
  readonly loadStatusListCredential = async (url: string): Promise<unknown> => {
    const prefix = `${this.publicUrl}/status/`;
    if (!url.startsWith(prefix)) return this.remote(url);
    const [issuerId, purpose, ...rest] = url.slice(prefix.length).split('/');
    const known = rest.length === 0 && (purpose === 'revocation' || purpose === 'suspension');
    const publication = known ? await this.publication(issuerId as string, purpose) : undefined;
    if (!publication) throw new Error('no such status list on this platform');
    return publication.document;
  };

  private async freeIndex(issuerId: string, purpose: string, size: number): Promise<number> {
    for (let pick = 0; pick < RANDOM_PICKS; pick++) {
      const index = randomInt(size);
      if (!(await this.repo.isTaken(issuerId, purpose, index))) return index;
    }
    const taken = new Set(await this.repo.takenIndexes(issuerId, purpose));
    const free = size - taken.size;
    if (free <= 0) {
      throw new Problem('conflict', `The ${purpose} status list of issuer ${issuerId} is full.`);
    }
    let skip = randomInt(free);
    for (let index = 0; index < size; index++) {
      if (taken.has(index)) continue;
      if (skip === 0) return index;
      skip -= 1;
    }
    throw new Problem('conflict', `The ${purpose} status list of issuer ${issuerId} is full.`);
  }

  /**
   * The list credential, signed with the issuer's first Data Integrity suite. It is valid from the list's
   * creation, not from the signing: a verification that started a moment before a lazy re-signing must not
   * find the list "not yet valid" (the `ttl` tells verifiers how fresh it is).
   */
  private async sign(
    issuer: IssuerRecord,
    purpose: StatusPurpose,
    size: number,
    set: number[],
    createdAt: string,
  ): Promise<string> {
    const suite = statusListSuite(issuer.suites);
    if (suite === undefined)
      throw new Error(`issuer ${issuer.id} has no suite to sign its status lists with`);
    const key = keyForSuite(issuer.keys, suite) as IssuerKey;
    const list = StatusList.create(size);
    for (const index of set) list.set(index, true);
    const credential = await buildStatusListCredential({
      id: this.listUrl(issuer.id, purpose),
      issuer: issuer.did,
      statusPurpose: purpose,
      list,
      validFrom: `${new Date(createdAt).toISOString().slice(0, 19)}Z`,
      ttl: STATUS_LIST_MAX_AGE_SECONDS * 1000,
    });
    const signed = await issueCredential({
      credential,
      suite,
      signer: await createKeyStoreSigner({
        keyStore: this.keys,
        keyId: key.keyId,
        verificationMethod: key.verificationMethod,
      }),
      documentLoader: this.documentLoader,
    });
    return JSON.stringify(signed);
  }
}

class IndexTaken extends Error {}

function publicationOf(body: string, version: number): Publication {
  return {
    version,
    body,
    etag: `"${hash('sha256', body, 'base64url')}"`,
    document: JSON.parse(body) as Record<string, unknown>,
  };
}

function invalid(pointer: string, detail: string): Problem {
  return new Problem('validation-error', `The request is not valid: body ${pointer.slice(1)} ${detail}.`, {
    errors: [{ in: 'body', pointer, detail }],
  });
}

export function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}
