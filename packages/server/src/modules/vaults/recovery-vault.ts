import type { Kysely } from 'kysely';
import { Problem } from '../../http/problem.js';
import type { Database } from '../../store/schema.js';
import type { Action, Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { VaultsRepo } from './repo.js';

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
  private readonly vaults: VaultsRepo;

  constructor(
    db: Kysely<Database>,
    private readonly tenancy: TenancyService,
  ) {
    this.vaults = new VaultsRepo(db);
  }

  async authorize(
    principal: Principal,
    projectId: string,
    vaultId: string,
    scope: Extract<Action, 'vaults:read' | 'vaults:write'>,
  ): Promise<RecoveryVault> {
    const project = await this.tenancy.authorizeProject(principal, projectId, scope);
    const head = await this.vaults.vaultHead(project.id, vaultId);
    if (!head) throw new Problem('not-found', `No vault ${vaultId} in this project.`);
    if (head.status === 'shredded') {
      throw new Problem(
        'vault-shredded',
        `Vault ${vaultId} was shredded; its recovery shares are destroyed.`,
      );
    }
    return { id: head.id, projectId: project.id, orgId: project.orgId, owner: head.owner };
  }
}
