import { signatureScheme } from '@personachain/crypto';
import {
  type BuiltOperation,
  buildPersonaCreate,
  createDidKey,
  decodeDidKey,
  type GuardianKeys,
  type GuardianSigner,
  type LoggedOperation,
  personaOperationDid,
  type RotationKeySigner,
  rawRotationKeySigner,
} from '../src/index.js';

export const ed25519 = signatureScheme('Ed25519');
export const mlDsa65 = signatureScheme('ML-DSA-65');

export async function ed25519Signer(): Promise<RotationKeySigner> {
  return rawRotationKeySigner({ ed25519: (await ed25519.generateKeyPair()).secretKey });
}

export async function hybridSigner(): Promise<RotationKeySigner> {
  return rawRotationKeySigner({
    ed25519: (await ed25519.generateKeyPair()).secretKey,
    mlDsa65: (await mlDsa65.generateKeyPair()).secretKey,
  });
}

/** A guardian that is a did:key (Ed25519); its key is its DID's only key. */
export async function guardian(): Promise<GuardianSigner> {
  const { publicKey, secretKey } = await ed25519.generateKeyPair();
  const did = createDidKey('Ed25519', publicKey);
  return { did, key: decodeDidKey(did).multibase, sign: (message) => ed25519.sign(secretKey, message) };
}

/** Guardian keys the way a did:key resolves: the key inside the DID. */
export const didKeyGuardianKeys: GuardianKeys = async (did) => [decodeDidKey(did).multibase];

/**
 * A stand-in for the ledger: one shared, append-only list of opaque entries with an index and an
 * integration time (seconds), of which a DID's history is the entries that name it.
 */
export class TestLedger {
  readonly entries: LoggedOperation[] = [];
  now = 1_767_225_600; // 2026-01-01T00:00:00Z

  append(bytes: Uint8Array, advanceSeconds = 60): LoggedOperation {
    this.now += advanceSeconds;
    const entry = { bytes, ledgerIndex: this.entries.length, integratedAt: this.now };
    this.entries.push(entry);
    return entry;
  }

  appendOperation(built: BuiltOperation, advanceSeconds = 60): LoggedOperation {
    return this.append(built.bytes, advanceSeconds);
  }

  async history(did: string): Promise<LoggedOperation[]> {
    const history: LoggedOperation[] = [];
    for (const entry of this.entries) {
      const owner = await personaOperationDid(entry.bytes).catch(() => undefined);
      if (owner === did) history.push(entry);
    }
    return history;
  }
}

export async function createOn(
  ledger: TestLedger,
  input: Parameters<typeof buildPersonaCreate>[0],
  signer: RotationKeySigner,
) {
  const built = await buildPersonaCreate(input, signer);
  ledger.appendOperation(built);
  return built;
}
