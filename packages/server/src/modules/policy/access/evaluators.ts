import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { EVALUATORS, type EvaluatorName, type VaultAction, type Vote } from './types.js';

/**
 * The four evaluators, each a Cedar policy set (policies/access/<name>.cedar) over one schema
 * (access.cedarschema), validated on its own. An evaluator's vote is its set's Cedar decision for the vault
 * action: a forbid that fires is a deny vote, a permit that fires (with no forbid) an allow vote, nothing
 * firing an abstention. The reasons are the @reason annotations of the policies that decided, with
 * {context.path} placeholders filled in from the context.
 *
 * A call into the wasm module costs ~100–150 µs before any policy runs (mostly converting the context),
 * so the four sets are asked in one call: at load every policy of every set joins one combined set as a
 * permit (its effect and evaluator remembered), Cedar names every policy whose condition holds, and the
 * per-set rule (forbid overrides permit, nothing is no decision) is applied here.
 * test/policy-access.test.ts checks that this gives each set's own Cedar decision.
 */

const POLICY_DIR = new URL('../../../../policies/access/', import.meta.url);
const NS = 'Access';
const PRINCIPAL = { type: `${NS}::Member`, id: 'member' };
const RESOURCE = { type: `${NS}::Vault`, id: 'vault' };
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9.]*)\}/g;

/** What an evaluator sees: the Cedar context of access.cedarschema. */
export interface EvaluatorContext {
  action: VaultAction;
  role: string;
  score: number;
  minimumScore: number;
  deviceRegistered: boolean;
  fingerprintPresent: boolean;
  country: string;
  businessHours: boolean;
  overMinuteLimit: boolean;
  overHourLimit: boolean;
  deniedLastHour: number;
  mfa: boolean;
  passkey: boolean;
  authenticationStale: boolean;
  strict: { allowAt: number; deviceAndMfaFor: string[] };
  permissive: { allowAt: number };
  neutral: { allowAt: number; denyBelow: number };
  watchdog: {
    velocity: boolean;
    disallowedCountry: boolean;
    maxRecentDenials: number;
    offHoursActions: string[];
  };
}

interface PolicyInfo {
  effect: 'permit' | 'forbid';
  reason: string;
  /** Position in its file: reasons are listed in file order, whatever order Cedar reports them in. */
  order: number;
}

interface CombinedPolicy extends PolicyInfo {
  evaluator: EvaluatorName;
}

const COMBINED_SET_ID = 'vault-access-evaluators';

export class Evaluators {
  private constructor(private readonly policies: Map<string, CombinedPolicy>) {}

  /**
   * Reads, validates (strict mode) and pre-parses every evaluator's policies; throws, failing the start,
   * on a parse or type error, a policy without @id or @reason, a duplicate id, a permit in the watchdog
   * (it may only veto), or a reason placeholder the context does not have.
   */
  static load(sampleContext: EvaluatorContext): Evaluators {
    const schema = readFileSync(new URL('access.cedarschema', POLICY_DIR), 'utf8');
    const schemaParsed = cedar.checkParseSchema(schema);
    if (schemaParsed.type === 'failure')
      throw new Error(`Cedar access.cedarschema: ${messages(schemaParsed.errors)}`);
    const combined: Record<string, cedar.PolicyJson> = {};
    const combinedInfo = new Map<string, CombinedPolicy>();
    for (const name of EVALUATORS) {
      const file = `${name}.cedar`;
      const policies = readPolicies(file);
      const texts: Record<string, string> = {};
      for (const [id, { text, json, info }] of policies) {
        texts[id] = text;
        // Ids are `<evaluator>/<id>`: no @id has a slash, so they cannot collide across sets.
        combined[`${name}/${id}`] = { ...json, effect: 'permit' };
        combinedInfo.set(`${name}/${id}`, { ...info, evaluator: name });
        if (name === 'watchdog' && info.effect === 'permit') {
          throw new Error(`Cedar ${file}: ${id} is a permit; the watchdog may only forbid (veto) or abstain`);
        }
        for (const [, path] of info.reason.matchAll(PLACEHOLDER)) {
          if (lookup(sampleContext, path as string) === undefined) {
            throw new Error(`Cedar ${file}: the @reason of ${id} names {${path}}, which the context lacks`);
          }
        }
      }
      const validation = cedar.validate({
        schema,
        policies: { staticPolicies: texts },
        validationSettings: { mode: 'strict' },
      });
      if (validation.type === 'failure') throw new Error(`Cedar ${file}: ${messages(validation.errors)}`);
      if (validation.validationErrors.length > 0) {
        const errors = validation.validationErrors.map((e) => ({
          message: `${e.policyId}: ${e.error.message}`,
        }));
        throw new Error(`Cedar ${file} does not match access.cedarschema: ${messages(errors)}`);
      }
    }
    check('the combined evaluators', cedar.preparsePolicySet(COMBINED_SET_ID, { staticPolicies: combined }));
    return new Evaluators(combinedInfo);
  }

  /** The four votes, in the order of EVALUATORS. */
  votes(context: EvaluatorContext): Vote[] {
    const answer = cedar.statefulIsAuthorized({
      principal: PRINCIPAL,
      action: { type: `${NS}::Action`, id: context.action },
      resource: RESOURCE,
      context: context as unknown as Record<string, cedar.CedarValueJson>,
      entities: [],
      preparsedPolicySetId: COMBINED_SET_ID,
      // Checking the context against the schema on every call would cost more than the evaluation itself
      // (~130 µs); the policies were validated against it at load, the context comes from one typed
      // function (tests check it against the schema), and a mistyped or missing attribute still surfaces
      // below as a policy error.
      validateRequest: false,
    });
    if (answer.type === 'failure') throw new Error(`Cedar: ${messages(answer.errors)}`);
    const { diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) {
      // Cedar skips a policy that errors; that is a bug in our policies, not a vote.
      throw new Error(`Cedar policy error: ${JSON.stringify(diagnostics.errors)}`);
    }
    const fired = diagnostics.reason
      .map((id) => this.policies.get(id) as CombinedPolicy)
      .sort((a, b) => a.order - b.order);
    return EVALUATORS.map((evaluator) => {
      const own = fired.filter((policy) => policy.evaluator === evaluator);
      const forbids = own.filter((policy) => policy.effect === 'forbid');
      // Cedar's rule within one set: a forbid overrides every permit; nothing that fires is no decision.
      const [vote, deciding] =
        forbids.length > 0
          ? (['deny', forbids] as const)
          : own.length > 0
            ? (['allow', own] as const)
            : (['abstain', []] as const);
      return { evaluator, vote, reasons: deciding.map((policy) => interpolate(policy.reason, context)) };
    });
  }
}

/** The policies of one file by their @id, each with its text, JSON form, effect and @reason. */
function readPolicies(file: string): Map<string, { text: string; json: cedar.PolicyJson; info: PolicyInfo }> {
  const text = readFileSync(new URL(file, POLICY_DIR), 'utf8');
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new Error(`Cedar ${file}: ${messages(parts.errors)}`);
  const policies = new Map<string, { text: string; json: cedar.PolicyJson; info: PolicyInfo }>();
  for (const policy of parts.policies) {
    const parsed = cedar.policyToJson(policy);
    if (parsed.type === 'failure') throw new Error(`Cedar ${file}: ${messages(parsed.errors)}`);
    const { effect, annotations } = parsed.json;
    const id = annotations?.id;
    const reason = annotations?.reason;
    if (!id || !reason) throw new Error(`Cedar ${file}: every policy needs @id and @reason:\n${policy}`);
    if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`Cedar ${file}: the id ${id} is not lowercase-with-dashes`);
    if (policies.has(id)) throw new Error(`Cedar ${file}: two policies have the id ${id}`);
    policies.set(id, {
      text: policy as string,
      json: parsed.json,
      info: { effect, reason, order: policies.size },
    });
  }
  if (policies.size === 0) throw new Error(`Cedar ${file} has no policies`);
  return policies;
}

function lookup(context: EvaluatorContext, path: string): unknown {
  let value: unknown = context;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function interpolate(reason: string, context: EvaluatorContext): string {
  return reason.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookup(context, path);
    return Array.isArray(value) ? value.join(', ') : String(value);
  });
}

function check(file: string, answer: cedar.CheckParseAnswer): void {
  if (answer.type === 'failure') throw new Error(`Cedar ${file}: ${messages(answer.errors)}`);
}

function messages(errors: Array<{ message: string }>): string {
  return errors.map((error) => error.message).join('; ');
}
