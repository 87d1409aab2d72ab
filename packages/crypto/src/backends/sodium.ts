/**
 * libsodium through `sodium-native` (an optional dependency with prebuilt binaries), where it clearly
 * beats this Node's OpenSSL: Ed25519, whose verification runs about 2.6× and signing about 2.2× as fast
 * here (bench/crypto-algorithms.mjs), and X25519 on raw keys inside X-Wing (one call instead of a key
 * import plus a derivation: ~38 µs against ~80 µs). Loaded lazily through a runtime `require`, so
 * browsers and bundles never see it; where it cannot load, callers use `node:crypto`.
 */
export interface Sodium {
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** X25519(n, 9). */
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  /** X25519(n, p); throws when the result is all zeros (p of low order). */
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
}

interface ModuleBuiltin {
  createRequire(from: string): (id: string) => unknown;
}

let loaded: Sodium | null | undefined;

/** libsodium when this runtime can load it (Node with a prebuilt binary for its platform), else undefined. */
export function sodium(): Sodium | undefined {
  if (loaded === undefined) {
    loaded = null;
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const module = process?.getBuiltinModule?.('node:module') as ModuleBuiltin | undefined;
    if (module) {
      try {
        loaded = module.createRequire(import.meta.url)('sodium-native') as Sodium;
      } catch {
        loaded = null; // not installed, or no binary for this platform: node:crypto serves instead
      }
    }
  }
  return loaded ?? undefined;
}
