import type { paths } from '../generated/api.js';
import { PersonaApiError, type Problem } from '../problem.js';

export { VaultFormatError, type VaultIntegrityCode, VaultIntegrityError } from '@personachain/vaults';

type CommitAnswer = NonNullable<
  paths['/v1/projects/{projectId}/vaults/{vaultId}/commits']['post']
>['responses'][200]['content']['application/json'];

/**
 * The server's decision on one access to a vault: the trust score (`score`, 0..100) with every
 * contribution explained, the four evaluators' votes and the rule that combined them. `id` is the
 * access-log entry that records it; `approvalId` names the guardian approval opened for a
 * `guardian_approval_required` outcome.
 */
export type AccessDecision = CommitAnswer['access'];
/** How the decision ended; anything but `allow` refuses the request. */
export type AccessOutcome = AccessDecision['outcome'];
/** One evaluator's vote (strict, permissive, neutral, watchdog), with its reasons. */
export type AccessVote = AccessDecision['votes'][number];

/** The problem types the server refuses a vault access with (`urn:personachain:problem:<kind>`). */
export type VaultDenial = 'access-denied' | 'step-up-required' | 'guardian-approval-required';

const PROBLEM_PREFIX = 'urn:personachain:problem:';
const DENIALS: readonly string[] = ['access-denied', 'step-up-required', 'guardian-approval-required'];

/**
 * The server refused a vault access: `outcome` says what would let it through (`step_up_required`:
 * re-authenticate with MFA and call `stepUp`; `guardian_approval_required`: guardians approve
 * `access.approvalId`), `access` holds the whole decision. A refusal without a decision (a member that is
 * not a recipient of an item version) has `access` undefined and `outcome` 'deny'.
 */
export class VaultAccessError extends PersonaApiError {
  override name = 'VaultAccessError';
  /** The problem type without its URN prefix. */
  readonly denial: VaultDenial;
  readonly access: AccessDecision | undefined;

  constructor(problem: Problem, denial: VaultDenial) {
    super(problem);
    this.denial = denial;
    const access = (problem as { access?: unknown }).access;
    this.access = isDecision(access) ? access : undefined;
  }

  get outcome(): AccessOutcome {
    return this.access?.outcome ?? 'deny';
  }

  get score(): number | undefined {
    return this.access?.score;
  }

  get votes(): AccessVote[] {
    return this.access?.votes ?? [];
  }
}

/** A PersonaApiError for a vault route: a VaultAccessError when it is an access refusal. */
export function vaultApiError(error: PersonaApiError): PersonaApiError {
  const kind = error.type.startsWith(PROBLEM_PREFIX) ? error.type.slice(PROBLEM_PREFIX.length) : '';
  return error.status === 403 && DENIALS.includes(kind)
    ? new VaultAccessError(error.problem, kind as VaultDenial)
    : error;
}

/** Whether `error` is the server's problem of type `kind` (e.g. 'manifest-conflict'). */
export function isProblem(error: unknown, kind: string): error is PersonaApiError {
  return error instanceof PersonaApiError && error.type === `${PROBLEM_PREFIX}${kind}`;
}

function isDecision(value: unknown): value is AccessDecision {
  if (typeof value !== 'object' || value === null) return false;
  const { outcome, score, votes } = value as Record<string, unknown>;
  return typeof outcome === 'string' && typeof score === 'number' && Array.isArray(votes);
}
