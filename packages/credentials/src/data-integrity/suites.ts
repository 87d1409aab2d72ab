import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { createSignCryptosuite, createVerifyCryptosuite } from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { CredentialError } from '../errors.js';
import type { DataIntegrityAlgorithm, DataIntegritySigner } from './signer.js';

/** The Data Integrity cryptosuites of this slice. */
export type CryptosuiteName = 'eddsa-rdfc-2022' | 'eddsa-jcs-2022' | 'ecdsa-rdfc-2019';

export const CRYPTOSUITES: readonly CryptosuiteName[] = [
  'eddsa-rdfc-2022',
  'eddsa-jcs-2022',
  'ecdsa-rdfc-2019',
];

const KEY_ALGORITHMS: Record<CryptosuiteName, readonly DataIntegrityAlgorithm[]> = {
  'eddsa-rdfc-2022': ['Ed25519'],
  'eddsa-jcs-2022': ['Ed25519'],
  'ecdsa-rdfc-2019': ['P-256', 'P-384'],
};

export function isCryptosuiteName(value: unknown): value is CryptosuiteName {
  return typeof value === 'string' && (CRYPTOSUITES as readonly string[]).includes(value);
}

/** Key algorithms a cryptosuite signs with (ecdsa-rdfc-2019 hashes with SHA-256 for P-256, SHA-384 for P-384). */
export function suiteKeyAlgorithms(name: CryptosuiteName): readonly DataIntegrityAlgorithm[] {
  return KEY_ALGORITHMS[name];
}

/** A DataIntegrityProof suite that signs with `signer`; `created` is the proof's creation time. */
export function signingSuite(
  name: CryptosuiteName,
  signer: DataIntegritySigner,
  created: Date,
): DataIntegrityProof {
  if (!isCryptosuiteName(name)) {
    throw new CredentialError('unsupported-cryptosuite', `Unsupported cryptosuite "${String(name)}".`);
  }
  if (!KEY_ALGORITHMS[name].includes(signer.algorithm)) {
    throw new CredentialError(
      'invalid-signer',
      `${name} signs with ${KEY_ALGORITHMS[name].join(' or ')} keys, not ${signer.algorithm}.`,
    );
  }
  // eddsa-jcs-2022 ships separate sign and verify cryptosuite objects.
  const cryptosuite = name === 'eddsa-jcs-2022' ? createSignCryptosuite() : suiteObject(name);
  return new DataIntegrityProof({ signer, cryptosuite, date: created });
}

/** A DataIntegrityProof suite that verifies proofs of cryptosuite `name`. */
export function verifyingSuite(name: CryptosuiteName): DataIntegrityProof {
  const cryptosuite = name === 'eddsa-jcs-2022' ? createVerifyCryptosuite() : suiteObject(name);
  return new DataIntegrityProof({ cryptosuite });
}

function suiteObject(name: 'eddsa-rdfc-2022' | 'ecdsa-rdfc-2019') {
  return name === 'eddsa-rdfc-2022' ? eddsaRdfc2022 : ecdsaRdfc2019;
}
