import { base64, base64nopad, base64urlnopad, hex } from '@scure/base';
import { CREDENTIALS_V2_CONTEXT } from './index.js';

/** The hash functions a `relatedResource` digest may use (SRI and multibase). */
export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** The digests of one published revision of a resource, by hash function. */
export type ResourceRevision = Partial<Record<DigestAlgorithm, Uint8Array>>;

/**
 * Digests of the published revisions of resources this package knows offline, by URL (VCDM 2.0 §5.3
 * "Integrity of Related Resources": a declared digest MUST match the digest of the retrieved resource).
 * Nothing is fetched, so only these resources can be checked.
 *
 * `https://www.w3.org/ns/credentials/v2`: the 2024-07-20 revision (w3c/vc-data-model commit
 * 8d0ee1072f16284a1a0613d78bd7c20c915bad09, `contexts/credentials/v2`, 10,139 bytes), the revision that the
 * W3C VCDM 2.0 test suite's `relatedResource` inputs digest.
 */
export const RELATED_RESOURCE_REVISIONS: ReadonlyMap<string, readonly ResourceRevision[]> = new Map([
  [
    CREDENTIALS_V2_CONTEXT,
    [
      {
        sha256: hex.decode('24a18c90e9856d526111f29376e302d970b2bd10182e33959995b0207d7043b9'),
        sha384: base64.decode('NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg'),
      },
    ],
  ],
]);

const DIGEST_LENGTHS: Record<DigestAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** Multihash codes (sha2-256, sha2-384, sha2-512) for a `digestMultibase` that carries a multihash header. */
const MULTIHASH_CODES: Record<number, DigestAlgorithm> = { 18: 'sha256', 32: 'sha384', 19: 'sha512' };

export interface Digest {
  algorithm: DigestAlgorithm;
  /** The digest bytes; undefined when the encoded value does not decode to a digest of `algorithm`'s length. */
  value: Uint8Array | undefined;
}

/**
 * A Subresource Integrity string (`sha384-<base64>`, the SRI grammar) as a digest; undefined when it does not
 * follow the grammar. Its base64 is decoded forgivingly (padding optional), as user agents do.
 */
export function parseDigestSri(value: unknown): Digest | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+)={0,2}$/.exec(value);
  if (match === null) return undefined;
  const algorithm = match[1] as DigestAlgorithm;
  const bytes = decodeOrUndefined(() => base64nopad.decode(match[2] as string));
  return { algorithm, value: bytes?.length === DIGEST_LENGTHS[algorithm] ? bytes : undefined };
}

/**
 * A `digestMultibase` as a digest: multibase base64url-no-pad (`u`) of a raw SHA-2 digest (its hash function
 * told by its length) or of a multihash (sha2-256/384/512 code and length, then the digest); undefined when
 * it is neither.
 */
export function parseDigestMultibase(value: unknown): Digest | undefined {
  if (typeof value !== 'string' || !value.startsWith('u')) return undefined;
  const bytes = decodeOrUndefined(() => base64urlnopad.decode(value.slice(1)));
  if (bytes === undefined) return undefined;
  const code = bytes[0] as number;
  const multihash = MULTIHASH_CODES[code];
  if (multihash !== undefined && bytes[1] === DIGEST_LENGTHS[multihash] && bytes.length === bytes[1] + 2) {
    return { algorithm: multihash, value: bytes.slice(2) };
  }
  const raw = (Object.keys(DIGEST_LENGTHS) as DigestAlgorithm[]).find(
    (algorithm) => DIGEST_LENGTHS[algorithm] === bytes.length,
  );
  return raw === undefined ? undefined : { algorithm: raw, value: bytes };
}

/**
 * Whether a digest contradicts what is known of the resource: false for a resource (or a hash function)
 * with no recorded revision, which cannot be checked offline; true when no recorded revision has this digest.
 */
export function contradictsKnownRevisions(url: string, digest: Digest): boolean {
  const revisions = RELATED_RESOURCE_REVISIONS.get(url) ?? [];
  const comparable = revisions
    .map((revision) => revision[digest.algorithm])
    .filter((value): value is Uint8Array => value !== undefined);
  if (comparable.length === 0) return false;
  const { value } = digest;
  return value === undefined || !comparable.some((known) => bytesEqual(known, value));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function decodeOrUndefined(decode: () => Uint8Array): Uint8Array | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}
