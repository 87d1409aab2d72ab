import { fromBase64Url, toBase64Url } from '@personachain/crypto';
import { EphemeralError } from './errors.js';
import { LINK_SECRET_BYTES } from './seal.js';

/*
 * Share links, version 1:
 *
 *   <nodeUrl>/v1/data/<storage key>#v=1&m=aes&k=<base64url 32-byte secret>[&once=1]
 *   <nodeUrl>/v1/data/<storage key>#v=1&m=hpke[&once=1]
 *
 * The path is a plain REPRAM URL (a GET on it returns the ciphertext). Everything secret is in the
 * fragment, which browsers and HTTP clients never send to a server. `m=aes` carries the secret that
 * decrypts; `m=hpke` carries none (the recipient opens it with their own key pair). `once=1` asks the
 * reader to fetch with `?burn=true`. Unknown parameters are ignored so later versions can add some;
 * an unknown `v` is refused.
 */

export const LINK_VERSION = 1;
const DATA_PATH = '/v1/data/';
const MAX_KEY_BYTES = 256;

/** Whether `text` has a C0 or C1 control character (or DEL), which the node refuses in keys. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

export type EphemeralMode = 'aes' | 'hpke';

/** Everything a link says. `secret` is present for `aes` links only. */
export interface EphemeralReference {
  /** Base URL of the node the link points at (without `/v1/data/…`), when parsed from a link. */
  nodeUrl?: string;
  key: string;
  /** `aes` mode: the base64url 32-byte secret; absent in `hpke` mode. */
  secret?: string;
  /** Read once: fetch with `?burn=true`. */
  readOnce?: boolean;
}

export interface ParsedLink extends EphemeralReference {
  nodeUrl: string;
  mode: EphemeralMode;
}

/** Refuses a storage key the node would refuse: 1..256 bytes of UTF-8, no control characters. */
export function checkStorageKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new EphemeralError('invalid-argument', 'a storage key is a non-empty string');
  }
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES || hasControlCharacter(key)) {
    throw new EphemeralError(
      'invalid-argument',
      `a storage key has at most ${MAX_KEY_BYTES} bytes and no control characters`,
    );
  }
}

/** The node's base URL without a trailing slash; refuses anything but http(s) without query or fragment. */
export function normalizeNodeUrl(nodeUrl: string): string {
  let url: URL;
  try {
    url = new URL(nodeUrl);
  } catch (cause) {
    throw new EphemeralError('invalid-argument', `not a URL: ${nodeUrl}`, { cause });
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new EphemeralError('invalid-argument', 'the node URL is an http(s) URL without query or fragment');
  }
  if (url.username || url.password) {
    throw new EphemeralError('invalid-argument', 'the node URL must not carry credentials');
  }
  return url.href.replace(/\/+$/, '');
}

/** `/v1/data/<key>` with each `/`-separated segment percent-encoded. */
export function dataPath(key: string): string {
  return DATA_PATH + key.split('/').map(encodeURIComponent).join('/');
}

export function decodeSecret(secret: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(secret);
  } catch (cause) {
    throw new EphemeralError('invalid-link', 'the link secret is not base64url', { cause });
  }
  if (bytes.length !== LINK_SECRET_BYTES) {
    throw new EphemeralError('invalid-link', `the link secret is not ${LINK_SECRET_BYTES} bytes`);
  }
  return bytes;
}

export function formatLink(
  nodeUrl: string,
  key: string,
  mode: EphemeralMode,
  secret: Uint8Array | undefined,
  readOnce: boolean,
): string {
  const fragment = new URLSearchParams({ v: String(LINK_VERSION), m: mode });
  if (secret) fragment.set('k', toBase64Url(secret));
  if (readOnce) fragment.set('once', '1');
  return `${nodeUrl}${dataPath(key)}#${fragment.toString()}`;
}

/** Parses a share link. Throws EphemeralError `invalid-link` or `unsupported-format`. */
export function parseEphemeralLink(link: string): ParsedLink {
  let url: URL;
  try {
    url = new URL(link);
  } catch (cause) {
    throw new EphemeralError('invalid-link', 'the link is not a URL', { cause });
  }
  const at = url.pathname.lastIndexOf(DATA_PATH);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || at < 0 || url.search) {
    throw new EphemeralError(
      'invalid-link',
      `an ephemeral link looks like <node>${DATA_PATH}<key>#<fragment>`,
    );
  }
  let key: string;
  try {
    key = url.pathname
      .slice(at + DATA_PATH.length)
      .split('/')
      .map(decodeURIComponent)
      .join('/');
  } catch (cause) {
    throw new EphemeralError('invalid-link', 'the link has a badly encoded key', { cause });
  }
  try {
    checkStorageKey(key);
  } catch (cause) {
    throw new EphemeralError('invalid-link', 'the link has an invalid storage key', { cause });
  }
  const fragment = new URLSearchParams(url.hash.slice(1));
  const version = fragment.get('v');
  if (version === null) throw new EphemeralError('invalid-link', 'the link has no fragment version (v=)');
  if (version !== String(LINK_VERSION)) {
    throw new EphemeralError('unsupported-format', `link version ${version} is not supported`);
  }
  const mode = fragment.get('m');
  if (mode !== 'aes' && mode !== 'hpke') {
    throw new EphemeralError('unsupported-format', `link mode ${String(mode)} is not supported`);
  }
  const secret = fragment.get('k') ?? undefined;
  if (mode === 'aes') {
    if (secret === undefined) throw new EphemeralError('invalid-link', 'the link has no secret (k=)');
    decodeSecret(secret);
  }
  const readOnce = fragment.get('once') === '1';
  const nodeUrl = `${url.origin}${url.pathname.slice(0, at)}`;
  return mode === 'aes' ? { nodeUrl, key, mode, secret, readOnce } : { nodeUrl, key, mode, readOnce };
}
