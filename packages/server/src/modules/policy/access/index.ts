export { AccessPolicy, type AccessPolicyOptions } from './access-policy.js';
export { AccessDecisionSchema, AccessRequestInput, SimulateBody } from './schemas.js';
export { authenticationStrength } from './score.js';
export {
  DEFAULT_TRUST_TEMPLATE,
  type ParseTemplateOptions,
  parseTrustTemplate,
  type TrustTemplate,
  TrustTemplateInputSchema,
  TrustTemplateSchema,
  templateHash,
} from './template.js';
export type {
  AccessDecision,
  AccessRequest,
  Contribution,
  DecisionRuleKind,
  EvaluatorName,
  MemberRole,
  VaultAction,
  Vote,
} from './types.js';
export { EVALUATORS, MEMBER_ROLES, VAULT_ACTIONS } from './types.js';
