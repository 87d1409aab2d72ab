import type { AuditService } from '../audit/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { IssuerKey, IssuerKeys, KeyState } from './signing-keys.js';

export interface IssuerKeysView {
  issuer: string;
  keys: {
    kid: string;
    alg: string;
    state: KeyState;
    /** state === 'active': the key signs now. */
    active: boolean;
    publishedAt: string;
    activatesAt: string;
    retiredAt: string | null;
  }[];
}

/** The admin side of a project's issuer keys: listing and audited rotation. */
export class OidcKeyService {
  constructor(
    private readonly issuerKeys: IssuerKeys,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly issuerOf: (projectId: string) => string,
    private readonly onRotate: (projectId: string) => void,
  ) {}

  async list(principal: Principal, projectId: string): Promise<IssuerKeysView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'oidc_clients:read');
    return this.view(project.id, await this.issuerKeys.list(project.id));
  }

  /**
   * New keys for every algorithm. Staged (the default): published at once, signing after the publication
   * delay; the keys they replace retire then and stay in the JWKS (and keep verifying) until every token
   * they signed has expired. Immediate (after a key compromise): the new keys sign at once and the old
   * ones are revoked: out of the JWKS, and the tokens they signed stop working at once (see IssuerKeys).
   */
  async rotate(principal: Principal, projectId: string, immediate: boolean): Promise<IssuerKeysView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'oidc_keys:write');
    const { rotated, revokedKids } = await this.issuerKeys.rotate(project.id, { immediate });
    this.onRotate(project.id);
    await this.audit.recordAlone({
      type: 'oidc_keys.rotated',
      orgId: project.orgId,
      projectId: project.id,
      actor: principal.keyId,
      subject: project.id,
      details: {
        kids: rotated.map((key) => key.kid),
        immediate,
        activatesAt: rotated[0]?.activatesAt ?? null,
        revokedKids,
      },
    });
    return this.view(project.id, await this.issuerKeys.list(project.id));
  }

  private view(projectId: string, keys: IssuerKey[]): IssuerKeysView {
    return {
      issuer: this.issuerOf(projectId),
      keys: keys.map(({ kid, alg, state, publishedAt, activatesAt, retiredAt }) => ({
        kid,
        alg,
        state,
        active: state === 'active',
        publishedAt,
        activatesAt,
        retiredAt,
      })),
    };
  }
}
