import type { KeyStore } from '@personachain/crypto';
import { signatureScheme } from '@personachain/crypto';
import { CredentialError } from '../errors.js';
import { isAbsoluteUrl } from './values.js';

/** Key algorithms the Data Integrity suites of this package sign with (BLS12-381 G2: bbs-2023). */
export type DataIntegrityAlgorithm = 'Ed25519' | 'P-256' | 'P-384' | 'BLS12-381-G2';

/** Algorithms whose signature is one signature over one message (everything but BBS). */
type SingleMessageAlgorithm = Exclude<DataIntegrityAlgorithm, 'BLS12-381-G2'>;

/**
 * The signer the digitalbazaar suites call: `id` is the verification method URL written into the proof,
 * `algorithm` picks the suite's checks (and the ECDSA hash), `sign` returns the raw signature (Ed25519 64
 * bytes; ECDSA IEEE P1363 `r‖s` over SHA-256 for P-256, SHA-384 for P-384).
 */
export interface DataIntegritySigner {
  readonly id: string;
  readonly algorithm: DataIntegrityAlgorithm;
  sign(input: { data: Uint8Array }): Promise<Uint8Array>;
}

const SIGNATURE_LENGTH: Record<SingleMessageAlgorithm, number> = { Ed25519: 64, 'P-256': 64, 'P-384': 96 };

export function isDataIntegrityAlgorithm(value: unknown): value is DataIntegrityAlgorithm {
  return value === 'Ed25519' || value === 'P-256' || value === 'P-384' || value === 'BLS12-381-G2';
}

/**
 * A signer from a signing function, so the private key stays wherever `sign` keeps it (a KeyStore, an HSM).
 * A signature of the wrong length (a function for another algorithm) is refused rather than embedded.
 */
export function createSigner(input: {
  id: string;
  algorithm: DataIntegrityAlgorithm;
  sign: (message: Uint8Array) => Promise<Uint8Array>;
}): DataIntegritySigner {
  const { id, algorithm, sign } = input;
  if (!isDataIntegrityAlgorithm(algorithm)) {
    throw new CredentialError('invalid-signer', `Unsupported signer algorithm "${String(algorithm)}".`);
  }
  if (algorithm === 'BLS12-381-G2') {
    // A BBS signature covers a header and a list of messages at once, which a sign(message) function cannot do.
    throw new CredentialError(
      'invalid-signer',
      'BLS12-381-G2 keys sign bbs-2023 proofs with multi-message BBS signatures: use createBbsSigner or createKeyStoreBbsSigner.',
    );
  }
  if (!isAbsoluteUrl(id)) {
    throw new CredentialError(
      'invalid-signer',
      `The signer id must be a verification method URL, got "${id}".`,
    );
  }
  return {
    id,
    algorithm,
    async sign({ data }) {
      let signature: Uint8Array;
      try {
        signature = await sign(data);
      } catch (cause) {
        throw new CredentialError('signing-failed', `Signing with "${id}" failed.`, { cause });
      }
      if (signature.length !== SIGNATURE_LENGTH[algorithm]) {
        throw new CredentialError(
          'signing-failed',
          `Signing with "${id}" returned ${signature.length} bytes, not a ${algorithm} signature.`,
        );
      }
      return signature;
    },
  };
}

/** A signer for a KeyStore key: the algorithm comes from the key record, signing happens in the store. */
export async function createKeyStoreSigner(input: {
  keyStore: Pick<KeyStore, 'getKey' | 'sign'>;
  keyId: string;
  verificationMethod: string;
}): Promise<DataIntegritySigner> {
  const { keyStore, keyId, verificationMethod } = input;
  const { algorithm } = await keyStore.getKey(keyId);
  if (!isDataIntegrityAlgorithm(algorithm)) {
    throw new CredentialError(
      'invalid-signer',
      `Key "${keyId}" is ${algorithm}, not Ed25519, P-256, P-384 or BLS12-381-G2.`,
    );
  }
  return createSigner({
    id: verificationMethod,
    algorithm,
    sign: (message) => keyStore.sign(keyId, message),
  });
}

/** A signer over a raw secret key (Ed25519 seed or ECDSA scalar), for tests and tools. */
export function createRawKeySigner(input: {
  id: string;
  algorithm: DataIntegrityAlgorithm;
  secretKey: Uint8Array;
}): DataIntegritySigner {
  const { id, algorithm, secretKey } = input;
  const scheme = signatureScheme(algorithm);
  return createSigner({ id, algorithm, sign: (message) => scheme.sign(secretKey, message) });
}
