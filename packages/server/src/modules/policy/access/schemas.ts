import { type Static, Type } from 'typebox';
import { TrustTemplateInputSchema } from './template.js';
import { EVALUATORS, MEMBER_ROLES, VAULT_ACTIONS } from './types.js';

/** JSON forms of the access decision types, for routes (the simulator, and vault routes' `access`). */

const Count = (description: string) =>
  Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description }));

/** An AccessRequest as JSON: only the action is required; docs/vault-policy.md lists the defaults. */
export const AccessRequestInput = Type.Object(
  {
    action: Type.Enum(VAULT_ACTIONS, { description: 'The vault action asked for.' }),
    role: Type.Optional(
      Type.Enum(MEMBER_ROLES, { description: 'The member\u2019s role in the vault; default owner.' }),
    ),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'When; default now.' })),
    ip: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'The member\u2019s IP address, turned into a country (never stored). Not with country.',
      }),
    ),
    country: Type.Optional(
      Type.Union([Type.String({ pattern: '^[A-Z]{2}$' }), Type.Null()], {
        description: 'ISO 3166-1 alpha-2 country, or null for unknown; default unknown. Not with ip.',
      }),
    ),
    device: Type.Optional(
      Type.Object(
        {
          registered: Type.Optional(Type.Boolean({ description: 'A registered device; default false.' })),
          fingerprintPresent: Type.Optional(
            Type.Boolean({ description: 'A device fingerprint was sent; default: registered.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    authentication: Type.Optional(
      Type.Object(
        {
          methods: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 32 }), {
              maxItems: 16,
              description: 'RFC 8176 amr values; default none.',
            }),
          ),
          ageSeconds: Count('Seconds since the member authenticated; default 0.'),
        },
        { additionalProperties: false },
      ),
    ),
    recent: Type.Optional(
      Type.Object(
        {
          lastMinute: Count('The member\u2019s accesses to the vault in the last minute; default 0.'),
          lastHour: Count('… in the last hour; default 0.'),
          deniedLastHour: Count('Denied accesses in the last hour; default 0.'),
        },
        { additionalProperties: false },
      ),
    ),
    proofs: Type.Optional(
      Type.Object(
        {
          verified: Count('Verified zero-knowledge context proofs; default 0.'),
          unverified: Count('Unverified ones (they count for nothing); default 0.'),
        },
        { additionalProperties: false },
      ),
    ),
    guardiansAvailable: Type.Optional(
      Type.Boolean({ description: 'The vault has guardians who could approve; default false.' }),
    ),
  },
  { additionalProperties: false },
);
export type AccessRequestInput = Static<typeof AccessRequestInput>;

export const VaultId = Type.String({ pattern: '^vlt_[0-9a-f]{32}$', description: 'Vault id.' });

export const SimulateBody = Type.Object(
  {
    vaultId: Type.Optional(VaultId),
    template: Type.Optional(TrustTemplateInputSchema),
    request: AccessRequestInput,
  },
  {
    additionalProperties: false,
    description:
      'Decide `request` under the trust template of vault `vaultId`, or under `template` (fields left out ' +
      'take the defaults), or under the default template when neither is given.',
  },
);
export type SimulateBody = Static<typeof SimulateBody>;

export const AccessDecisionSchema = Type.Object(
  {
    outcome: Type.Enum(['allow', 'deny', 'step_up_required', 'guardian_approval_required'] as const),
    score: Type.Integer({ minimum: 0, maximum: 100 }),
    contributions: Type.Array(
      Type.Object({ signal: Type.String(), points: Type.Integer(), detail: Type.String() }),
      { description: 'Every signal looked at, with its points: they add up to the score.' },
    ),
    votes: Type.Array(
      Type.Object({
        evaluator: Type.Enum(EVALUATORS),
        vote: Type.Enum(['allow', 'deny', 'abstain'] as const),
        reasons: Type.Array(Type.String()),
      }),
      { description: 'strict, permissive, neutral, watchdog: always in this order.' },
    ),
    rule: Type.Object({
      kind: Type.Enum(['majority', 'unanimous', 'any'] as const),
      watchdogVeto: Type.Boolean(),
      explanation: Type.String(),
    }),
    templateHash: Type.String({
      description: 'b64u SHA-256 of the normalized template\u2019s canonical JSON.',
    }),
  },
  { description: 'A vault access decision: outcome, trust score with its contributions, votes and rule.' },
);
