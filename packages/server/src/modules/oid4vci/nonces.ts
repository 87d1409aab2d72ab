import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hkdfSha256 } from '@personachain/crypto';

/** How long a c_nonce may be used after the nonce endpoint gave it out. */
export const NONCE_TTL_SECONDS = 300;

const RANDOM = 16;
const EXPIRY = 8;
const MAC = 16;

/**
 * c_nonces that need no storage until used: 128 random bits, the expiry, and an HMAC over both and the
 * project (so a nonce of one project is refused by another). The nonce endpoint, which anyone may call,
 * therefore writes nothing; a nonce is stored (hashed) only when a credential request uses it, which is
 * what makes it single-use, and only until it would have expired anyway.
 */
export class NonceCodec {
  private readonly key: Uint8Array;

  constructor(masterKey: Uint8Array) {
    this.key = hkdfSha256(
      masterKey,
      undefined,
      new TextEncoder().encode('personachain oid4vci c_nonce v1'),
      32,
    );
  }

  issue(projectId: string, nowSeconds: number): { nonce: string; expiresAt: number } {
    const expiresAt = Math.floor(nowSeconds) + NONCE_TTL_SECONDS;
    const body = Buffer.alloc(RANDOM + EXPIRY);
    randomBytes(RANDOM).copy(body);
    body.writeBigUInt64BE(BigInt(expiresAt), RANDOM);
    return { nonce: Buffer.concat([body, this.mac(projectId, body)]).toString('base64url'), expiresAt };
  }

  /** The nonce's expiry (epoch seconds) if this platform made it for the project and it is still live. */
  check(projectId: string, nonce: string, nowSeconds: number): number | undefined {
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== RANDOM + EXPIRY + MAC || bytes.toString('base64url') !== nonce) return undefined;
    const body = bytes.subarray(0, RANDOM + EXPIRY);
    if (!timingSafeEqual(bytes.subarray(RANDOM + EXPIRY), this.mac(projectId, body))) return undefined;
    const expiresAt = Number(body.readBigUInt64BE(RANDOM));
    return expiresAt > nowSeconds ? expiresAt : undefined;
  }

  private mac(projectId: string, body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(`${projectId}\0`).update(body).digest().subarray(0, MAC);
  }
}
