import type { Kysely } from 'kysely';
import type { BlobStore } from '../../store/blob-store.js';
import type { Engine } from '../../store/database.js';
import type { Database } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { LedgerService } from '../ledger/service.js';
import { AccessPolicy } from '../policy/access/index.js';
import type { TenancyService } from '../tenancy/service.js';
import { AccessGate } from './access-gate.js';
import { AccessLog } from './access-log.js';
import { CommitBatcher } from './commit-batcher.js';
import { VaultDevices } from './devices.js';
import { GuardianSlot } from './guardians.js';
import { ItemContents } from './item-contents.js';
import { KeyDirectory } from './key-directory.js';
import { MemberContexts } from './member-context.js';
import { RecentAccesses } from './recent-accesses.js';
import { VaultRecovery } from './recovery-service.js';
import { VaultsRepo } from './repo.js';
import { Scrubber } from './scrubber.js';
import { VaultService } from './service.js';
import { MemberSessions } from './sessions.js';
import { VaultStates } from './state.js';

export interface VaultsModuleDeps {
  db: Kysely<Database>;
  engine: Engine;
  /** The embedded database serves this process alone: vault states and sessions stay in memory. */
  singleProcess: boolean;
  masterKey: Uint8Array;
  /** Where large ciphertexts live; the app owns it (opens and closes it). */
  blobs: BlobStore;
  tenancy: TenancyService;
  audit: AuditService;
  ledger: LedgerService;
  log: { warn(fields: Record<string, unknown>, message: string): void };
  /** The access decision point; loaded here when not given (it validates its Cedar policies once). */
  policy?: AccessPolicy;
  now?: () => Date;
}

/** How often expired sessions, nonces and idle access counters are forgotten. */
const SWEEP_MS = 60_000;

/** Builds the vaults module: its service, the devices service, and a sweeper of expired state. */
export function createVaultsModule(deps: VaultsModuleDeps) {
  const now = deps.now ?? (() => new Date());
  const repo = new VaultsRepo(deps.db);
  const keys = new KeyDirectory(repo);
  const states = new VaultStates(repo, deps.singleProcess);
  const sessions = new MemberSessions(
    repo,
    deps.audit,
    new MemberContexts(deps.masterKey, now),
    async (vaultId, keyId) => {
      const found = await keys.get(vaultId, keyId);
      // Every key a manifest names was stored with the manifest that named it first.
      if (!found) throw new Error(`vault ${vaultId} has no public keys for ${keyId}`);
      return found;
    },
    deps.singleProcess,
    now,
  );
  const log = new AccessLog(deps.db, deps.ledger);
  const recent = new RecentAccesses();
  const guardians = new GuardianSlot();
  const gate = new AccessGate(deps.policy ?? AccessPolicy.load(), log, recent, guardians, now);
  const vaults = new VaultService(
    repo,
    states,
    keys,
    sessions,
    gate,
    log,
    new ItemContents(repo, deps.blobs, deps.log.warn.bind(deps.log)),
    new CommitBatcher(deps.db, deps.singleProcess),
    deps.tenancy,
    deps.audit,
    deps.ledger,
    guardians,
    new Scrubber(deps.db, deps.engine),
    now,
  );
  const devices = new VaultDevices(repo, deps.tenancy, deps.audit, sessions, now);
  // Guardian recovery acts through the vaults service (the owner's session) and plugs its guardian link
  // into it: access approvals, and destroying recovery shares when a vault is shredded.
  const recovery = new VaultRecovery({
    db: deps.db,
    tenancy: deps.tenancy,
    audit: deps.audit,
    vaults,
    states,
    now,
  });
  vaults.useGuardians(recovery);
  const sweep = setInterval(() => {
    recent.sweep(now().getTime());
    void sessions
      .purgeExpired()
      .catch((error) => deps.log.warn({ err: String(error) }, 'vaults: purge failed'));
  }, SWEEP_MS).unref();
  return {
    vaults,
    devices,
    recovery,
    close() {
      clearInterval(sweep);
    },
  };
}
