import { Problem } from '../../http/problem.js';
import type { OidcClientInput } from './clients.js';

/** Plain http only to the machine itself (native apps, development): RFC 8252 section 7.3. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.hash) return 'must not have a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must use https (http only for localhost or 127.0.0.1)';
}

/** Grants and redirect URIs that make sense together; a field-level 400 otherwise. */
export function checkClientShape(input: OidcClientInput): void {
  const errors: { in: 'body'; pointer: string; detail: string }[] = [];
  for (const field of ['redirectUris', 'postLogoutRedirectUris'] as const) {
    input[field].forEach((uri, index) => {
      const problem = redirectUriProblem(uri);
      if (problem) errors.push({ in: 'body', pointer: `#/${field}/${index}`, detail: problem });
    });
  }
  if (input.grantTypes.length === 0) {
    errors.push({ in: 'body', pointer: '#/grantTypes', detail: 'at least one grant type is required' });
  }
  if (input.grantTypes.includes('authorization_code') && input.redirectUris.length === 0) {
    errors.push({ in: 'body', pointer: '#/redirectUris', detail: 'authorization_code needs a redirect URI' });
  }
  if (input.public && input.grantTypes.includes('client_credentials')) {
    errors.push({
      in: 'body',
      pointer: '#/grantTypes',
      detail: 'a public client cannot use client_credentials',
    });
  }
  if (errors.length > 0) throw new Problem('validation-error', 'The client metadata is invalid.', { errors });
}
