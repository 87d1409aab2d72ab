/**
 * Connector templates: literal text with `{{input.a.b}}` and `{{secrets.name}}` placeholders. A placeholder
 * names a value by a dotted path; there is no code in a template. How a value is inserted depends on where:
 * percent-encoded in a URL, as is in a header value (CR/LF refused), as a JSON value in a body template.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Placeholder {
  root: 'input' | 'secrets';
  /** The dotted path below the root: one segment for a secret, one or more for input. */
  path: string[];
}

/** A parsed template: literal strings and placeholders, in order. */
export type Template = Array<string | Placeholder>;

/** What placeholders read: the run's input and the connector's secrets. */
export interface TemplateContext {
  input: Record<string, unknown>;
  secrets: Record<string, string>;
}

export class TemplateSyntaxError extends Error {
  override readonly name = 'TemplateSyntaxError';
}

/** The input lacks a value a template needs, or has one that cannot go where the template puts it. */
export class TemplateInputError extends Error {
  override readonly name = 'TemplateInputError';
  constructor(
    /** The input path, e.g. `['phone', 'number']`. */
    readonly path: string[],
    detail: string,
  ) {
    super(detail);
  }

  /** The JSON Pointer of the value in a run request's body (`#/input/phone/number`). */
  get pointer(): string {
    return `#/input/${this.path.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  }
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DEPTH = 16;

function parsePlaceholder(expression: string): Placeholder {
  const [root, ...path] = expression.split('.');
  if (root !== 'input' && root !== 'secrets') {
    throw new TemplateSyntaxError(`{{${expression}}} must start with input. or secrets.`);
  }
  if (path.length === 0 || path.length > MAX_DEPTH || !path.every((segment) => SEGMENT.test(segment))) {
    throw new TemplateSyntaxError(
      `{{${expression}}} is not a dotted path of letters, digits, _ and - (at most ${MAX_DEPTH} deep)`,
    );
  }
  if (root === 'secrets' && path.length !== 1) {
    throw new TemplateSyntaxError(`{{${expression}}} must name one secret: {{secrets.name}}`);
  }
  return { root, path };
}

/** Parses a template; a `{{` or `}}` that is not part of a well-formed placeholder is a syntax error. */
export function parseTemplate(text: string): Template {
  const parts: Template = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const literal = text.slice(last, match.index);
    if (literal) parts.push(literal);
    parts.push(parsePlaceholder(match[1] as string));
    last = match.index + match[0].length;
  }
  const tail = text.slice(last);
  if (tail) parts.push(tail);
  for (const part of parts) {
    if (typeof part === 'string' && (part.includes('{{') || part.includes('}}'))) {
      throw new TemplateSyntaxError(
        'has a {{ or }} that does not form a {{input.…}} or {{secrets.…}} placeholder',
      );
    }
  }
  return parts;
}

export function placeholdersOf(template: Template): Placeholder[] {
  return template.filter((part): part is Placeholder => typeof part !== 'string');
}

/** Every placeholder of a body template (a JSON value whose strings are templates; keys are literal). */
export function bodyPlaceholders(body: JsonValue): Placeholder[] {
  if (typeof body === 'string') return placeholdersOf(parseTemplate(body));
  if (Array.isArray(body)) return body.flatMap(bodyPlaceholders);
  if (body !== null && typeof body === 'object') return Object.values(body).flatMap(bodyPlaceholders);
  return [];
}

/** The value a placeholder names; own properties only, so `input.constructor` names nothing. */
function lookup(placeholder: Placeholder, context: TemplateContext): unknown {
  if (placeholder.root === 'secrets') {
    const name = placeholder.path[0] as string;
    return Object.hasOwn(context.secrets, name) ? context.secrets[name] : undefined;
  }
  let value: unknown = context.input;
  for (const segment of placeholder.path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function required(placeholder: Placeholder, context: TemplateContext): unknown {
  const value = lookup(placeholder, context);
  if (value === undefined) {
    // Secret references are checked when the connector is configured, so only input can be missing.
    throw new TemplateInputError(placeholder.path, `input.${placeholder.path.join('.')} is required`);
  }
  return value;
}

/** A value where only text fits (URL, header): strings, numbers and booleans. */
function scalar(placeholder: Placeholder, context: TemplateContext): string {
  const value = required(placeholder, context);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateInputError(
    placeholder.path,
    `input.${placeholder.path.join('.')} must be a string, number or boolean here`,
  );
}

/** The path and query of a URL: every inserted value is percent-encoded, so it cannot change the URL's shape. */
export function renderUrlPart(template: Template, context: TemplateContext): string {
  return template
    .map((part) => (typeof part === 'string' ? part : encodeURIComponent(scalar(part, context))))
    .join('');
}

/** A header value: inserted as is, but a value with CR, LF or NUL (header injection) is refused. */
export function renderHeaderValue(template: Template, context: TemplateContext): string {
  return template
    .map((part) => {
      if (typeof part === 'string') return part;
      const value = scalar(part, context);
      if (/[\r\n\0]/.test(value)) {
        throw new TemplateInputError(part.path, `input.${part.path.join('.')} may not contain CR, LF or NUL`);
      }
      return value;
    })
    .join('');
}

function stringified(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A body template rendered: a string that is exactly one placeholder becomes the JSON value it names
 * (an object, a number…); placeholders inside longer strings are inserted as text (non-strings as JSON).
 */
export function renderBody(body: JsonValue, context: TemplateContext): JsonValue {
  if (typeof body === 'string') {
    const template = parseTemplate(body);
    if (template.length === 1 && typeof template[0] !== 'string') {
      return structuredClone(required(template[0] as Placeholder, context)) as JsonValue;
    }
    return template
      .map((part) => (typeof part === 'string' ? part : stringified(required(part, context))))
      .join('');
  }
  if (Array.isArray(body)) return body.map((item) => renderBody(item, context));
  if (body !== null && typeof body === 'object') {
    return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, renderBody(value, context)]));
  }
  return body;
}
