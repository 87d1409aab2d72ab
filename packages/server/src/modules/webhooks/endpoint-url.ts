import { Problem } from '../../http/problem.js';
import { outboundUrlProblem } from '../../http/public-fetch.js';

/**
 * Checks an endpoint URL when it is configured, so that most mistakes and SSRF attempts are refused with
 * a 400 at once (the rules of `outboundUrlProblem`). A name that resolves to a non-public address passes
 * here and fails at delivery (publicFetch checks at connect time). Returns the URL as it will be called.
 */
export function checkEndpointUrl(raw: string, trustedHosts: readonly string[]): string {
  const problem = outboundUrlProblem(raw, trustedHosts);
  if (problem) {
    throw new Problem('validation-error', `The endpoint URL ${problem}.`, {
      errors: [{ in: 'body', pointer: '#/url', detail: problem }],
    });
  }
  return new URL(raw).href;
}
