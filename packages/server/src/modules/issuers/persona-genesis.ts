import {
  buildPersonaCreate,
  keyStoreRotationKeySigner,
  type PersonaVerificationMethod,
} from '@personachain/credentials';
import { encodePublicKeyMultibase, type KeyRecord, type KeyStore } from '@personachain/crypto';
import type { KeyType } from './service.js';

/**
 * The fragment of each key type's verification method in a did:persona issuer's document. Not the
 * Multikey, as for did:web: did:persona fragments are at most 64 characters, a BLS12-381 G2 Multikey is 134.
 */
const FRAGMENTS: Record<KeyType, string> = {
  Ed25519: 'ed25519',
  'P-256': 'p256',
  'P-384': 'p384',
  'P-521': 'p521',
  'BLS12-381-G2': 'bls12381g2',
};

export function personaFragment(keyType: KeyType): string {
  return FRAGMENTS[keyType];
}

/** The KeyStore keys that control a did:persona issuer: one hybrid rotation key. */
export interface RotationKeyIds {
  ed25519: string;
  mlDsa65: string;
}

/**
 * The signed genesis of a did:persona issuer in platform custody (docs/did-persona.md §3.3): the rotation
 * key is a hybrid Ed25519 + ML-DSA-65 pair of KeyStore keys, which also signs it; the verification
 * methods are the issuer's suite keys, for authentication and assertionMethod. No guardians: the
 * platform keeps the keys, so there is no lost key for guardians to recover.
 */
export async function buildIssuerGenesis(
  keyStore: KeyStore,
  rotation: RotationKeyIds,
  suiteKeys: ReadonlyArray<{ keyType: KeyType; key: KeyRecord }>,
): Promise<{ did: string; bytes: Uint8Array }> {
  const signer = await keyStoreRotationKeySigner(keyStore, rotation);
  const verificationMethods: PersonaVerificationMethod[] = suiteKeys.map(({ keyType, key }) => ({
    id: personaFragment(keyType),
    publicKeyMultibase: encodePublicKeyMultibase(key.algorithm, key.publicKey),
    relationships: ['authentication', 'assertionMethod'],
  }));
  const { did, bytes } = await buildPersonaCreate(
    { rotationKeys: [signer.key], verificationMethods },
    signer,
  );
  return { did, bytes };
}
