import {
  decodePublicKeyMultibase,
  encodePublicKeyMultibase,
  type KeyStore,
  type SignatureAlgorithm,
  signatureAlgorithms,
  signatureScheme,
} from '@personachain/crypto';
import { base64urlnopad } from '@scure/base';
import { canonicalJson } from './canonical-json.js';
import { PersonaError } from './errors.js';
import type {
  GuardianSignature,
  Guardians,
  PersonaOperation,
  RotationKey,
  RotationSignature,
} from './types.js';

/**
 * Every signature of an operation (each half of a hybrid rotation signature, each guardian's) is over
 * the same bytes: this domain tag, then the canonical JSON of the operation without `sig` and
 * `guardianSigs`. The tag keeps a did:persona signature from being valid for anything else the key
 * signs (eddsa-jcs-2022 proofs also sign canonical JSON).
 */
export const SIGNING_DOMAIN = 'did:persona/v1 operation\n';

export type SignFunction = (message: Uint8Array) => Promise<Uint8Array>;

/** Signs with a rotation key: one function per half, so the private keys can stay in a KeyStore or HSM. */
export interface RotationKeySigner {
  key: RotationKey;
  ed25519: SignFunction;
  /** Required when `key` is hybrid. */
  mlDsa65?: SignFunction;
}

/** Signs for a guardian DID with one of its keys (a Multikey its DID document lists). */
export interface GuardianSigner {
  did: string;
  key: string;
  sign: SignFunction;
}

/** Where guardian keys come from: the caller resolves the guardian's DID (as of the request's time). */
export type GuardianKeys = (
  did: string,
  context: { ledgerIndex: number; integratedAt: number },
) => Promise<readonly string[]>;

type Unsigned<T> = T extends unknown ? Omit<T, 'sig' | 'guardianSigs'> : never;
export type UnsignedOperation = Unsigned<PersonaOperation>;

export function signingInput(operation: UnsignedOperation | PersonaOperation): Uint8Array {
  const {
    sig: _sig,
    guardianSigs: _guardianSigs,
    ...unsigned
  } = operation as Partial<PersonaOperation> & {
    sig?: unknown;
    guardianSigs?: unknown;
  };
  const body = canonicalJson(unsigned);
  const domain = new TextEncoder().encode(SIGNING_DOMAIN);
  const input = new Uint8Array(domain.length + body.length);
  input.set(domain);
  input.set(body, domain.length);
  return input;
}

async function safeVerify(
  algorithm: SignatureAlgorithm,
  publicKeyMultibase: string,
  input: Uint8Array,
  signature: string,
): Promise<boolean> {
  try {
    const { publicKey } = decodePublicKeyMultibase(publicKeyMultibase, algorithm);
    return await signatureScheme(algorithm).verify(publicKey, input, base64urlnopad.decode(signature));
  } catch {
    // A malformed key or a signature of impossible length verifies nothing.
    return false;
  }
}

/**
 * Checks that `sig` is by one of `authorized`, with both halves when that key is hybrid. `who` names
 * the authority in errors ("a current rotation key", …).
 */
export async function verifyRotationSignature(
  sig: RotationSignature,
  input: Uint8Array,
  authorized: readonly RotationKey[],
  who: string,
  index: number,
): Promise<void> {
  const key = authorized.find((candidate) => candidate.ed25519 === sig.key);
  if (!key) throw new PersonaError('unauthorized', `the operation is not signed by ${who}`, index);
  if (key.mlDsa65 !== undefined && sig.mlDsa65 === undefined) {
    throw new PersonaError(
      'missing-signature',
      'the rotation key is hybrid but the ML-DSA-65 signature is missing',
      index,
    );
  }
  if (key.mlDsa65 === undefined && sig.mlDsa65 !== undefined) {
    throw new PersonaError(
      'malformed',
      'an ML-DSA-65 signature for a rotation key without an ML-DSA-65 half',
      index,
    );
  }
  if (!(await safeVerify('Ed25519', key.ed25519, input, sig.ed25519))) {
    throw new PersonaError('invalid-signature', 'the Ed25519 signature does not verify', index);
  }
  if (
    key.mlDsa65 !== undefined &&
    !(await safeVerify('ML-DSA-65', key.mlDsa65, input, sig.mlDsa65 as string))
  ) {
    throw new PersonaError('invalid-signature', 'the ML-DSA-65 signature does not verify', index);
  }
}

/**
 * Checks every guardian signature of a recovery request and that at least `threshold` distinct guardians
 * signed. One bad signature fails the request (a request is signed once and never changes, so a bad
 * signature means a broken or forged request, not one to salvage).
 */
export async function verifyGuardianSignatures(
  sigs: readonly GuardianSignature[],
  input: Uint8Array,
  guardians: Guardians,
  guardianKeys: GuardianKeys,
  context: { ledgerIndex: number; integratedAt: number },
  index: number,
): Promise<void> {
  const seen = new Set<string>();
  for (const { did, key, sig } of sigs) {
    if (!guardians.dids.includes(did))
      throw new PersonaError('unauthorized', `${did} is not a guardian`, index);
    if (seen.has(did)) throw new PersonaError('malformed', `guardian ${did} signed twice`, index);
    seen.add(did);
    let keys: readonly string[];
    try {
      keys = await guardianKeys(did, context);
    } catch (error) {
      throw new PersonaError(
        'guardian-keys-failed',
        `the keys of guardian ${did} could not be resolved`,
        index,
        {
          cause: error,
        },
      );
    }
    if (!keys.includes(key))
      throw new PersonaError('unauthorized', `${key} is not a key of guardian ${did}`, index);
    const { algorithm } = decodePublicKeyMultibase(key);
    if (!(signatureAlgorithms as readonly string[]).includes(algorithm)) {
      throw new PersonaError(
        'unauthorized',
        `guardian ${did} signed with a ${algorithm} key, not a signature key`,
        index,
      );
    }
    if (!(await safeVerify(algorithm as SignatureAlgorithm, key, input, sig))) {
      throw new PersonaError('invalid-signature', `the signature of guardian ${did} does not verify`, index);
    }
  }
  if (seen.size < guardians.threshold) {
    throw new PersonaError(
      'recovery-threshold',
      `${seen.size} guardian signature(s); the threshold is ${guardians.threshold} of ${guardians.dids.length}`,
      index,
    );
  }
}

async function callSigner(sign: SignFunction, input: Uint8Array, what: string): Promise<string> {
  try {
    return base64urlnopad.encode(await sign(input));
  } catch (error) {
    throw new PersonaError('signing-failed', `the ${what} signer failed`, undefined, { cause: error });
  }
}

export async function rotationSignature(
  signer: RotationKeySigner,
  input: Uint8Array,
): Promise<RotationSignature> {
  const sig: RotationSignature = {
    key: signer.key.ed25519,
    ed25519: await callSigner(signer.ed25519, input, 'Ed25519'),
  };
  if (signer.key.mlDsa65 !== undefined) {
    if (!signer.mlDsa65) {
      throw new PersonaError(
        'missing-signature',
        'the rotation key is hybrid: an ML-DSA-65 signer is required',
      );
    }
    sig.mlDsa65 = await callSigner(signer.mlDsa65, input, 'ML-DSA-65');
  }
  return sig;
}

export async function guardianSignature(
  signer: GuardianSigner,
  input: Uint8Array,
): Promise<GuardianSignature> {
  return {
    did: signer.did,
    key: signer.key,
    sig: await callSigner(signer.sign, input, `guardian ${signer.did}`),
  };
}

/** A rotation key signer over raw secret keys (the Ed25519 seed, the ML-DSA-65 seed); for tests and tools. */
export async function rawRotationKeySigner(secretKeys: {
  ed25519: Uint8Array;
  mlDsa65?: Uint8Array;
}): Promise<RotationKeySigner> {
  const ed = signatureScheme('Ed25519');
  const key: RotationKey = {
    ed25519: encodePublicKeyMultibase('Ed25519', await ed.publicKeyFromSecretKey(secretKeys.ed25519)),
  };
  const signer: RotationKeySigner = { key, ed25519: (message) => ed.sign(secretKeys.ed25519, message) };
  const mlDsaSecret = secretKeys.mlDsa65;
  if (mlDsaSecret !== undefined) {
    const ml = signatureScheme('ML-DSA-65');
    key.mlDsa65 = encodePublicKeyMultibase('ML-DSA-65', await ml.publicKeyFromSecretKey(mlDsaSecret));
    signer.mlDsa65 = (message) => ml.sign(mlDsaSecret, message);
  }
  return signer;
}

/** A rotation key signer over KeyStore keys (an Ed25519 key and, for a hybrid key, an ML-DSA-65 key). */
export async function keyStoreRotationKeySigner(
  keyStore: Pick<KeyStore, 'getKey' | 'sign'>,
  keyIds: { ed25519: string; mlDsa65?: string },
): Promise<RotationKeySigner> {
  const publicKey = async (id: string, algorithm: SignatureAlgorithm) => {
    const record = await keyStore.getKey(id);
    if (record.algorithm !== algorithm) {
      throw new PersonaError('malformed', `key ${id} is ${record.algorithm}, not ${algorithm}`);
    }
    return encodePublicKeyMultibase(algorithm, record.publicKey);
  };
  const key: RotationKey = { ed25519: await publicKey(keyIds.ed25519, 'Ed25519') };
  const signer: RotationKeySigner = { key, ed25519: (message) => keyStore.sign(keyIds.ed25519, message) };
  const mlDsaId = keyIds.mlDsa65;
  if (mlDsaId !== undefined) {
    key.mlDsa65 = await publicKey(mlDsaId, 'ML-DSA-65');
    signer.mlDsa65 = (message) => keyStore.sign(mlDsaId, message);
  }
  return signer;
}
