import { isIP } from 'node:net';
import { Problem } from '../../http/problem.js';
import { isPublicAddress } from '../../http/public-fetch.js';

/**
 * Checks an endpoint URL when it is configured, so that most mistakes and SSRF attempts are refused with
 * a 400 at once: HTTPS only (plain HTTP only to an operator-trusted host), no credentials or fragment, and
 * no literal loopback, private, link-local or metadata address unless the host is trusted. A name that
 * resolves to such an address passes here and fails at delivery (publicFetch checks at connect time).
 * Returns the URL as it will be called.
 */
export function checkEndpointUrl(raw: string, trustedHosts: readonly string[]): string {
  const refuse = (detail: string): never => {
    throw new Problem('validation-error', `The endpoint URL ${detail}.`, {
      errors: [{ in: 'body', pointer: '#/url', detail }],
    });
  };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('is not an absolute URL');
  }
  const trusted = trustedHosts.includes(url.host) || trustedHosts.includes(url.hostname);
  if (url.protocol !== 'https:' && !(trusted && url.protocol === 'http:')) refuse('must use https');
  if (url.username !== '' || url.password !== '') refuse('must not contain credentials');
  if (url.hash !== '') refuse('must not contain a fragment');
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!trusted && isIP(literal) !== 0 && !isPublicAddress(literal)) {
    refuse(`must not point to a non-public address (${literal})`);
  }
  return url.href;
}
