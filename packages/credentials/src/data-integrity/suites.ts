import * as bbs2023 from '@digitalbazaar/bbs-2023-cryptosuite';
import { type Cryptosuite, DataIntegrityProof, type Signer } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as ecdsaSd2023 from '@digitalbazaar/ecdsa-sd-2023-cryptosuite';
import { createSignCryptosuite, createVerifyCryptosuite } from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { CredentialError } from '../errors.js';
import { isBbsSigner } from './bbs-signer.js';
import type { DataIntegrityAlgorithm, DataIntegritySigner } from './signer.js';

/** The Data Integrity cryptosuites of this package. */
export type CryptosuiteName =
  | 'eddsa-rdfc-2022'
  | 'eddsa-jcs-2022'
  | 'ecdsa-rdfc-2019'
  | 'ecdsa-sd-2023'
  | 'bbs-2023';

/** The selective-disclosure suites: the issuer makes a base proof, the holder derives the proof verifiers check. */
export type SelectiveDisclosureSuite = 'ecdsa-sd-2023' | 'bbs-2023';

export const CRYPTOSUITES: readonly CryptosuiteName[] = [
  'eddsa-rdfc-2022',
  'eddsa-jcs-2022',
  'ecdsa-rdfc-2019',
  'ecdsa-sd-2023',
  'bbs-2023',
];

// ecdsa-sd-2023 is P-256 only here: the spec also allows P-384, but @digitalbazaar/ecdsa-sd-2023-cryptosuite
// 3.4 requires a 64-byte base signature (and the verifying side, P-256 keys).
const KEY_ALGORITHMS: Record<CryptosuiteName, readonly DataIntegrityAlgorithm[]> = {
  'eddsa-rdfc-2022': ['Ed25519'],
  'eddsa-jcs-2022': ['Ed25519'],
  'ecdsa-rdfc-2019': ['P-256', 'P-384'],
  'ecdsa-sd-2023': ['P-256'],
  'bbs-2023': ['BLS12-381-G2'],
};

export function isCryptosuiteName(value: unknown): value is CryptosuiteName {
  return typeof value === 'string' && (CRYPTOSUITES as readonly string[]).includes(value);
}

export function isSelectiveDisclosureSuite(value: unknown): value is SelectiveDisclosureSuite {
  return value === 'ecdsa-sd-2023' || value === 'bbs-2023';
}

/** Key algorithms a cryptosuite signs with (ecdsa-rdfc-2019 hashes with SHA-256 for P-256, SHA-384 for P-384). */
export function suiteKeyAlgorithms(name: CryptosuiteName): readonly DataIntegrityAlgorithm[] {
  return KEY_ALGORITHMS[name];
}

/**
 * A DataIntegrityProof suite that signs with `signer`; `created` is the proof's creation time. For the
 * selective-disclosure suites, `mandatoryPointers` are the JSON pointers every derived proof must disclose.
 */
export function signingSuite(
  name: CryptosuiteName,
  signer: DataIntegritySigner,
  created: Date,
  mandatoryPointers: string[] = [],
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
  switch (name) {
    case 'eddsa-rdfc-2022':
    case 'ecdsa-rdfc-2019':
      return new DataIntegrityProof({ signer, cryptosuite: suiteObject(name), date: created });
    // eddsa-jcs-2022 ships separate sign and verify cryptosuite objects.
    case 'eddsa-jcs-2022':
      return new DataIntegrityProof({ signer, cryptosuite: createSignCryptosuite(), date: created });
    case 'ecdsa-sd-2023':
      return new DataIntegrityProof({
        signer,
        cryptosuite: ecdsaSd2023.createSignCryptosuite({ mandatoryPointers }),
        date: created,
      });
    case 'bbs-2023':
      return new DataIntegrityProof({
        signer: bbsSuiteSigner(signer),
        cryptosuite: bbs2023.createSignCryptosuite({ mandatoryPointers }),
        date: created,
      });
  }
}

/**
 * The library names the BBS algorithm `Bls12381G2` (or the BBS ciphersuite); ours is the key algorithm
 * `BLS12-381-G2`. Only a signer that can sign several messages is accepted.
 */
function bbsSuiteSigner(signer: DataIntegritySigner): Signer {
  if (!isBbsSigner(signer)) {
    throw new CredentialError(
      'invalid-signer',
      'bbs-2023 needs a multi-message BBS signer (createBbsSigner), not a single-message signer.',
    );
  }
  const { id, publicKey } = signer;
  return {
    id,
    algorithm: 'Bls12381G2',
    publicKey,
    multisign: (input: { header: Uint8Array; messages: Uint8Array[] }) => signer.multisign(input),
    sign: (input: { data: Uint8Array }) => signer.sign(input),
  } as Signer;
}

/**
 * The cryptosuite that verifies proofs of `name` (derived proofs for the sd suites); bbs-2023's records the
 * presentation header it read in `results`.
 */
export function verifyingCryptosuite(name: CryptosuiteName): Cryptosuite {
  switch (name) {
    case 'eddsa-rdfc-2022':
    case 'ecdsa-rdfc-2019':
      return suiteObject(name);
    case 'eddsa-jcs-2022':
      return createVerifyCryptosuite();
    case 'ecdsa-sd-2023':
      return ecdsaSd2023.createVerifyCryptosuite();
    case 'bbs-2023':
      return bbs2023.createVerifyCryptosuite();
  }
}

/** A DataIntegrityProof suite that derives a disclosure proof from a base proof of `name`. */
export function derivingSuite(
  name: SelectiveDisclosureSuite,
  selectivePointers: string[],
  presentationHeader: Uint8Array | undefined,
): DataIntegrityProof {
  const cryptosuite =
    name === 'ecdsa-sd-2023'
      ? ecdsaSd2023.createDiscloseCryptosuite({ selectivePointers })
      : bbs2023.createDiscloseCryptosuite({
          selectivePointers,
          ...(presentationHeader === undefined ? {} : { presentationHeader }),
        });
  return new DataIntegrityProof({ cryptosuite });
}

function suiteObject(name: 'eddsa-rdfc-2022' | 'ecdsa-rdfc-2019') {
  return name === 'eddsa-rdfc-2022' ? eddsaRdfc2022 : ecdsaRdfc2019;
}
