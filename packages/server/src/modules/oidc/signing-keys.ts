import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { exportJwk, type Jwk, type KeyRecord, type KeyStore } from '@personachain/crypto';
import { ExternalSigningKey } from 'oidc-provider';
import { Problem } from '../../http/problem.js';
import type { OidcKeyStatesTable } from '../../store/schema.js';
import type { KeyStateStore } from './key-state-repo.js';
import { LONGEST_SIGNED_TOKEN_TTL_SECONDS } from './token-lifetimes.js';

/**
 * The JWS algorithms an issuer signs with, and the KeyStore algorithm behind each. RS256 is there for
 * relying parties that verify nothing else (the OIDC Core default); tokens use it only when a client asks.
 */
export const SIGNING_ALGORITHMS = { EdDSA: 'Ed25519', ES256: 'P-256', RS256: 'RSA-3072' } as const;
export type JwsAlgorithm = keyof typeof SIGNING_ALGORITHMS;
export const JWS_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const satisfies readonly JwsAlgorithm[];
/** The ID-token algorithm of a client that names none. */
export const DEFAULT_ID_TOKEN_ALG: JwsAlgorithm = 'ES256';

/**
 * How long the keys of a staged rotation are published before they sign. A relying party keeps the JWKS
 * for at most JWKS_MAX_AGE_SECONDS (its Cache-Control), so it has refetched it many times over before it
 * meets a token signed by a new key; a day also covers verifiers that ignore Cache-Control and refresh
 * daily. An immediate rotation (after a key compromise) skips the delay and revokes the keys it replaces.
 */
export const PUBLICATION_DELAY_MS = 24 * 3_600_000;
/** The JWKS `Cache-Control: max-age`: a small fraction of the publication delay, never more. */
export const JWKS_MAX_AGE_SECONDS = 3600;
/** How far a verifier's clock may be behind ours when it checks a token's expiry. */
const VERIFIER_CLOCK_SKEW_SECONDS = 300;
/**
 * How long a retired key stays in the JWKS: as long as the longest-lived token it can have signed (the
 * provider's TTLs), plus verifiers' clock skew, so a staged rotation never breaks a token already issued.
 */
export const RETIRED_KEY_RETENTION_MS =
  (LONGEST_SIGNED_TOKEN_TTL_SECONDS + VERIFIER_CLOCK_SKEW_SECONDS) * 1000;
/**
 * A staged rotation claims its slot before it creates keys; one that has made no key this long after its
 * claim was interrupted (keys take well under a second each), and another staged rotation may take over.
 */
const INTERRUPTED_ROTATION_MS = 5 * 60_000;

/** next: published, not signing yet · active: signs · retired: published for verification only. */
export type KeyState = 'next' | 'active' | 'retired';

const PURPOSE_PREFIX = 'oidc';

export function purposeOf(projectId: string, alg: JwsAlgorithm): string {
  return `${PURPOSE_PREFIX}:${projectId}:${alg}`;
}

/** A published key as the provider and token verifiers see it: public half, algorithm and state. */
export interface IssuerKey {
  kid: string;
  alg: JwsAlgorithm;
  state: KeyState;
  publishedAt: string;
  activatesAt: string;
  retiredAt: string | null;
  publicJwk: Jwk;
  publicKey: KeyObject;
}

export interface IssuerKeySet {
  /** Active keys first, then next, then retired; newest first within each. */
  keys: IssuerKey[];
  /** When the set changes without a rotation (a next key starts signing, a retired key leaves), epoch ms. */
  changesAt: number;
  /** `IssuerKeys.fingerprint` as of this set (its own writes included): no second read to compare later. */
  fingerprint: string;
}

/**
 * A key the provider signs with through the platform KeyStore (oidc-provider's external-signing
 * support): the private key stays wrapped in the store and never enters the provider. Next and retired
 * keys say `key_ops: ["verify"]`, so the provider never selects them to sign and the JWKS tells verifiers so.
 */
class KeyStoreSigningKey extends ExternalSigningKey {
  constructor(
    private readonly keyStore: KeyStore,
    private readonly issuerKey: IssuerKey,
  ) {
    super();
    this.kid = issuerKey.kid;
    this.alg = issuerKey.alg;
  }

  get key_ops(): string[] | undefined {
    return this.issuerKey.state === 'active' ? undefined : ['verify'];
  }

  override keyObject(): KeyObject {
    return this.issuerKey.publicKey;
  }

  override async sign(data: Uint8Array): Promise<Uint8Array> {
    return this.keyStore.sign(this.issuerKey.kid, data);
  }
}

const STATE_ORDER: Record<KeyState, number> = { active: 0, next: 1, retired: 2 };

/**
 * Each project's issuer keys: the keys in the KeyStore under the purpose `oidc:{projectId}:{alg}`, their
 * lifecycle in `oidc_key_states`. Per algorithm, the active key is the one whose activation came last;
 * keys activating later are next; an older key retires when a newer one activates (at that moment, even if
 * nobody looked then) and is retired in the KeyStore too the first time the set is read afterwards. A key
 * revoked by an immediate rotation is neither published nor found from the moment of the revocation.
 */
export class IssuerKeys {
  /** Per project, the end of the key work queued in this process (see `inTurn`). */
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(
    private readonly keyStore: KeyStore,
    private readonly states: KeyStateStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The project's published keys; creates the missing active keys (a new project, a new algorithm). */
  keySet(projectId: string): Promise<IssuerKeySet> {
    return this.inTurn(projectId, () => this.readKeySet(projectId));
  }

  /**
   * Runs the project's key work one at a time in this process. A read repairs keys that have no
   * lifecycle row; during a rotation, its new keys have none for a moment, and a read in between would
   * record them with times of its own guessing (and retire the current keys by them). Other processes'
   * rotations are covered in `lifecycles`.
   */
  private inTurn<T>(projectId: string, work: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(projectId) ?? Promise.resolve()).then(work, work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(projectId, settled);
    void settled.then(() => {
      if (this.turns.get(projectId) === settled) this.turns.delete(projectId);
    });
    return run;
  }

  private async readKeySet(projectId: string): Promise<IssuerKeySet> {
    const now = this.now();
    const rows = new Map((await this.states.list(projectId)).map((row) => [row.kid, row]));
    const keys: IssuerKey[] = [];
    let changesAt = Number.POSITIVE_INFINITY;
    for (const alg of JWS_ALGORITHMS) {
      await this.ensureActive(projectId, alg, rows);
      const records = await this.keyStore.listKeys({ purpose: purposeOf(projectId, alg) });
      const { lifecycles, lookAgainAt } = await this.lifecycles(projectId, alg, records, rows, now);
      changesAt = Math.min(changesAt, lookAgainAt);
      for (const { record, row, state } of lifecycles) {
        if (row.revoked_at !== null) continue;
        const retiredAt = row.retired_at === null ? undefined : Date.parse(row.retired_at);
        const unpublishesAt = retiredAt === undefined ? undefined : retiredAt + RETIRED_KEY_RETENTION_MS;
        if (unpublishesAt !== undefined && unpublishesAt <= now) continue;
        if (state === 'next') changesAt = Math.min(changesAt, Date.parse(row.activates_at));
        if (unpublishesAt !== undefined) changesAt = Math.min(changesAt, unpublishesAt);
        keys.push(toIssuerKey(record, alg, row, state));
      }
    }
    keys.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.kid.localeCompare(a.kid));
    return { keys, changesAt, fingerprint: fingerprintOf(rows.values()) };
  }

  async list(projectId: string): Promise<IssuerKey[]> {
    return (await this.keySet(projectId)).keys;
  }

  /**
   * What changes with every rotation, retirement or revocation of the project's keys (one indexed read):
   * replicas compare it to notice a change made by another one.
   */
  async fingerprint(projectId: string): Promise<string> {
    return fingerprintOf(await this.states.list(projectId));
  }

  /** The key `kid` if it is one of this project's published keys. */
  async find(projectId: string, kid: string): Promise<IssuerKey | undefined> {
    const row = await this.states.find(projectId, kid);
    if (!row || row.revoked_at !== null || !JWS_ALGORITHMS.includes(row.alg as JwsAlgorithm))
      return undefined;
    if (row.retired_at !== null && Date.parse(row.retired_at) + RETIRED_KEY_RETENTION_MS <= this.now()) {
      return undefined;
    }
    const alg = row.alg as JwsAlgorithm;
    const record = await this.keyStore.getKey(kid).catch(() => undefined);
    if (!record || record.purpose !== purposeOf(projectId, alg)) return undefined;
    const state: KeyState =
      row.retired_at !== null ? 'retired' : Date.parse(row.activates_at) > this.now() ? 'next' : 'active';
    return toIssuerKey(record, alg, row, state);
  }

  /**
   * New keys for every algorithm. Staged (the default, for routine rotation): published now, signing after
   * PUBLICATION_DELAY_MS, when the current keys retire (still published, and verifying, for
   * RETIRED_KEY_RETENTION_MS); refused while an earlier staged rotation is pending, atomically, so two
   * concurrent requests cannot both stage keys. Immediate (after a key compromise): the new keys sign at once
   * and every other key of the project is revoked: out of the JWKS and no longer verifying, so the tokens
   * the old keys signed stop working. Returns the new keys and the kids of the revoked ones.
   */
  rotate(
    projectId: string,
    options: { immediate: boolean },
  ): Promise<{ rotated: IssuerKey[]; revokedKids: string[] }> {
    return this.inTurn(projectId, () => this.rotateKeys(projectId, options));
  }

  private async rotateKeys(
    projectId: string,
    options: { immediate: boolean },
  ): Promise<{ rotated: IssuerKey[]; revokedKids: string[] }> {
    const { keys } = await this.readKeySet(projectId);
    const nowMs = this.now();
    const now = new Date(nowMs).toISOString();
    const activatesAt = options.immediate ? now : new Date(nowMs + PUBLICATION_DELAY_MS).toISOString();
    if (!options.immediate) {
      const claimed =
        !keys.some((key) => key.state === 'next') &&
        (await this.states.claimStagedRotation(projectId, {
          pendingUntil: activatesAt,
          now,
          interruptedBefore: new Date(nowMs - INTERRUPTED_ROTATION_MS).toISOString(),
        }));
      if (!claimed) {
        throw new Problem(
          'conflict',
          'A staged rotation is already pending: wait until its keys sign, or rotate with "immediate": true.',
        );
      }
    }
    const rotated: IssuerKey[] = [];
    for (const alg of JWS_ALGORITHMS) {
      const record = await this.keyStore.rotateKey(purposeOf(projectId, alg), SIGNING_ALGORITHMS[alg], {
        keepCurrent: true,
      });
      const row: OidcKeyStatesTable = {
        kid: record.id,
        project_id: projectId,
        alg,
        published_at: now,
        activates_at: activatesAt,
        retired_at: null,
        revoked_at: null,
      };
      await this.states.insert(row);
      rotated.push(toIssuerKey(record, alg, row, options.immediate ? 'active' : 'next'));
    }
    const revokedKids: string[] = [];
    if (options.immediate) {
      for (const key of keys) {
        revokedKids.push(key.kid);
        await this.states.revoke(projectId, key.kid, now);
        if (key.state !== 'retired') await this.keyStore.retireKey(key.kid);
      }
      // The keys of a pending staged rotation are revoked too: a new staged rotation may start at once.
      await this.states.endPendingRotation(projectId, now);
    }
    return { rotated, revokedKids };
  }

  /** The keys as the provider's `jwks` configuration: external signers backed by the KeyStore. */
  signers(keys: IssuerKey[]): ExternalSigningKey[] {
    return keys.map((key) => new KeyStoreSigningKey(this.keyStore, key));
  }

  /**
   * Each key of one algorithm with its lifecycle row (recorded now for keys that predate the table) and
   * its state at `now`; keys superseded by a newer active key are retired as of that key's activation.
   */
  private async lifecycles(
    projectId: string,
    alg: JwsAlgorithm,
    records: KeyRecord[],
    rows: Map<string, OidcKeyStatesTable>,
    now: number,
  ): Promise<{
    lifecycles: { record: KeyRecord; row: OidcKeyStatesTable; state: KeyState }[];
    /** When a key left out of this read (a rotation perhaps under way elsewhere) is to be looked at again. */
    lookAgainAt: number;
  }> {
    const withRows: { record: KeyRecord; row: OidcKeyStatesTable }[] = [];
    let olderActive = false;
    let lookAgainAt = Number.POSITIVE_INFINITY;
    for (const record of records) {
      let row = rows.get(record.id);
      if (!row) {
        // A key from before key states, or one whose rotation stopped before its state was written: the
        // latter (an active key after another active one) is treated as staged, never as signing early.
        const staged = record.status === 'active' && olderActive;
        // A young one may be another process's rotation still under way, which writes the row itself:
        // left out of this read. (Both times are the key store's wall clock, not the injectable `now`.)
        const leftFor = Date.parse(record.createdAt) + INTERRUPTED_ROTATION_MS - Date.now();
        if (staged && leftFor > 0) {
          // The set changes when its row comes or, at the latest, when the key is repaired.
          lookAgainAt = Math.min(lookAgainAt, now + leftFor);
          continue;
        }
        row = {
          kid: record.id,
          project_id: projectId,
          alg,
          published_at: record.createdAt,
          activates_at: staged
            ? new Date(Date.parse(record.createdAt) + PUBLICATION_DELAY_MS).toISOString()
            : record.createdAt,
          retired_at: record.retiredAt,
          revoked_at: null,
        };
        await this.states.insert(row);
        rows.set(record.id, row);
      }
      if (record.status === 'active') olderActive = true;
      withRows.push({ record, row });
    }
    const live = withRows.filter(({ row }) => row.retired_at === null);
    const activated = live.filter(({ row }) => Date.parse(row.activates_at) <= now);
    const byActivation = (a: { row: OidcKeyStatesTable }, b: { row: OidcKeyStatesTable }) =>
      a.row.activates_at.localeCompare(b.row.activates_at) || a.row.kid.localeCompare(b.row.kid);
    // The signer: the last to activate; should none have activated (a clock set back), the first to come.
    const signer = activated.sort(byActivation).at(-1) ?? live.sort(byActivation)[0];
    for (const entry of withRows) {
      // A retirement recorded here whose KeyStore half did not happen (a crash in between) is finished.
      if (entry.row.retired_at !== null && entry.record.status === 'active') {
        await this.keyStore.retireKey(entry.record.id);
      }
    }
    for (const entry of live) {
      if (!signer || entry === signer || byActivation(entry, signer) > 0) continue;
      entry.row = { ...entry.row, retired_at: signer.row.activates_at };
      rows.set(entry.row.kid, entry.row);
      await this.states.retire(projectId, entry.row.kid, signer.row.activates_at);
      if (entry.record.status === 'active') await this.keyStore.retireKey(entry.record.id);
    }
    const lifecycles = withRows.map(({ record, row }) => ({
      record,
      row,
      state: (row.retired_at !== null ? 'retired' : row === signer?.row ? 'active' : 'next') as KeyState,
    }));
    return { lifecycles, lookAgainAt };
  }

  private async ensureActive(
    projectId: string,
    alg: JwsAlgorithm,
    rows: Map<string, OidcKeyStatesTable>,
  ): Promise<void> {
    const purpose = purposeOf(projectId, alg);
    if (await this.keyStore.activeKey(purpose)) return;
    // Another replica may create it at the same moment: the store then refuses the second key.
    const created = await this.keyStore
      .createKey({ purpose, algorithm: SIGNING_ALGORITHMS[alg] })
      .catch(async (error) => {
        if (!(await this.keyStore.activeKey(purpose))) throw error;
        return undefined;
      });
    if (!created) return;
    const at = new Date(this.now()).toISOString();
    const row = {
      kid: created.id,
      project_id: projectId,
      alg,
      published_at: at,
      activates_at: at,
      retired_at: null,
      revoked_at: null,
    };
    await this.states.insert(row);
    rows.set(created.id, row);
  }
}

/** Every lifecycle row's kid and times, in kid order (whatever order the rows come in). */
function fingerprintOf(rows: Iterable<OidcKeyStatesTable>): string {
  return [...rows]
    .map((row) => `${row.kid}:${row.activates_at}:${row.retired_at ?? ''}:${row.revoked_at ?? ''}`)
    .sort()
    .join(',');
}

function toIssuerKey(
  record: KeyRecord,
  alg: JwsAlgorithm,
  row: OidcKeyStatesTable,
  state: KeyState,
): IssuerKey {
  const publicJwk: Jwk = {
    ...exportJwk(record.algorithm, record.publicKey),
    kid: record.id,
    alg,
    use: 'sig',
  };
  return {
    kid: record.id,
    alg,
    state,
    publishedAt: row.published_at,
    activatesAt: row.activates_at,
    retiredAt: row.retired_at,
    publicJwk,
    publicKey: createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }),
  };
}
