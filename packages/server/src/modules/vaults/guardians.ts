import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { AccessDecision, VaultAction } from '../policy/access/index.js';

/**
 * What the vaults module needs from guardian recovery (recovery-*.ts, approvals-*.ts): whether guardians
 * exist to approve a denied access, the approvals themselves, and destroying recovery shares when a vault
 * is shredded. The recovery side plugs itself in with VaultService.useGuardians; until then no vault has
 * guardians.
 */
export interface GuardianLink {
  /** The vault has a recovery setup, so its guardians can approve an access the policy denied. */
  guardiansAvailable(projectId: string, vaultId: string): Promise<boolean>;
  /**
   * Opens a guardian access approval for an access decided `guardian_approval_required`; returns its
   * `vap_…` id, which the member sends back as `Persona-Vault-Approval` once guardians approved.
   */
  openAccessApproval(input: {
    projectId: string;
    vaultId: string;
    subject: string;
    action: VaultAction;
    decision: AccessDecision;
  }): Promise<string>;
  /** Whether the threshold of guardians approved `approvalId` for this subject and action, still in time. */
  accessApproved(input: {
    projectId: string;
    vaultId: string;
    approvalId: string;
    subject: string;
    action: VaultAction;
  }): Promise<boolean>;
  /** Inside the shredding transaction (`trx`): destroys the vault's recovery shares and requests. */
  shred(trx: Kysely<Database>, vaultId: string): Promise<void>;
}

/** Before recovery is plugged in: no guardians, no approvals, nothing to destroy. */
export const NO_GUARDIANS: GuardianLink = {
  guardiansAvailable: async () => false,
  openAccessApproval: async () => {
    throw new Error('guardian approvals need the recovery module');
  },
  accessApproved: async () => false,
  shred: async () => {},
};

/**
 * Where the vaults module finds its guardian link: recovery is built after the vaults module (it acts
 * through the vaults service) and plugs its link in afterwards.
 */
export class GuardianSlot {
  link: GuardianLink = NO_GUARDIANS;
}
