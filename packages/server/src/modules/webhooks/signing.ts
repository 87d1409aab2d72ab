import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  sign,
} from 'node:crypto';
import { randomBytes } from '@personachain/crypto';

/**
 * Standard Webhooks signatures (standard-webhooks spec 1.0.0): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`; `v1,` carries base64 HMAC-SHA256 keyed with the bytes of a
 * `whsec_` secret (the base64 after the prefix, decoded), `v1a,` a base64 Ed25519 signature whose `whpk_`
 * public key receivers hold.
 */
export type SigningScheme = 'v1' | 'v1a';

export const SECRET_PREFIX = 'whsec_';
export const PUBLIC_KEY_PREFIX = 'whpk_';

/** A key ready to sign: an HMAC key (v1) or an Ed25519 private key (v1a), imported once. */
export interface SigningKey {
  scheme: SigningScheme;
  key: KeyObject;
}

/** PKCS#8 DER header of an Ed25519 private key (RFC 8410), followed by the 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The signing key for 32 stored bytes: the HMAC key (v1) or the Ed25519 seed (v1a). */
export function signingKey(scheme: SigningScheme, material: Uint8Array): SigningKey {
  return { scheme, key: scheme === 'v1' ? createSecretKey(material) : ed25519PrivateKey(material) };
}

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error('an Ed25519 seed has 32 bytes');
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The `whpk_` text of the public key of an Ed25519 seed. */
export function publicKeyText(seed: Uint8Array): string {
  const jwk = createPublicKey(ed25519PrivateKey(seed)).export({ format: 'jwk' });
  return PUBLIC_KEY_PREFIX + Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/** New key material for an endpoint: 32 random bytes, and what its owner is shown once. */
export function generateKey(scheme: SigningScheme): { material: Uint8Array; shown: string } {
  const material = randomBytes(32);
  return scheme === 'v1'
    ? { material, shown: SECRET_PREFIX + Buffer.from(material).toString('base64') }
    : { material, shown: publicKeyText(material) };
}

/** One signature, `v1,<base64>` or `v1a,<base64>`, over exactly the bytes sent. */
export function signOne(key: SigningKey, id: string, timestamp: number, body: string): string {
  const content = `${id}.${timestamp}.${body}`;
  if (key.scheme === 'v1') return `v1,${createHmac('sha256', key.key).update(content).digest('base64')}`;
  return `v1a,${sign(null, Buffer.from(content), key.key).toString('base64')}`;
}

/** The `webhook-signature` header: one signature per key, space-separated (two during a rotation). */
export function signatureHeader(
  keys: readonly SigningKey[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return keys.map((key) => signOne(key, id, timestamp, body)).join(' ');
}
