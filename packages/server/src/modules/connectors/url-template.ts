import { outboundUrlProblem } from '../../http/public-fetch.js';
import {
  parseTemplate,
  placeholdersOf,
  renderUrlPart,
  type Template,
  type TemplateContext,
  TemplateInputError,
  TemplateSyntaxError,
} from './template.js';

/**
 * A connector's URL template split at its origin. The origin (scheme, host, port) is literal and checked
 * when the connector is configured; placeholders may only appear in the path and query, where their values
 * are percent-encoded, so no input can send the request (and the connector's secrets) elsewhere.
 */
export interface UrlTemplate {
  origin: string;
  rest: Template;
}

export class UrlTemplateError extends Error {
  override readonly name = 'UrlTemplateError';
}

const ORIGIN = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)(.*)$/s;

/**
 * Parses and checks a URL template: its fixed origin follows `outboundUrlProblem` (HTTPS to a public host,
 * or a host the operator trusts); names that resolve to non-public addresses are refused when the request
 * connects (public-fetch.ts), since DNS can change between now and then.
 */
export function parseUrlTemplate(text: string, trustedHosts: readonly string[]): UrlTemplate {
  const match = ORIGIN.exec(text);
  if (!match) throw new UrlTemplateError('must be an absolute URL (https://host/path)');
  const [, originText, restText] = match as unknown as [string, string, string];
  if (originText.includes('{{')) {
    throw new UrlTemplateError('may have placeholders only in its path and query, not in its scheme or host');
  }
  const problem = outboundUrlProblem(`${originText}/`, trustedHosts);
  if (problem) throw new UrlTemplateError(problem);
  if (restText !== '' && !/^[/?]/.test(restText)) throw new UrlTemplateError('is not a valid URL');
  if (restText.includes('#')) throw new UrlTemplateError('may not have a fragment');
  if (hasDotSegment(restText)) throw new UrlTemplateError('may not have . or .. path segments');
  let rest: Template;
  try {
    rest = parseTemplate(restText);
  } catch (error) {
    if (error instanceof TemplateSyntaxError) throw new UrlTemplateError(error.message);
    throw error;
  }
  return { origin: new URL(`${originText}/`).origin, rest };
}

/** Whether the path of a URL's path-and-query has a `.` or `..` segment (also percent-encoded: `%2e`). */
function hasDotSegment(pathAndQuery: string): boolean {
  const path = pathAndQuery.split('?', 1)[0] as string;
  return path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
}

/** The URL for one run. Throws TemplateInputError when the input lacks a value the template needs. */
export function renderUrl(template: UrlTemplate, context: TemplateContext): URL {
  const rendered = renderUrlPart(template.rest, context);
  // Percent-encoding keeps `/` out of a value, but a whole value of `..` would still climb the path.
  if (hasDotSegment(rendered)) {
    const first = placeholdersOf(template.rest).find((placeholder) => placeholder.root === 'input');
    const path = first?.path ?? [];
    throw new TemplateInputError(path, `input.${path.join('.')} may not make a URL path segment of . or ..`);
  }
  const url = new URL(template.origin + rendered);
  // Percent-encoding keeps every value inside the path or query; this holds whatever the template says.
  if (url.origin !== template.origin) throw new Error('a rendered connector URL left its origin');
  return url;
}
