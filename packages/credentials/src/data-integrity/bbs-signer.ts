import * as Bls12381Multikey from '@digitalbazaar/bls12-381-multikey';
import { constantTimeEqual, signatureScheme } from '@personachain/crypto';
import { CredentialError } from '../errors.js';
import type { DataIntegritySigner } from './signer.js';
import { isAbsoluteUrl } from './values.js';

/**
 * The signer bbs-2023 needs: a BBS signature (draft-irtf-cfrg-bbs-signatures, ciphersuite
 * BBS-BLS12-381-SHA-256) covers a header and every non-mandatory statement as separate
 * messages, so a single-message `sign` is not enough. `publicKey` (96-byte compressed G2) is written into
 * the base proof, where the holder needs it to derive BBS proofs.
 */
export interface BbsSigner extends DataIntegritySigner {
  readonly algorithm: 'BLS12-381-G2';
  readonly publicKey: Uint8Array;
  multisign(input: { header: Uint8Array; messages: Uint8Array[] }): Promise<Uint8Array>;
}

const BBS_SIGNATURE_LENGTH = 80;

/**
 * A BBS signer over a raw BLS12-381 secret key (the 32-byte big-endian scalar; the same key pair as a
 * `Bls12381G2` Multikey). `publicKey`, when given, must be the secret key's; it is computed otherwise.
 * A KeyStore-held key cannot be used yet: the KeyStore signs single messages only.
 */
export async function createBbsSigner(input: {
  id: string;
  secretKey: Uint8Array;
  publicKey?: Uint8Array;
}): Promise<BbsSigner> {
  const { id, secretKey } = input;
  if (!isAbsoluteUrl(id)) {
    throw new CredentialError(
      'invalid-signer',
      `The signer id must be a verification method URL, got "${id}".`,
    );
  }
  let publicKey: Uint8Array;
  try {
    publicKey = await signatureScheme('BLS12-381-G2').publicKeyFromSecretKey(secretKey);
  } catch (cause) {
    throw new CredentialError('invalid-signer', 'The BBS secret key is not a BLS12-381 scalar.', { cause });
  }
  if (input.publicKey !== undefined && !constantTimeEqual(input.publicKey, publicKey)) {
    throw new CredentialError('invalid-signer', 'The BBS public key does not belong to the secret key.');
  }
  const keyPair = await Bls12381Multikey.fromRaw({
    algorithm: Bls12381Multikey.ALGORITHMS.BBS_BLS12381_SHA256,
    secretKey,
    publicKey,
  });
  const bbs = keyPair.signer();
  const multisign = async (input: { header: Uint8Array; messages: Uint8Array[] }) => {
    let signature: Uint8Array;
    try {
      signature = await bbs.multisign(input);
    } catch (cause) {
      throw new CredentialError('signing-failed', `BBS signing with "${id}" failed.`, { cause });
    }
    if (signature.length !== BBS_SIGNATURE_LENGTH) {
      throw new CredentialError(
        'signing-failed',
        `BBS signing with "${id}" returned ${signature.length} bytes.`,
      );
    }
    return signature;
  };
  return {
    id,
    algorithm: 'BLS12-381-G2',
    publicKey,
    multisign,
    // The library's single-input form: `data` is CBOR([header, messages]). The suite calls `multisign`.
    sign: ({ data }) => bbs.sign({ data }),
  };
}

export function isBbsSigner(signer: DataIntegritySigner): signer is BbsSigner {
  const candidate = signer as Partial<BbsSigner>;
  return (
    signer.algorithm === 'BLS12-381-G2' &&
    candidate.publicKey instanceof Uint8Array &&
    typeof candidate.multisign === 'function'
  );
}
