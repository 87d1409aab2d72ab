import { isIP } from 'node:net';
import { type Location, locate } from '../../../http/geo.js';
import { invalidField } from '../../../http/problem.js';
import type { TenancyService } from '../../tenancy/service.js';
import type { Principal } from '../model.js';
import type { AccessPolicy } from './access-policy.js';
import type { AccessRequestInput, SimulateBody } from './schemas.js';
import { DEFAULT_TRUST_TEMPLATE, parseTrustTemplate, type TrustTemplate } from './template.js';
import type { AccessDecision, AccessRequest } from './types.js';

/** A vault's trust template, for a caller who may read the vault; 404 problem when it is not theirs. */
export type VaultTemplateLookup = (
  principal: Principal,
  projectId: string,
  vaultId: string,
) => Promise<TrustTemplate>;

export interface SimulatorOptions {
  accessPolicy: AccessPolicy;
  tenancy: TenancyService;
  vaultTemplate: VaultTemplateLookup;
  locate?: (ip: string) => Promise<Location | null>;
  now?: () => Date;
}

/** Dry runs of the vault access decision, for tuning templates: nothing is logged, nothing changes. */
export class AccessSimulator {
  private readonly locate: (ip: string) => Promise<Location | null>;
  private readonly now: () => Date;

  constructor(private readonly options: SimulatorOptions) {
    this.locate = options.locate ?? locate;
    this.now = options.now ?? (() => new Date());
  }

  async simulate(principal: Principal, projectId: string, body: SimulateBody): Promise<AccessDecision> {
    await this.options.tenancy.authorizeProject(principal, projectId, 'policy:simulate');
    if (body.vaultId !== undefined && body.template !== undefined) {
      throw invalidField(
        'The simulation',
        '#/template',
        'may not be given with vaultId (the vault\u2019s applies)',
      );
    }
    const template =
      body.vaultId !== undefined
        ? await this.options.vaultTemplate(principal, projectId, body.vaultId)
        : body.template !== undefined
          ? parseTrustTemplate(body.template, 'json', { pointer: '#/template' })
          : DEFAULT_TRUST_TEMPLATE;
    return this.options.accessPolicy.decide(template, await this.accessRequest(body.request));
  }

  /** The JSON form with its defaults filled in and its address turned into a country. */
  private async accessRequest(input: AccessRequestInput): Promise<AccessRequest> {
    if (input.ip !== undefined && input.country !== undefined) {
      throw invalidField('The simulation', '#/request/country', 'may not be given with ip');
    }
    if (input.ip !== undefined && isIP(input.ip) === 0) {
      throw invalidField('The simulation', '#/request/ip', 'is not an IP address');
    }
    const registered = input.device?.registered ?? false;
    const fingerprintPresent = input.device?.fingerprintPresent ?? registered;
    if (registered && !fingerprintPresent) {
      throw invalidField(
        'The simulation',
        '#/request/device/fingerprintPresent',
        'must be true for a registered device (it is recognized by its fingerprint)',
      );
    }
    const country =
      input.ip !== undefined ? ((await this.locate(input.ip))?.country ?? null) : (input.country ?? null);
    return {
      action: input.action,
      role: input.role ?? 'owner',
      at: input.at !== undefined ? new Date(input.at) : this.now(),
      device: { registered, fingerprintPresent },
      network: { country },
      authentication: {
        methods: input.authentication?.methods ?? [],
        ageSeconds: input.authentication?.ageSeconds ?? 0,
      },
      recent: {
        lastMinute: input.recent?.lastMinute ?? 0,
        lastHour: input.recent?.lastHour ?? 0,
        deniedLastHour: input.recent?.deniedLastHour ?? 0,
      },
      proofs: { verified: input.proofs?.verified ?? 0, unverified: input.proofs?.unverified ?? 0 },
      guardiansAvailable: input.guardiansAvailable ?? false,
    };
  }
}
