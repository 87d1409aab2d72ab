import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { hkdfSha256 } from '@personachain/crypto';

/**
 * CSRF tokens of server-rendered forms: an HMAC of the project and what the form is bound to (an OIDC
 * interaction, a session) under a key derived from the master key and the forms' purpose. Every replica
 * issues and accepts the same token, nothing is stored, and a token is worth nothing outside its binding.
 */
export class FormCsrf {
  /** A KeyObject: Node re-imports raw key bytes on every HMAC, and pages compute several per request. */
  private readonly key: KeyObject;

  /** `purpose` separates the keys of different form families, so their tokens never stand in for each other. */
  constructor(masterKey: Uint8Array, purpose: string) {
    this.key = createSecretKey(hkdfSha256(masterKey, undefined, new TextEncoder().encode(purpose), 32));
  }

  token(projectId: string, binding: string): string {
    return createHmac('sha256', this.key).update(`${projectId}\n${binding}`).digest('base64url');
  }

  verify(projectId: string, binding: string, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const expected = Buffer.from(this.token(projectId, binding));
    const actual = Buffer.from(presented);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
