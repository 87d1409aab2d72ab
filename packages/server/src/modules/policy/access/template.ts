import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BoundedCache, canonicalJson, toBase64Url } from '@personachain/crypto';
import { Ajv, type ErrorObject } from 'ajv';
import { type Static, type TSchema, Type } from 'typebox';
import { parseDocument } from 'yaml';
import { Problem } from '../../../http/problem.js';
import { VAULT_ACTIONS } from './types.js';

/**
 * A vault's trust template: how many points each context signal is worth, what counts as normal
 * (countries, business hours, velocity), the four evaluators' thresholds, the decision rule and what a
 * deny may turn into. Stored and hashed in its normalized form: every field present.
 */

const TEMPLATE_FILE = new URL('../../../../policies/access/default-template.yaml', import.meta.url);
/** Templates are small; a larger document is a mistake or an attack on the parser. */
const MAX_TEMPLATE_TEXT = 64 * 1024;

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * Builds the schema twice from one description: complete (the normalized template, every field
 * required) and partial (what a client sends: any field may be left out and takes the default).
 */
function templateSchema(partial: boolean) {
  const field = <T extends TSchema>(schema: T) => (partial ? Type.Optional(schema) : schema);
  const object = <P extends Record<string, TSchema>>(properties: P, description?: string) =>
    Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
  const points = (description: string) =>
    field(Type.Integer({ minimum: -100, maximum: 100, description: `Points: ${description}` }));
  const cap = (description: string) => field(Type.Integer({ minimum: 0, maximum: 100, description }));
  const actions = (description: string) =>
    field(Type.Array(Type.Enum(VAULT_ACTIONS), { uniqueItems: true, description }));
  const score = (description: string) => field(Type.Integer({ minimum: 0, maximum: 100, description }));
  const clock = (description: string) =>
    field(Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: `${description} (HH:MM)` }));

  return object(
    {
      version: field(Type.Literal(1, { description: 'Template format version.' })),
      signals: field(
        object(
          {
            base: field(
              Type.Integer({ minimum: 0, maximum: 100, description: 'The score before any signal.' }),
            ),
            device: field(
              object({
                registered: points('the fingerprint matches a device registered for the member'),
                unknown: points('a fingerprint of no registered device'),
                noFingerprint: points('no device fingerprint was sent'),
              }),
            ),
            country: field(
              object({
                allowed: points('the country is allowed (or every country is)'),
                notAllowed: points('the country is not in countries.allowed'),
                unknown: points('the address has no known country (private, reserved, unknown)'),
              }),
            ),
            hours: field(
              object({
                business: points('inside business hours'),
                off: points('outside business hours'),
              }),
            ),
            velocity: field(
              object({
                overMinuteLimit: points('more accesses in the last minute than velocity.perMinute'),
                overHourLimit: points('more accesses in the last hour than velocity.perHour'),
              }),
            ),
            recentDenials: field(
              object({
                each: points('per denied access of the member to the vault in the last hour'),
                atMost: cap('The most points all recent denials together move the score.'),
              }),
            ),
            authentication: field(
              object({
                mfa: points('multi-factor authentication'),
                passkey: points('a passkey, on top of mfa'),
                singleFactor: points('single-factor authentication'),
                stale: points('authenticated longer ago than authentication.maxAgeSeconds'),
              }),
            ),
            proofs: field(
              object({
                eachVerified: points('per verified zero-knowledge context proof'),
                atMost: cap('The most points all proofs together move the score.'),
              }),
            ),
          },
          'Points per signal; the score is base plus the points of the signals seen, kept in 0..100.',
        ),
      ),
      countries: field(
        object({
          allowed: field(
            Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
              uniqueItems: true,
              maxItems: 250,
              description: 'ISO 3166-1 alpha-2 codes; empty: every country is allowed.',
            }),
          ),
        }),
      ),
      businessHours: field(
        object({
          timeZone: field(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone.' })),
          days: field(Type.Array(Type.Enum(WEEKDAYS), { uniqueItems: true, description: 'Working days.' })),
          start: clock('Start of business hours'),
          end: clock('End of business hours, exclusive, after start'),
        }),
      ),
      velocity: field(
        object({
          perMinute: field(
            Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Accesses per minute.' }),
          ),
          perHour: field(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Accesses per hour.' })),
        }),
      ),
      authentication: field(
        object({
          maxAgeSeconds: field(
            Type.Integer({ minimum: 1, maximum: 31_536_000, description: 'Older authentication is stale.' }),
          ),
          freshSeconds: field(
            Type.Integer({
              minimum: 0,
              maximum: 31_536_000,
              description: 'MFA at most this old is fresh: a step-up cannot improve on it.',
            }),
          ),
        }),
      ),
      minimumScore: field(
        object(
          {
            read: score('Least score to read an item.'),
            list: score('Least score to list items.'),
            write: score('Least score to write items.'),
            delete: score('Least score to delete items or the vault.'),
            admin: score('Least score to change members, recovery or the vault.'),
          },
          'Below an action\u2019s minimum, strict, permissive and neutral deny.',
        ),
      ),
      evaluators: field(
        object({
          strict: field(
            object({
              allowAt: score('Allows from this score.'),
              deviceAndMfaFor: actions('Actions strict allows only with a registered device and MFA.'),
            }),
          ),
          permissive: field(object({ allowAt: score('Allows from this score, denies below.') })),
          neutral: field(
            object({
              allowAt: score('Allows from this score.'),
              denyBelow: score('Denies below this score (at most allowAt); abstains in between.'),
            }),
          ),
          watchdog: field(
            object({
              velocity: field(Type.Boolean({ description: 'Deny when a velocity limit is exceeded.' })),
              disallowedCountry: field(Type.Boolean({ description: 'Deny from a country not allowed.' })),
              maxRecentDenials: field(
                Type.Integer({
                  minimum: 1,
                  maximum: 1000,
                  description: 'Deny once the member had this many denials in the last hour.',
                }),
              ),
              offHoursActions: actions('Actions denied outside business hours.'),
            }),
          ),
        }),
      ),
      rule: field(
        object({
          kind: field(
            Type.Enum(['majority', 'unanimous', 'any'] as const, {
              description:
                'majority: more allows than denies among the votes cast (a tie or no vote denies); ' +
                'unanimous: at least one allow and no deny; any: at least one allow.',
            }),
          ),
          watchdogVeto: field(
            Type.Boolean({ description: 'A watchdog deny denies whatever the others vote.' }),
          ),
        }),
      ),
      onDeny: field(
        object({
          stepUp: field(
            Type.Boolean({
              description: 'step_up_required when fresh MFA would turn the deny into an allow.',
            }),
          ),
          guardianApproval: field(
            Type.Boolean({ description: 'guardian_approval_required when the vault has guardians.' }),
          ),
          guardiansOverrideVeto: field(
            Type.Boolean({ description: 'Guardians may approve an access the watchdog vetoed.' }),
          ),
        }),
      ),
    },
    'A vault trust template (docs/vault-policy.md).',
  );
}

/** The normalized template: every field present. */
export const TrustTemplateSchema = templateSchema(false);
/** What clients send: any field may be left out and takes the shipped default. */
export const TrustTemplateInputSchema = templateSchema(true);
export type TrustTemplate = Static<typeof TrustTemplateSchema>;

export interface TemplateFieldError {
  in: string;
  pointer: string;
  detail: string;
}

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
const checkInput = ajv.compile(TrustTemplateInputSchema);
const checkComplete = ajv.compile(TrustTemplateSchema);

function schemaErrors(errors: ErrorObject[] | null | undefined): Array<{ path: string; detail: string }> {
  return (errors ?? []).map((error) => {
    if (error.keyword === 'required') {
      return { path: `${error.instancePath}/${String(error.params.missingProperty)}`, detail: 'is required' };
    }
    if (error.keyword === 'additionalProperties') {
      return {
        path: `${error.instancePath}/${String(error.params.additionalProperty)}`,
        detail: 'is not a known field',
      };
    }
    if (error.keyword === 'enum') {
      const allowed = (error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { path: error.instancePath, detail: `must be one of ${allowed}` };
    }
    return { path: error.instancePath, detail: error.message ?? 'is invalid' };
  });
}

/** Rules across fields, which the schema cannot say; checked on the normalized template. */
function crossFieldErrors(template: TrustTemplate): Array<{ path: string; detail: string }> {
  const errors: Array<{ path: string; detail: string }> = [];
  if (!isTimeZone(template.businessHours.timeZone)) {
    errors.push({ path: '/businessHours/timeZone', detail: 'is not an IANA time zone' });
  }
  if (template.businessHours.end <= template.businessHours.start) {
    errors.push({ path: '/businessHours/end', detail: 'must be after businessHours.start' });
  }
  if (template.velocity.perMinute > template.velocity.perHour) {
    errors.push({ path: '/velocity/perMinute', detail: 'must be at most velocity.perHour' });
  }
  if (template.authentication.freshSeconds > template.authentication.maxAgeSeconds) {
    errors.push({
      path: '/authentication/freshSeconds',
      detail: 'must be at most authentication.maxAgeSeconds',
    });
  }
  if (template.evaluators.neutral.denyBelow > template.evaluators.neutral.allowAt) {
    errors.push({
      path: '/evaluators/neutral/denyBelow',
      detail: 'must be at most evaluators.neutral.allowAt',
    });
  }
  return errors;
}

const timeZones = new Map<string, boolean>();

function isTimeZone(name: string): boolean {
  let known = timeZones.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      known = true;
    } catch {
      known = false;
    }
    // Only a bounded number of names is remembered: the input is the client's.
    if (timeZones.size < 1000) timeZones.set(name, known);
  }
  return known;
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The defaults with `input` laid over them: objects merge field by field, everything else replaces. */
function overlay(defaults: unknown, input: unknown): unknown {
  if (!isPlainObject(defaults) || !isPlainObject(input)) return structuredClone(input);
  const merged: PlainObject = {};
  for (const [key, value] of Object.entries(defaults)) {
    merged[key] = input[key] !== undefined ? overlay(value, input[key]) : structuredClone(value);
  }
  return merged;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

class TemplateInputError extends Error {
  constructor(readonly problems: Array<{ path: string; detail: string }>) {
    super(problems.map((p) => `${p.path || '/'} ${p.detail}`).join('; '));
  }
}

function parseText(text: string, contentType: 'json' | 'yaml'): unknown {
  if (text.length > MAX_TEMPLATE_TEXT) {
    throw new TemplateInputError([{ path: '', detail: `is longer than ${MAX_TEMPLATE_TEXT} characters` }]);
  }
  if (contentType === 'json') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new TemplateInputError([{ path: '', detail: `is not valid JSON (${(error as Error).message})` }]);
    }
  }
  // YAML 1.2 core schema: no timestamps or sexagesimal numbers ("08:00" stays a string); aliases bounded.
  const document = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new TemplateInputError(
      document.errors.map((error) => {
        const at = error.linePos?.[0];
        const where = at ? ` at line ${at.line}, column ${at.col}` : '';
        return { path: '', detail: `is not valid YAML${where}: ${error.message.split('\n')[0]}` };
      }),
    );
  }
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Too many alias expansions: a "billion laughs" document.
    throw new TemplateInputError([{ path: '', detail: `is not valid YAML: ${(error as Error).message}` }]);
  }
}

function normalize(input: unknown, defaults: unknown): TrustTemplate {
  if (!isPlainObject(input)) throw new TemplateInputError([{ path: '', detail: 'must be an object' }]);
  if (!checkInput(input)) throw new TemplateInputError(schemaErrors(checkInput.errors));
  const template = overlay(defaults, input);
  if (!checkComplete(template)) throw new TemplateInputError(schemaErrors(checkComplete.errors));
  const crossField = crossFieldErrors(template);
  if (crossField.length > 0) throw new TemplateInputError(crossField);
  return deepFreeze(template);
}

function loadDefaultTemplate(): TrustTemplate {
  const text = readFileSync(TEMPLATE_FILE, 'utf8');
  let document: unknown;
  try {
    document = parseText(text, 'yaml');
    // The shipped file is the complete default, not an overlay: every field must be written out.
    if (!checkComplete(document)) throw new TemplateInputError(schemaErrors(checkComplete.errors));
    return normalize(document, document);
  } catch (error) {
    if (error instanceof TemplateInputError) {
      throw new Error(
        `The default trust template (${TEMPLATE_FILE.pathname}) is not valid: ${error.message}`,
      );
    }
    throw error;
  }
}

/** The shipped defaults (policies/access/default-template.yaml), validated when the module loads. */
export const DEFAULT_TRUST_TEMPLATE: TrustTemplate = loadDefaultTemplate();

/**
 * Normalized templates by their input: vaults parse their stored template on every access, and
 * validating, merging and hashing one costs ~100 µs. Results are frozen, so sharing them is safe; only
 * valid inputs are remembered.
 */
const normalized = new BoundedCache<string, TrustTemplate>(1_000);

export interface ParseTemplateOptions {
  /** JSON Pointer of the template inside the request body (`#/template`); errors point below it. */
  pointer?: string;
}

/**
 * A client's template, normalized: `input` is a parsed JSON value, or text in `contentType` (JSON
 * unless 'yaml'). Fields left out take the shipped defaults; unknown fields are refused. Throws
 * Problem('validation-error') naming every bad field by its JSON Pointer.
 */
export function parseTrustTemplate(
  input: unknown,
  contentType: 'json' | 'yaml' = 'json',
  options: ParseTemplateOptions = {},
): TrustTemplate {
  const base = (options.pointer ?? '#').replace(/\/$/, '');
  const key = cacheKey(input, contentType);
  const known = key === undefined ? undefined : normalized.get(key);
  if (known) return known;
  try {
    const value = typeof input === 'string' ? parseText(input, contentType) : input;
    const template = normalize(value, DEFAULT_TRUST_TEMPLATE);
    if (key !== undefined) normalized.set(key, template);
    return template;
  } catch (error) {
    if (!(error instanceof TemplateInputError)) throw error;
    const errors: TemplateFieldError[] = error.problems.map((p) => ({
      in: 'body',
      pointer: `${base}${p.path}`,
      detail: p.detail,
    }));
    const where = errors.map((e) => `${e.pointer.slice(1) || '/'} ${e.detail}`).join('; ');
    throw new Problem('validation-error', `The trust template is not valid: ${where}`, { errors });
  }
}

/** Bounds what the cache holds: a normal template's JSON is ~1.5 KB. */
const MAX_CACHED_KEY = 8 * 1024;

function cacheKey(input: unknown, contentType: 'json' | 'yaml'): string | undefined {
  let key: string | undefined;
  try {
    key = typeof input === 'string' ? `${contentType}\n${input}` : JSON.stringify(input);
  } catch {
    return undefined; // not JSON (a cycle, a BigInt): parsed, never remembered
  }
  return key !== undefined && key.length <= MAX_CACHED_KEY ? key : undefined;
}

/** Hashes by template object: the same (frozen) template is usually decided on many times. */
const hashes = new WeakMap<object, string>();

/** b64u SHA-256 of the template's canonical JSON (RFC 8785): equal templates hash equal. */
export function templateHash(template: TrustTemplate): string {
  let hash = hashes.get(template);
  if (hash === undefined) {
    hash = toBase64Url(createHash('sha256').update(canonicalJson(template)).digest());
    hashes.set(template, hash);
  }
  return hash;
}
