import { sha256 } from '@noble/hashes/sha2.js';
import {
  deriveEnvelopeKeyPair,
  type EnvelopeKeyPair,
  hkdfSha256,
  randomBytes,
  signatureScheme,
} from '@personachain/crypto';
import { b64u, decodeField } from './encoding.js';
import { VaultFormatError } from './errors.js';

/** A member's public keys: where data keys are sealed to, and what checks its signatures. All base64url. */
export interface MemberPublicKeys {
  /** X-Wing (ML-KEM-768 + X25519) HPKE public key, 1,216 bytes. */
  encryptionKey: string;
  /** Ed25519 public key, 32 bytes. */
  ed25519: string;
  /** ML-DSA-65 public key, 1,952 bytes. */
  mlDsa65: string;
}

/** Both halves of a hybrid signature, base64url; a signature counts only when both verify. */
export interface HybridSignature {
  ed25519: string;
  mlDsa65: string;
}

/** What a signature is for; part of the signed bytes, so a signature for one purpose is void for another. */
export type SigningDomain = 'manifest' | 'session' | 'recovery-approval' | 'access-approval';

export const KEY_LENGTHS = { encryptionKey: 1216, ed25519: 32, mlDsa65: 1952 } as const;
const SIGNATURE_LENGTHS = { ed25519: 64, mlDsa65: 3309 } as const;
const SEED_LENGTH = 32;

const encoder = new TextEncoder();
const KEY_ID_DOMAIN = encoder.encode('persona-vault/v1 member key\n');

function signingBytes(domain: SigningDomain, message: Uint8Array): Uint8Array {
  const tag = encoder.encode(`persona-vault/v1 ${domain}\n`);
  const bytes = new Uint8Array(tag.length + message.length);
  bytes.set(tag);
  bytes.set(message, tag.length);
  return bytes;
}

/** Checks a public key set (types and exact lengths) and returns it with only its three fields. */
export function checkMemberPublicKeys(keys: unknown, path = ''): MemberPublicKeys {
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new VaultFormatError('expected an object with encryptionKey, ed25519 and mlDsa65', path || '/');
  }
  const record = keys as Record<string, unknown>;
  for (const field of Object.keys(KEY_LENGTHS) as (keyof typeof KEY_LENGTHS)[]) {
    const length = KEY_LENGTHS[field];
    decodeField(record[field], `${path}/${field}`, { min: length, max: length });
  }
  return {
    encryptionKey: record.encryptionKey as string,
    ed25519: record.ed25519 as string,
    mlDsa65: record.mlDsa65 as string,
  };
}

/**
 * `vk_` + the first 16 bytes of SHA-256 over all three public keys: self-certifying, so whoever hands out
 * keys for an id (the server) cannot swap them without the id changing.
 */
export function memberKeyId(keys: MemberPublicKeys): string {
  const hash = sha256
    .create()
    .update(KEY_ID_DOMAIN)
    .update(b64u.decode(keys.encryptionKey))
    .update(b64u.decode(keys.ed25519))
    .update(b64u.decode(keys.mlDsa65))
    .digest();
  return `vk_${b64u.encode(hash.subarray(0, 16))}`;
}

export const MEMBER_KEY_ID_PATTERN = /^vk_[A-Za-z0-9_-]{22}$/;

/** Verifies a hybrid signature: true only when both the Ed25519 and the ML-DSA-65 halves verify. */
export async function verifyHybrid(
  keys: MemberPublicKeys,
  domain: SigningDomain,
  message: Uint8Array,
  signature: HybridSignature,
): Promise<boolean> {
  let ed: Uint8Array;
  let ml: Uint8Array;
  try {
    ed = decodeField(signature?.ed25519, '/ed25519', {
      min: SIGNATURE_LENGTHS.ed25519,
      max: SIGNATURE_LENGTHS.ed25519,
    });
    ml = decodeField(signature?.mlDsa65, '/mlDsa65', {
      min: SIGNATURE_LENGTHS.mlDsa65,
      max: SIGNATURE_LENGTHS.mlDsa65,
    });
  } catch {
    return false;
  }
  const bytes = signingBytes(domain, message);
  const [edValid, mlValid] = await Promise.all([
    signatureScheme('Ed25519').verify(b64u.decode(keys.ed25519), bytes, ed),
    signatureScheme('ML-DSA-65').verify(b64u.decode(keys.mlDsa65), bytes, ml),
  ]);
  return edValid && mlValid;
}

type Signer = (message: Uint8Array) => Promise<Uint8Array>;

function derive(seed: Uint8Array, purpose: string): Uint8Array {
  return hkdfSha256(seed, undefined, encoder.encode(`persona-vault/v1 key ${purpose}`), SEED_LENGTH);
}

/**
 * A member's (or a guardian's) secret keys: an X-Wing key pair to open sealed data keys and an Ed25519 +
 * ML-DSA-65 pair to sign, all derived with HKDF-SHA-256 from one 32-byte seed. The seed is the whole
 * secret: it is what recovery splits among guardians, and what a member must keep safe.
 */
export class MemberKeys {
  private constructor(
    readonly seed: Uint8Array,
    readonly encryption: EnvelopeKeyPair,
    readonly publicKeys: MemberPublicKeys,
    readonly keyId: string,
    private readonly signers: { ed25519: Signer; mlDsa65: Signer },
  ) {}

  static generate(): Promise<MemberKeys> {
    return MemberKeys.fromSeed(randomBytes(SEED_LENGTH));
  }

  static async fromSeed(seed: Uint8Array): Promise<MemberKeys> {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
      throw new VaultFormatError(`a member key seed is ${SEED_LENGTH} bytes`);
    }
    const ed25519 = signatureScheme('Ed25519');
    const mlDsa65 = signatureScheme('ML-DSA-65');
    const edSecret = derive(seed, 'ed25519');
    const mlSecret = derive(seed, 'ml-dsa-65');
    const [encryption, edPublic, mlPublic, edSigner, mlSigner] = await Promise.all([
      deriveEnvelopeKeyPair('X-Wing', derive(seed, 'x-wing')),
      ed25519.publicKeyFromSecretKey(edSecret),
      mlDsa65.publicKeyFromSecretKey(mlSecret),
      ed25519.signerFor(edSecret),
      mlDsa65.signerFor(mlSecret),
    ]);
    edSecret.fill(0);
    mlSecret.fill(0);
    const publicKeys: MemberPublicKeys = {
      encryptionKey: b64u.encode(encryption.publicKey),
      ed25519: b64u.encode(edPublic),
      mlDsa65: b64u.encode(mlPublic),
    };
    return new MemberKeys(seed.slice(), encryption, publicKeys, memberKeyId(publicKeys), {
      ed25519: edSigner,
      mlDsa65: mlSigner,
    });
  }

  /** Signs `message` for `domain` with both keys. */
  async sign(domain: SigningDomain, message: Uint8Array): Promise<HybridSignature> {
    const bytes = signingBytes(domain, message);
    const [ed, ml] = await Promise.all([this.signers.ed25519(bytes), this.signers.mlDsa65(bytes)]);
    return { ed25519: b64u.encode(ed), mlDsa65: b64u.encode(ml) };
  }
}
