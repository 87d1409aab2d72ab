/**
 * 32 secret bytes as people write them in settings and key files: 64 hex or 43 base64url characters.
 * Undefined for anything else.
 */
export function parseKey32(text: string): Uint8Array | undefined {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9_-]{43}$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64url')
      : undefined;
  return bytes?.length === 32 ? new Uint8Array(bytes) : undefined;
}
