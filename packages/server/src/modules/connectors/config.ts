import { MAX_EXPRESSION_LENGTH, syntaxError } from './expressions.js';
import type { METHODS } from './schemas.js';
import {
  bodyPlaceholders,
  type JsonValue,
  type Placeholder,
  parseTemplate,
  placeholdersOf,
  renderBody,
  renderHeaderValue,
  type Template,
  TemplateInputError,
  TemplateSyntaxError,
} from './template.js';
import { parseUrlTemplate, renderUrl, type UrlTemplate, UrlTemplateError } from './url-template.js';

/** A connector's configuration as stored (JSON), without its secrets; defaults filled in. */
export interface ConnectorConfig {
  method: (typeof METHODS)[number];
  urlTemplate: string;
  headers: Array<{ name: string; value: string }>;
  bodyTemplate?: JsonValue;
  mapping?: string;
  successRule?: string;
  credential?: { issuerId?: string; type: string };
  timeoutMs: number;
  rateLimit: { perSecond: number; burst: number };
  quota: { perDay?: number; perMonth?: number };
  healthCheck?: { method: 'GET' | 'HEAD'; urlTemplate: string; expectStatus: number };
  sampleInput?: Record<string, unknown>;
}

export const DEFAULTS = {
  method: 'GET',
  timeoutMs: 10_000,
  rateLimit: { perSecond: 10, burst: 20 },
  healthExpectStatus: 200,
} as const;

/** The templates of a configuration, parsed: what a run renders. */
export interface CompiledConnector {
  url: UrlTemplate;
  headers: Array<{ name: string; value: Template }>;
  body?: JsonValue;
  health?: { method: 'GET' | 'HEAD'; url: UrlTemplate; expectStatus: number };
}

export interface FieldError {
  in: string;
  pointer: string;
  detail: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client owns (framing, routing): a template setting them could smuggle requests. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX_BODY_TEMPLATE_BYTES = 64 * 1024;
const MAX_SAMPLE_INPUT_BYTES = 16 * 1024;

/**
 * Checks a whole configuration with its secrets and parses its templates: every problem as a field error
 * (all of them, not just the first), or the compiled templates. `trustedHosts` is the operator's list of
 * hosts exempt from the public-address rule.
 */
export function compileConfig(
  config: ConnectorConfig,
  secrets: Record<string, string>,
  trustedHosts: readonly string[],
): { errors: FieldError[]; compiled?: CompiledConnector } {
  const errors: FieldError[] = [];
  const fail = (pointer: string, detail: string) => errors.push({ in: 'body', pointer, detail });
  const secretNames = new Set(Object.keys(secrets));
  for (const [name, value] of Object.entries(secrets)) {
    if (!SECRET_NAME.test(name)) fail(`#/secrets/${name}`, 'is not a secret name (letters, digits, _ and -)');
    if (value.length === 0) fail(`#/secrets/${name}`, 'may not be empty');
  }
  const checkRefs = (placeholders: Placeholder[], pointer: string, allowInput = true) => {
    for (const placeholder of placeholders) {
      if (placeholder.root === 'secrets' && !secretNames.has(placeholder.path[0] as string)) {
        fail(pointer, `references the unknown secret ${placeholder.path[0]}`);
      }
      if (placeholder.root === 'input' && !allowInput) {
        fail(
          pointer,
          `may not reference input (input.${placeholder.path.join('.')}): a health check has none`,
        );
      }
    }
  };
  const urlOf = (text: string, pointer: string): UrlTemplate | undefined => {
    try {
      return parseUrlTemplate(text, trustedHosts);
    } catch (error) {
      if (!(error instanceof UrlTemplateError)) throw error;
      fail(pointer, error.message);
      return undefined;
    }
  };

  const url = urlOf(config.urlTemplate, '#/urlTemplate');
  if (url) checkRefs(placeholdersOf(url.rest), '#/urlTemplate');

  const headers: CompiledConnector['headers'] = [];
  const seen = new Set<string>();
  for (const [index, header] of config.headers.entries()) {
    const lower = header.name.toLowerCase();
    if (!TOKEN.test(header.name)) fail(`#/headers/${index}/name`, 'is not a valid header name');
    else if (RESERVED_HEADERS.has(lower))
      fail(`#/headers/${index}/name`, `${header.name} is set by the HTTP client`);
    else if (seen.has(lower)) fail(`#/headers/${index}/name`, `${header.name} appears twice`);
    seen.add(lower);
    if (/[\r\n\0]/.test(header.value)) fail(`#/headers/${index}/value`, 'may not contain CR, LF or NUL');
    try {
      const value = parseTemplate(header.value);
      checkRefs(placeholdersOf(value), `#/headers/${index}/value`);
      for (const placeholder of placeholdersOf(value)) {
        const secret = placeholder.root === 'secrets' ? secrets[placeholder.path[0] as string] : undefined;
        if (secret !== undefined && /[\r\n\0]/.test(secret)) {
          fail(
            `#/secrets/${placeholder.path[0]}`,
            'is used in a header, so it may not contain CR, LF or NUL',
          );
        }
      }
      headers.push({ name: header.name, value });
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      fail(`#/headers/${index}/value`, error.message);
    }
  }

  if (config.bodyTemplate !== undefined) {
    if (config.method === 'GET') fail('#/bodyTemplate', 'needs a method with a body (POST, PUT or PATCH)');
    if (JSON.stringify(config.bodyTemplate).length > MAX_BODY_TEMPLATE_BYTES) {
      fail('#/bodyTemplate', `is larger than ${MAX_BODY_TEMPLATE_BYTES} bytes`);
    } else {
      try {
        checkRefs(bodyPlaceholders(config.bodyTemplate), '#/bodyTemplate');
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        fail('#/bodyTemplate', error.message);
      }
    }
  }

  for (const field of ['mapping', 'successRule'] as const) {
    const expression = config[field];
    if (expression === undefined) continue;
    if (expression.length > MAX_EXPRESSION_LENGTH)
      fail(`#/${field}`, `is longer than ${MAX_EXPRESSION_LENGTH} characters`);
    else {
      const problem = syntaxError(expression);
      if (problem) fail(`#/${field}`, problem);
    }
  }

  let health: CompiledConnector['health'];
  if (config.healthCheck) {
    const healthUrl = urlOf(config.healthCheck.urlTemplate, '#/healthCheck/urlTemplate');
    if (healthUrl) {
      checkRefs(placeholdersOf(healthUrl.rest), '#/healthCheck/urlTemplate', false);
      if (url && healthUrl.origin !== url.origin) {
        fail(
          '#/healthCheck/urlTemplate',
          `must have the origin of urlTemplate (${url.origin}): it is sent the same headers`,
        );
      }
      health = {
        method: config.healthCheck.method,
        url: healthUrl,
        expectStatus: config.healthCheck.expectStatus,
      };
    }
    if (headers.some((header) => placeholdersOf(header.value).some((p) => p.root === 'input'))) {
      fail(
        '#/healthCheck',
        'cannot be sent: the headers reference input, which a health check does not have',
      );
    }
  }

  if (
    config.sampleInput !== undefined &&
    JSON.stringify(config.sampleInput).length > MAX_SAMPLE_INPUT_BYTES
  ) {
    fail('#/sampleInput', `is larger than ${MAX_SAMPLE_INPUT_BYTES} bytes`);
  }

  if (errors.length > 0 || !url) return { errors };
  const compiled: CompiledConnector = {
    url,
    headers,
    ...(config.bodyTemplate === undefined ? {} : { body: config.bodyTemplate }),
    ...(health ? { health } : {}),
  };
  // The sample input must be enough for the templates, or the health check would fail every time.
  if (config.sampleInput !== undefined) {
    try {
      renderRequest(compiled, { input: config.sampleInput, secrets });
    } catch (error) {
      if (!(error instanceof TemplateInputError)) throw error;
      fail(`#/sampleInput/${error.path.join('/')}`, `${error.message} by the templates`);
      return { errors };
    }
  }
  return { errors, compiled };
}

/** One rendered request, before it is sent. Throws TemplateInputError for input that does not fit. */
export interface RenderedRequest {
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export function renderRequest(
  compiled: CompiledConnector,
  context: { input: Record<string, unknown>; secrets: Record<string, string> },
  target: { url: UrlTemplate; withBody: boolean } = { url: compiled.url, withBody: true },
): RenderedRequest {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': 'PersonaChain-Connector/1',
  };
  for (const header of compiled.headers)
    headers[header.name.toLowerCase()] = renderHeaderValue(header.value, context);
  const url = renderUrl(target.url, context);
  if (!target.withBody || compiled.body === undefined) return { url, headers };
  if (!('content-type' in headers)) headers['content-type'] = 'application/json';
  return { url, headers, body: JSON.stringify(renderBody(compiled.body, context)) };
}
