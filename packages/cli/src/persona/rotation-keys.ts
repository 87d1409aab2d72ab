import type { RotationKey } from '@personachain/credentials';

/** Every public key of these rotation keys: the Ed25519 halves and the ML-DSA-65 halves of hybrids. */
export function* halves(keys: readonly RotationKey[]): Generator<string> {
  for (const key of keys) {
    yield key.ed25519;
    if (key.mlDsa65 !== undefined) yield key.mlDsa65;
  }
}

export function describeRotationKey(key: RotationKey): string {
  return key.mlDsa65 === undefined ? `${key.ed25519} (Ed25519)` : `${key.ed25519} + ML-DSA-65 (hybrid)`;
}
