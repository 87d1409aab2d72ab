/**
 * Which of a project's providers a verification attempt is sent to, and in which order. Pure: the
 * orchestrator then walks the list, falling back from one provider to the next.
 */
import type { ProviderCapabilities, ProviderSettings } from './providers/types.js';
import { CHECK_TYPES, type CheckType, DOCUMENT_TYPES, type DocumentType } from './types.js';

/** One configured provider of a project, as routing and the orchestrator see it. */
export interface ProviderChoice {
  settings: ProviderSettings;
  capabilities: ProviderCapabilities;
  enabled: boolean;
  /** Lower is tried first. */
  priority: number;
  /** What one verification costs with this provider, in cents. */
  costCents: number;
  /** Per call (submit, fetch result). */
  timeoutMs: number;
  /** Retries after a transient error or timeout before falling back to the next provider. */
  maxRetries: number;
}

/**
 * A project's routing rule. Every condition given in `match` must hold (an absent one holds always):
 * - `countries`: the session's issuing country (ISO 3166-1 alpha-3) is one of them;
 * - `documentTypes`: the session's document type is one of them;
 * - `checks`: the session asks for every listed check (it may ask for more).
 * A session without a country or document type does not match a rule that names countries or types.
 */
export interface RoutingRule {
  name: string;
  match: { countries?: string[]; documentTypes?: DocumentType[]; checks?: CheckType[] };
  /**
   * Provider config ids in the order to try; only these are tried. Absent: every enabled provider that can
   * handle the session, ordered by `order`.
   */
  providers?: string[];
  /**
   * Without `providers`: 'priority' (default; ties: cheaper first, then id) or 'cost' (cheapest first; ties:
   * priority, then id). Ignored with `providers`.
   */
  order?: 'priority' | 'cost';
}

export interface RoutingInput {
  /** Issuing country, ISO 3166-1 alpha-3, when the session knows it. */
  country?: string;
  documentType?: DocumentType;
  checks: CheckType[];
}

export const MAX_ROUTING_RULES = 100;

/**
 * The providers to try, in order. The first rule whose `match` holds decides; when none does, every
 * enabled provider by priority. Providers that are disabled, cannot run every requested check ('connector'
 * checks are run by the platform, not a provider), or do not take the session's country or document type
 * are left out. A provider limited to some countries or document types stays in when the session does not
 * say its country or type: the provider then answers 'unsupported' and the orchestrator falls back.
 * Returns [] when no provider can.
 */
export function route(
  rules: RoutingRule[],
  providers: ProviderChoice[],
  input: RoutingInput,
): ProviderChoice[] {
  const eligible = providers.filter(
    (provider) => provider.enabled && canHandle(provider.capabilities, input),
  );
  const rule = rules.find((candidate) => matches(candidate.match, input));
  if (rule?.providers) {
    const byId = new Map(eligible.map((provider) => [provider.settings.id, provider]));
    const ordered: ProviderChoice[] = [];
    for (const id of new Set(rule.providers)) {
      const provider = byId.get(id);
      if (provider) ordered.push(provider);
    }
    return ordered;
  }
  return eligible.sort(rule?.order === 'cost' ? byCost : byPriority);
}

function matches(match: RoutingRule['match'], input: RoutingInput): boolean {
  if (match.countries) {
    const country = input.country?.toUpperCase();
    if (country === undefined || !match.countries.some((listed) => listed.toUpperCase() === country))
      return false;
  }
  if (match.documentTypes) {
    if (input.documentType === undefined || !match.documentTypes.includes(input.documentType)) return false;
  }
  if (match.checks) {
    if (!match.checks.every((check) => input.checks.includes(check))) return false;
  }
  return true;
}

function canHandle(capabilities: ProviderCapabilities, input: RoutingInput): boolean {
  for (const check of input.checks) {
    if (check !== 'connector' && !capabilities.checks.includes(check)) return false;
  }
  if (input.country !== undefined && capabilities.countries !== null) {
    const country = input.country.toUpperCase();
    if (!capabilities.countries.some((listed) => listed.toUpperCase() === country)) return false;
  }
  if (input.documentType !== undefined && capabilities.documentTypes !== null) {
    if (!capabilities.documentTypes.includes(input.documentType)) return false;
  }
  return true;
}

function byPriority(a: ProviderChoice, b: ProviderChoice): number {
  return a.priority - b.priority || a.costCents - b.costCents || compareIds(a, b);
}

function byCost(a: ProviderChoice, b: ProviderChoice): number {
  return a.costCents - b.costCents || a.priority - b.priority || compareIds(a, b);
}

function compareIds(a: ProviderChoice, b: ProviderChoice): number {
  const left = a.settings.id;
  const right = b.settings.id;
  return left < right ? -1 : left > right ? 1 : 0;
}

export interface RuleError {
  pointer: string;
  detail: string;
}

const COUNTRY_PATTERN = /^[A-Z]{3}$/;

/**
 * Checks a project's rules before they are saved, for a 400 with one entry per problem. `base` is the JSON
 * Pointer of the rules array in the request body (e.g. `#/routingRules`). Reported: too many rules, blank or
 * repeated names, empty or repeated list entries, unknown countries/types/checks/orders, provider ids the
 * project does not have, and rules that can never apply because an earlier rule matches every session they
 * would. A rule with an empty `match` is fine (it matches every session).
 */
export function checkRules(rules: RoutingRule[], providerIds: ReadonlySet<string>, base = '#'): RuleError[] {
  const errors: RuleError[] = [];
  if (rules.length > MAX_ROUTING_RULES) {
    errors.push({ pointer: base, detail: `at most ${MAX_ROUTING_RULES} rules` });
  }
  const names = new Map<string, number>();
  rules.forEach((rule, index) => {
    const at = `${base}/${index}`;
    const name = rule.name.trim();
    if (name === '') errors.push({ pointer: `${at}/name`, detail: 'must not be blank' });
    else if (names.has(name)) {
      errors.push({ pointer: `${at}/name`, detail: `repeats the name of rule ${names.get(name)}` });
    } else names.set(name, index);

    checkList(errors, `${at}/match/countries`, rule.match.countries, (country) =>
      COUNTRY_PATTERN.test(country) ? null : 'must be an ISO 3166-1 alpha-3 code in capitals (e.g. GBR)',
    );
    checkList(errors, `${at}/match/documentTypes`, rule.match.documentTypes, (type) =>
      (DOCUMENT_TYPES as readonly string[]).includes(type)
        ? null
        : `must be one of ${DOCUMENT_TYPES.join(', ')}`,
    );
    checkList(errors, `${at}/match/checks`, rule.match.checks, (check) =>
      (CHECK_TYPES as readonly string[]).includes(check) ? null : `must be one of ${CHECK_TYPES.join(', ')}`,
    );
    checkList(errors, `${at}/providers`, rule.providers, (id) =>
      providerIds.has(id) ? null : 'is not a provider configuration of this project',
    );
    if (rule.order !== undefined && rule.order !== 'priority' && rule.order !== 'cost') {
      errors.push({ pointer: `${at}/order`, detail: "must be 'priority' or 'cost'" });
    }

    const shadowing = rules.slice(0, index).findIndex((earlier) => covers(earlier.match, rule.match));
    if (shadowing !== -1) {
      errors.push({
        pointer: `${at}/match`,
        detail: `never applies: rule ${shadowing} matches every session this rule would`,
      });
    }
  });
  return errors;
}

/** Reports an empty list (omit it to match anything) and each invalid or repeated entry. */
function checkList<T extends string>(
  errors: RuleError[],
  pointer: string,
  list: readonly T[] | undefined,
  invalid: (entry: T) => string | null,
): void {
  if (list === undefined) return;
  if (list.length === 0) {
    errors.push({ pointer, detail: 'must not be empty (leave it out instead)' });
    return;
  }
  const seen = new Set<T>();
  list.forEach((entry, index) => {
    const problem = invalid(entry);
    if (problem) errors.push({ pointer: `${pointer}/${index}`, detail: problem });
    else if (seen.has(entry)) errors.push({ pointer: `${pointer}/${index}`, detail: 'is listed twice' });
    seen.add(entry);
  });
}

/** Whether every session matching `later` also matches `earlier` (so `later` is never reached). */
function covers(earlier: RoutingRule['match'], later: RoutingRule['match']): boolean {
  const within = <T>(outer: readonly T[] | undefined, inner: readonly T[] | undefined): boolean =>
    outer === undefined ||
    (inner !== undefined && inner.length > 0 && inner.every((entry) => outer.includes(entry)));
  return (
    within(earlier.countries, later.countries) &&
    within(earlier.documentTypes, later.documentTypes) &&
    (earlier.checks ?? []).every((check) => later.checks?.includes(check) ?? false)
  );
}
