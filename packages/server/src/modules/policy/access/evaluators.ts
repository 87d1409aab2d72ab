import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { BoundedCache } from '@personachain/crypto';
import { EVALUATORS, type EvaluatorName, type VaultAction, type Vote } from './types.js';

/**
 * The four evaluators, each a Cedar policy set (policies/access/<name>.cedar) over one schema
 * (access.cedarschema), validated on its own. An evaluator's vote is its set's Cedar decision for the vault
 * action: a forbid that fires is a deny vote, a permit that fires (with no forbid) an allow vote, nothing
 * firing an abstention. The reasons are the @reason annotations of the policies that decided, with
 * {context.path} placeholders filled in from the context.
 *
 * A call into the wasm module costs ~20 µs before any policy runs, ~2 µs per context field converted
 * and ~3–4 µs per policy evaluated, so the four sets are asked in one call: at load every policy of every
 * set joins one combined set as a permit (its effect and evaluator remembered), Cedar names every policy
 * whose condition holds, and the per-set rule (forbid overrides permit, nothing is no decision) is
 * applied here.
 *
 * Half the context is the template's thresholds (TEMPLATE_FIELDS), the same for every request under a
 * template. They are written into the policies as literals, one pre-parsed set per distinct settings,
 * so only what the request brings crosses into wasm on each call; and policies whose conditions are then
 * identical are evaluated once. test/policy-access.test.ts checks that this gives each set's own Cedar
 * decision on the full context, over many settings.
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
  /** Its @id in the evaluator's file. */
  id: string;
}

/** The context fields a template fixes: written into the policies instead of sent with each call. */
const TEMPLATE_FIELDS = ['strict', 'permissive', 'neutral', 'watchdog'] as const;
type TemplateSettings = Pick<EvaluatorContext, (typeof TEMPLATE_FIELDS)[number]>;

export interface EvaluatorsOptions {
  /**
   * Distinct settings kept pre-parsed with their values written in, least recently used replaced first
   * (default 256; a set of these policies takes ~60 KB in the wasm module and 2–3 ms to pre-parse).
   */
  settingsSets?: number;
  /**
   * Decisions under the same settings before they get a set of their own (default 4). Until then the
   * set that reads the settings from the context answers, at the full conversion cost, so settings used
   * once or twice (a simulation's template) never cost a pre-parse or push a vault's set out.
   */
  promoteAfter?: number;
}

/** Pre-parsed set ids are global to the wasm module: each Evaluators names its own. */
let instances = 0;

/** A combined set as pre-parsed in the wasm module. */
interface PreparsedSet {
  id: string;
  /** The evaluators' policies by the id of the condition they share in this set. */
  byCondition: Map<string, CombinedPolicy[]>;
}

export class Evaluators {
  /** The set that reads the settings from the context: answers for any settings. */
  private readonly general: PreparsedSet;
  /** Sets with settings written in, by the settings' JSON, least recently used first. */
  private readonly sets = new Map<string, PreparsedSet>();
  /** Decisions so far under settings without a set of their own (oldest forgotten first). */
  private readonly uses: BoundedCache<string, number>;
  private readonly setIdPrefix = `vault-access-evaluators-${++instances}`;
  /** Ids of evicted sets (or of a pre-parse that failed), handed out before fresh ones. */
  private readonly freeIds: string[] = [];
  private idsIssued = 0;
  private readonly settingsSets: number;
  private readonly promoteAfter: number;

  private constructor(
    private readonly combined: Record<string, cedar.PolicyJson>,
    private readonly policies: Map<string, CombinedPolicy>,
    options: EvaluatorsOptions,
  ) {
    this.settingsSets = options.settingsSets ?? 256;
    this.promoteAfter = options.promoteAfter ?? 4;
    if (!(this.settingsSets >= 1 && this.promoteAfter >= 1)) {
      throw new Error('Evaluators: settingsSets and promoteAfter are at least 1');
    }
    this.uses = new BoundedCache(this.settingsSets * 4);
    this.general = this.preparse(`${this.setIdPrefix}/context`, null);
  }

  /**
   * Reads, validates (strict mode) and pre-parses every evaluator's policies; throws, failing the start,
   * on a parse or type error, a policy without @id or @reason, a duplicate id, a permit in the watchdog
   * (it may only veto), a reason placeholder the context does not have, or a policy that reads a
   * template field other than as `context.<field>.<setting>`.
   */
  static load(sampleContext: EvaluatorContext, options: EvaluatorsOptions = {}): Evaluators {
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
        combinedInfo.set(`${name}/${id}`, { ...info, evaluator: name, id });
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
    // Fails the start here, not at a first request, if a policy uses the settings in a way that cannot be
    // written in as literals.
    policiesWith(combined, combinedInfo, settingsOf(sampleContext));
    return new Evaluators(combined, combinedInfo, options);
  }

  /** The four votes, in the order of EVALUATORS. */
  votes(context: EvaluatorContext): Vote[] {
    const { strict, permissive, neutral, watchdog, ...request } = context;
    const own = this.setFor({ strict, permissive, neutral, watchdog });
    const set = own ?? this.general;
    const answer = cedar.statefulIsAuthorized({
      principal: PRINCIPAL,
      action: { type: `${NS}::Action`, id: context.action },
      resource: RESOURCE,
      context: (own ? request : context) as unknown as Record<string, cedar.CedarValueJson>,
      entities: [],
      preparsedPolicySetId: set.id,
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
      const errors = diagnostics.errors.map(({ policyId, error }) => ({
        policies: (set.byCondition.get(policyId) ?? []).map((p) => `${p.evaluator}/${p.id}`),
        error,
      }));
      throw new Error(`Cedar policy error: ${JSON.stringify(errors)}`);
    }
    const fired = diagnostics.reason
      .flatMap((id) => set.byCondition.get(id) as CombinedPolicy[])
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

  /**
   * The set with these settings written in, pre-parsed once they have been used `promoteAfter` times;
   * undefined before.
   */
  private setFor(settings: TemplateSettings): PreparsedSet | undefined {
    const key = JSON.stringify(settings);
    const known = this.sets.get(key);
    if (known !== undefined) {
      this.sets.delete(key);
      this.sets.set(key, known);
      return known;
    }
    const uses = (this.uses.get(key) ?? 0) + 1;
    if (uses < this.promoteAfter) {
      this.uses.set(key, uses);
      return undefined;
    }
    this.uses.delete(key);
    if (this.sets.size >= this.settingsSets) {
      const [oldest, evicted] = this.sets.entries().next().value as [string, PreparsedSet];
      this.sets.delete(oldest);
      this.freeIds.push(evicted.id); // pre-parsing under an existing id replaces that set
    }
    const id = this.freeIds.pop() ?? `${this.setIdPrefix}/${this.idsIssued++}`;
    try {
      const set = this.preparse(id, settings);
      this.sets.set(key, set);
      return set;
    } catch (error) {
      this.freeIds.push(id);
      throw error;
    }
  }

  /** Pre-parses the combined policies under `id`, with `settings` written in (null: read from the context). */
  private preparse(id: string, settings: TemplateSettings | null): PreparsedSet {
    const { policies, byCondition } = policiesWith(this.combined, this.policies, settings);
    check('the combined evaluators', cedar.preparsePolicySet(id, { staticPolicies: policies }));
    return { id, byCondition };
  }
}

/**
 * The combined policies with `settings` written in (as they are when null), as a set in which policies
 * whose conditions are then the same (`role-does-not-permit` is in every evaluator; two thresholds may
 * be equal) are one: Cedar evaluates each condition once, and the votes count it for every policy that
 * has it (`byCondition`).
 */
function policiesWith(
  combined: Record<string, cedar.PolicyJson>,
  info: Map<string, CombinedPolicy>,
  settings: TemplateSettings | null,
): Omit<PreparsedSet, 'id'> & { policies: Record<string, cedar.PolicyJson> } {
  const byText = new Map<string, string>();
  const policies: Record<string, cedar.PolicyJson> = {};
  const byCondition = new Map<string, CombinedPolicy[]>();
  for (const [policyId, { principal, action, resource, conditions }] of Object.entries(combined)) {
    const policy: cedar.PolicyJson = {
      effect: 'permit',
      principal,
      action,
      resource,
      conditions: conditions.map((condition) => ({
        ...condition,
        body: (settings ? withSettings(condition.body, settings) : condition.body) as cedar.Expr,
      })),
    };
    const text = JSON.stringify(policy);
    let conditionId = byText.get(text);
    if (conditionId === undefined) {
      conditionId = `condition${byText.size}`;
      byText.set(text, conditionId);
      policies[conditionId] = policy;
      byCondition.set(conditionId, []);
    }
    byCondition.get(conditionId)?.push(info.get(policyId) as CombinedPolicy);
  }
  return { policies, byCondition };
}

function settingsOf(context: EvaluatorContext): TemplateSettings {
  const { strict, permissive, neutral, watchdog } = context;
  return { strict, permissive, neutral, watchdog };
}

/**
 * A policy condition (Cedar's JSON form) with every `context.<field>.<setting>` of a template field
 * replaced by its value. Any other read of a template field (`context.strict` alone, `context has strict`,
 * the whole `context`) would look into a context that no longer holds it, so it throws.
 */
function withSettings(node: unknown, settings: TemplateSettings): unknown {
  if (Array.isArray(node)) return node.map((item) => withSettings(item, settings));
  if (typeof node !== 'object' || node === null) return node;
  const record = node as Record<string, unknown>;
  const access = record['.'] as { left?: Record<string, unknown>; attr: string } | undefined;
  const field = readsTemplateField(access?.left?.['.']);
  if (access && field) {
    const value = (settings[field] as Record<string, unknown>)[access.attr];
    if (value === undefined) throw new Error(`Cedar: context.${field}.${access.attr} is not a setting`);
    return { Value: value };
  }
  const whole = readsTemplateField(access) ?? readsTemplateField(record.has);
  if (whole) {
    throw new Error(`Cedar: a policy reads context.${whole} other than as context.${whole}.<setting>`);
  }
  // `context.<attr>` or `context has <attr>` of a field the request brings: kept as it is.
  if (readsContext(access) || readsContext(record.has)) return node;
  if (record.Var === 'context') throw new Error('Cedar: a policy reads the whole context');
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) copy[key] = withSettings(value, settings);
  return copy;
}

/** Whether an attribute access (`.` or `has`) reads an attribute of `context` itself. */
function readsContext(access: unknown): boolean {
  return (access as { left?: { Var?: string } } | undefined)?.left?.Var === 'context';
}

/** The template field an attribute access (`.` or `has`) names, when it is one of the context's. */
function readsTemplateField(access: unknown): keyof TemplateSettings | undefined {
  const { left, attr } = (access ?? {}) as { left?: { Var?: string }; attr?: string };
  return left?.Var === 'context' ? TEMPLATE_FIELDS.find((field) => field === attr) : undefined;
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
