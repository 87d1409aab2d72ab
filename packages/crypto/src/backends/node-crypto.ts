import type * as NodeCryptoModule from 'node:crypto';

export type NodeCrypto = typeof NodeCryptoModule;

let loaded: NodeCrypto | null | undefined;

/**
 * `node:crypto` when the runtime has it, otherwise undefined. It is fetched through
 * `process.getBuiltinModule` instead of a top-level import so that this package still loads in browsers.
 */
export function nodeCrypto(): NodeCrypto | undefined {
  if (loaded === undefined) {
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    loaded = (process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null;
  }
  return loaded ?? undefined;
}

const probes = new Map<string, boolean>();

/**
 * Runs `probe` once per name and remembers whether it succeeded: the reliable way to learn whether this
 * Node/OpenSSL build implements an algorithm (ML-DSA, ML-KEM and SLH-DSA need OpenSSL 3.5).
 */
export function nativeSupports(name: string, probe: (crypto: NodeCrypto) => void): boolean {
  let supported = probes.get(name);
  if (supported === undefined) {
    const crypto = nodeCrypto();
    supported = false;
    if (crypto) {
      try {
        probe(crypto);
        supported = true;
      } catch {
        supported = false;
      }
    }
    probes.set(name, supported);
  }
  return supported;
}

/**
 * A Buffer returned by `node:crypto` as a plain Uint8Array of its own. A copy, not a view: small Buffers can
 * sit in a shared pool slab, and key bytes must not share an ArrayBuffer with unrelated data.
 */
export function bytesOf(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer);
}

/**
 * Builds a native scheme once, the first time it is asked for, if the probe says this runtime implements
 * it; undefined otherwise (the caller then falls back to noble).
 */
export function lazyNative<T>(
  name: string,
  probe: (crypto: NodeCrypto) => void,
  create: (crypto: NodeCrypto) => T,
): () => T | undefined {
  let scheme: T | undefined;
  return () => {
    if (scheme) return scheme;
    const crypto = nodeCrypto();
    if (!crypto || !nativeSupports(name, probe)) return undefined;
    scheme = create(crypto);
    return scheme;
  };
}

/** A Uint8Array as a Buffer over the same memory, for `node:crypto` inputs typed as Buffer. Node-only. */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
