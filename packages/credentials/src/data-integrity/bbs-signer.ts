import * as Bls12381Multikey from '@digitalbazaar/bls12-381-multikey';
import { constantTimeEqual, type KeyStore, signatureScheme } from '@personachain/crypto';
import { CredentialError } from '../errors.js';
import type { DataIntegritySigner } from './signer.js';
import { isAbsoluteUrl } from './values.js';

/** What a BBS signature covers: the bbs-2023 header and every non-mandatory statement, one message each. */
export interface BbsMessages {
  header: Uint8Array;
  messages: Uint8Array[];
}

/**
 * The signer bbs-2023 needs: a BBS signature (draft-irtf-cfrg-bbs-signatures, ciphersuite
 * BBS-BLS12-381-SHA-256) covers a header and every non-mandatory statement as separate
 * messages, so a single-message `sign` is not enough. `publicKey` (96-byte compressed G2) is written into
 * the base proof, where the holder needs it to derive BBS proofs.
 */
export interface BbsSigner extends DataIntegritySigner {
  readonly algorithm: 'BLS12-381-G2';
  readonly publicKey: Uint8Array;
  multisign(input: BbsMessages): Promise<Uint8Array>;
}

const BBS_SIGNATURE_LENGTH = 80;

/**
 * A BBS signer over a raw BLS12-381 secret key (the 32-byte big-endian scalar; the same key pair as a
 * `Bls12381G2` Multikey). `publicKey`, when given, must be the secret key's; it is computed otherwise.
 */
export async function createBbsSigner(input: {
  id: string;
  secretKey: Uint8Array;
  publicKey?: Uint8Array;
}): Promise<BbsSigner> {
  const { id, secretKey } = input;
  requireVerificationMethodUrl(id);
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
  return bbsSigner(id, publicKey, (messages) => bbs.multisign(messages));
}

/**
 * A BBS signer for a BLS12-381-G2 KeyStore key: the store signs header and messages (`signMessages`), so
 * the secret key never leaves it. Any other key type is refused.
 */
export async function createKeyStoreBbsSigner(input: {
  keyStore: Pick<KeyStore, 'getKey' | 'signMessages'>;
  keyId: string;
  verificationMethod: string;
}): Promise<BbsSigner> {
  const { keyStore, keyId, verificationMethod } = input;
  requireVerificationMethodUrl(verificationMethod);
  const { algorithm, publicKey } = await keyStore.getKey(keyId);
  if (algorithm !== 'BLS12-381-G2') {
    throw new CredentialError(
      'invalid-signer',
      `Key "${keyId}" is ${algorithm}: bbs-2023 signs with BLS12-381-G2 keys.`,
    );
  }
  return bbsSigner(verificationMethod, publicKey, (messages) => keyStore.signMessages(keyId, messages));
}

/** What every BBS signer does around the signing call: typed errors and the signature-length check. */
function bbsSigner(
  id: string,
  publicKey: Uint8Array,
  sign: (input: BbsMessages) => Promise<Uint8Array>,
): BbsSigner {
  const multisign = async (input: BbsMessages) => {
    let signature: Uint8Array;
    try {
      signature = await sign(input);
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
    // The suite signs through `multisign`; one opaque message has no header/messages split to sign.
    sign: async () => {
      throw new CredentialError('invalid-signer', 'A BBS signer signs a header and messages: use multisign.');
    },
  };
}

function requireVerificationMethodUrl(id: string): void {
  if (!isAbsoluteUrl(id)) {
    throw new CredentialError(
      'invalid-signer',
      `The signer id must be a verification method URL, got "${id}".`,
    );
  }
}

export function isBbsSigner(signer: DataIntegritySigner): signer is BbsSigner {
  const candidate = signer as Partial<BbsSigner>;
  return (
    signer.algorithm === 'BLS12-381-G2' &&
    candidate.publicKey instanceof Uint8Array &&
    typeof candidate.multisign === 'function'
  );
}
