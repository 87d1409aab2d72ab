import { Problem } from '../../http/problem.js';
import type { Action, Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { VaultStates } from './state.js';

/** What recovery and approvals need to know of a vault. */
export interface RecoveryVault {
  id: string;
  projectId: string;
  orgId: string;
  owner: string;
}

/**
 * Authorizes the API key for the project and finds the vault in it: another project's vault is 404 like
 * a missing one, and a shredded vault (its recovery shares destroyed) answers 410.
 */
export class RecoveryVaults {
  constructor(
    private readonly states: VaultStates,
    private readonly tenancy: TenancyService,
  ) {}

  async authorize(
    principal: Principal,
    projectId: string,
    vaultId: string,
    scope: Extract<Action, 'vaults:read' | 'vaults:write'>,
  ): Promise<RecoveryVault> {
    const project = await this.tenancy.authorizeProject(principal, projectId, scope);
    const vault = await this.states.get(project.id, vaultId);
    if (vault.status === 'shredded') {
      throw new Problem(
        'vault-shredded',
        `Vault ${vaultId} was shredded; its recovery shares are destroyed.`,
      );
    }
    return { id: vault.id, projectId: project.id, orgId: project.orgId, owner: vault.owner };
  }
}
