import { BoundedCache } from '@personachain/crypto';
import { SecretBox } from '../identity/secret-box.js';
import { type SigningKey, type SigningScheme, signingKey } from './signing.js';

/** How an endpoint's keys are stored (the columns of webhook_endpoints they come from). */
export interface StoredKeys {
  id: string;
  signing: string;
  secret_box: string;
  previous_secret_box: string | null;
  previous_expires_at: number | string | null;
}

/** Opened keys kept in memory: each sealed key is opened once, not on every delivery. */
const CACHE_SIZE = 10_000;

/**
 * Endpoint signing keys at rest: sealed with AES-256-GCM under a key derived from the master key (purpose
 * `webhook secrets`), bound to the endpoint id, so a sealed key copied to another endpoint does not open.
 */
export class EndpointKeys {
  private readonly box: SecretBox;
  private readonly opened = new BoundedCache<string, SigningKey>(CACHE_SIZE);

  constructor(masterKey: Uint8Array) {
    this.box = new SecretBox(masterKey, 'webhook secrets');
  }

  seal(material: Uint8Array, endpointId: string): Promise<string> {
    return this.box.seal(material, endpointId);
  }

  /** The keys that sign now: the current one, and the one it replaced while the rotation overlap lasts. */
  async signingKeys(endpoint: StoredKeys, now: number): Promise<SigningKey[]> {
    const scheme = endpoint.signing as SigningScheme;
    const keys = [await this.open(scheme, endpoint.secret_box, endpoint.id)];
    const previousUntil = endpoint.previous_expires_at === null ? null : Number(endpoint.previous_expires_at);
    if (endpoint.previous_secret_box !== null && previousUntil !== null && previousUntil > now) {
      keys.push(await this.open(scheme, endpoint.previous_secret_box, endpoint.id));
    }
    return keys;
  }

  private async open(scheme: SigningScheme, sealed: string, endpointId: string): Promise<SigningKey> {
    const cacheKey = `${endpointId}/${sealed}`;
    const cached = this.opened.get(cacheKey);
    if (cached) return cached;
    return this.opened.set(cacheKey, signingKey(scheme, await this.box.open(sealed, endpointId)));
  }
}
