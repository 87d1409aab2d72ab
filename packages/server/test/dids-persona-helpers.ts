import {
  type BuiltOperation,
  canonicalJson,
  createDidKey,
  decodeDidKey,
  type GuardianSigner,
  type RotationKeySigner,
  rawRotationKeySigner,
} from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';

const ed25519 = signatureScheme('Ed25519');
const mlDsa65 = signatureScheme('ML-DSA-65');

/** A wallet-side rotation key: raw secret keys that never reach the server. */
export async function ed25519Signer(): Promise<RotationKeySigner> {
  return rawRotationKeySigner({ ed25519: (await ed25519.generateKeyPair()).secretKey });
}

export async function hybridSigner(): Promise<RotationKeySigner> {
  return rawRotationKeySigner({
    ed25519: (await ed25519.generateKeyPair()).secretKey,
    mlDsa65: (await mlDsa65.generateKeyPair()).secretKey,
  });
}

/** A guardian that is a did:key: its only key is the one in its DID. */
export async function guardian(): Promise<GuardianSigner> {
  const { publicKey, secretKey } = await ed25519.generateKeyPair();
  const did = createDidKey('Ed25519', publicKey);
  return { did, key: decodeDidKey(did).multibase, sign: (message) => ed25519.sign(secretKey, message) };
}

/** The API body for an operation. */
export function body(built: Pick<BuiltOperation, 'bytes'>): { operation: string } {
  return { operation: Buffer.from(built.bytes).toString('base64url') };
}

/** The ledger entry of an operation as docs/did-persona.md §6.1 frames it. */
export function framedEntry(did: string, operation: unknown, integrated: string): Uint8Array {
  return canonicalJson({ at: Date.parse(integrated) / 1000, did, op: operation, type: 'did:persona/op' });
}
