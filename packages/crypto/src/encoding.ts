const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Node's Buffer when present (read once, at load): its native base64url is several times faster than the
 * portable encoder below, which browsers use.
 */
const nodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** RFC 4648 §5 base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  if (nodeBuffer)
    return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes unpadded base64url; throws a TypeError on any character outside the alphabet. */
export function fromBase64Url(text: string): Uint8Array {
  if (!BASE64URL.test(text) || text.length % 4 === 1) throw new TypeError('invalid base64url');
  // A copy: small Buffers share a pooled slab, which must not leak into the caller's ArrayBuffer.
  if (nodeBuffer) return new Uint8Array(nodeBuffer.from(text, 'base64url'));
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
