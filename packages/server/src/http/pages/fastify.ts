import type { FastifyInstance, FastifyReply } from 'fastify';
import { Problem } from '../problem.js';
import { document, PAGE_HEADERS, type Page, SCRIPTED_PAGE_CSP } from './html.js';
import { messagePage } from './message.js';

/** The fields of a posted HTML form. */
export type Form = Record<string, string | undefined>;

/** A page that ends the request, thrown from anywhere in a page route. */
export class PageError extends Error {
  constructor(readonly page: Page) {
    super(page.title);
  }
}

export function sendPage(reply: FastifyReply, page: Page): FastifyReply {
  reply.code(page.status).headers(PAGE_HEADERS);
  if (page.scripts?.length) reply.header('content-security-policy', SCRIPTED_PAGE_CSP);
  if (page.retryAfter !== undefined) reply.header('retry-after', String(page.retryAfter));
  return reply.send(document(page));
}

/** A form field as a string of at most `maxLength` characters; '' when missing or longer. */
export function field(form: Form | undefined, name: string, maxLength: number): string {
  const value = form?.[name];
  return typeof value === 'string' && value.length <= maxLength ? value : '';
}

/**
 * Makes `scope` a scope of HTML pages: urlencoded forms parsed, a PageError answered with its page, a
 * Problem (a rate limit, say) with its status and detail, any other error logged under `logMessage` and
 * answered with a generic error page.
 */
export function servePages(scope: FastifyInstance, logMessage: string): void {
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  scope.setErrorHandler((error, request, reply) => {
    if (error instanceof PageError) return sendPage(reply, error.page);
    if (error instanceof Problem) {
      reply.headers(error.headers);
      return sendPage(reply, messagePage(error.status, 'Request refused', error.message));
    }
    request.log.error({ err: error }, logMessage);
    return sendPage(reply, messagePage(500, 'Something went wrong', 'Please try again later.'));
  });
}
