import { concatBytes } from '@noble/hashes/utils.js';
import { AES_GCM_KEY_LENGTH, AeadKey } from '../aead.js';
import { constantTimeEqual } from '../compare.js';
import { CryptoError } from '../errors.js';
import { randomBytes } from '../random.js';
import {
  ENVELOPE_TYPE_MULTI,
  ENVELOPE_TYPE_SINGLE,
  fixedHeader,
  MAX_RECIPIENTS,
  parseEnvelope,
  type RecipientEntry,
} from './format.js';
import { asBytes } from './hpke-adapters.js';
import {
  type EnvelopeBackend,
  type EnvelopeSuite,
  type EnvelopeSuiteName,
  envelopeKeyId,
  envelopeSuite,
} from './suites.js';

/** HPKE `info` of every envelope (format version 1). */
export const ENVELOPE_HPKE_INFO = new TextEncoder().encode('PersonaChain envelope v1');

/** A recipient's public key, raw: X-Wing 1216 bytes (pk_M ‖ pk_X), DHKEM-X25519 32 bytes. */
export interface EnvelopeRecipient {
  suite: EnvelopeSuiteName;
  publicKey: Uint8Array;
}

/** A recipient key pair, raw: the secret key is 32 bytes for both suites (the X-Wing seed). */
export interface EnvelopeKeyPair extends EnvelopeRecipient {
  secretKey: Uint8Array;
  /** envelopeKeyId(suite, publicKey). */
  keyId: Uint8Array;
}

export interface EnvelopeOptions {
  /** Application context bound to the envelope; the same bytes must be given to open it. Not stored. */
  aad?: Uint8Array;
  /** X-Wing implementation (tests and benchmarks compare them); the default is native where possible. */
  backend?: EnvelopeBackend;
}

async function keyPairFrom(
  suite: EnvelopeSuite,
  pair: Awaited<ReturnType<EnvelopeSuite['kem']['generateKeyPair']>>,
) {
  const publicKey = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  const secretKey = new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey));
  return { suite: suite.name, publicKey, secretKey, keyId: envelopeKeyId(suite.name, publicKey) };
}

/** A fresh recipient key pair; X-Wing unless said otherwise. */
export async function generateEnvelopeKeyPair(
  suite: EnvelopeSuiteName = 'X-Wing',
  options: Pick<EnvelopeOptions, 'backend'> = {},
): Promise<EnvelopeKeyPair> {
  const hpkeSuite = envelopeSuite(suite, options.backend);
  return keyPairFrom(hpkeSuite, await hpkeSuite.kem.generateKeyPair());
}

/** RFC 9180 DeriveKeyPair: the same input keying material (≥ 32 secret bytes) always gives the same pair. */
export async function deriveEnvelopeKeyPair(
  suite: EnvelopeSuiteName,
  ikm: Uint8Array,
  options: Pick<EnvelopeOptions, 'backend'> = {},
): Promise<EnvelopeKeyPair> {
  if (ikm.length < 32)
    throw new CryptoError('invalid-argument', 'DeriveKeyPair needs at least 32 bytes of ikm');
  const hpkeSuite = envelopeSuite(suite, options.backend);
  return keyPairFrom(hpkeSuite, await hpkeSuite.kem.deriveKeyPair(ikm));
}

async function hpkeSeal(
  suite: EnvelopeSuite,
  publicKey: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<{ enc: Uint8Array; sealed: Uint8Array }> {
  const recipientPublicKey = await suite.importPublicKey(publicKey);
  try {
    const { enc, ct } = await suite.hpke.seal(
      { recipientPublicKey, info: ENVELOPE_HPKE_INFO },
      plaintext,
      aad,
    );
    return { enc: new Uint8Array(enc), sealed: new Uint8Array(ct) };
  } catch (cause) {
    if (cause instanceof CryptoError) throw cause;
    // The key parsed, but the KEM refused it: e.g. a low-order X25519 point gives an all-zero secret.
    throw new CryptoError('invalid-key', `envelope: the ${suite.name} public key is unusable`, { cause });
  }
}

async function hpkeOpen(suite: EnvelopeSuite, secretKey: Uint8Array, entry: RecipientEntry, aad: Uint8Array) {
  const recipientKey = await suite.importPrivateKey(secretKey);
  try {
    const opened = await suite.hpke.open(
      { recipientKey, enc: entry.enc, info: ENVELOPE_HPKE_INFO },
      entry.sealed,
      aad,
    );
    return new Uint8Array(opened);
  } catch (cause) {
    throw new CryptoError('decryption-failed', 'envelope: wrong key or tampered envelope', { cause });
  }
}

function checkRecipient(recipient: EnvelopeRecipient): EnvelopeSuite {
  if (!recipient || !(recipient.publicKey instanceof Uint8Array)) {
    throw new CryptoError('invalid-key', 'envelope: a recipient needs a publicKey');
  }
  return envelopeSuite(recipient.suite);
}

/**
 * Encrypts `plaintext` to one recipient: a single-recipient envelope (type 0x01). The header (version,
 * type, suite, recipient key id) and `options.aad` are the HPKE AAD; `enc` is bound by the KEM.
 */
export async function sealEnvelope(
  recipient: EnvelopeRecipient,
  plaintext: Uint8Array,
  options: EnvelopeOptions = {},
): Promise<Uint8Array> {
  const suite = envelopeSuite(checkRecipient(recipient).name, options.backend);
  const header = concatBytes(
    fixedHeader(ENVELOPE_TYPE_SINGLE, suite.definition.kemId),
    envelopeKeyId(suite.name, recipient.publicKey),
  );
  const { enc, sealed } = await hpkeSeal(
    suite,
    recipient.publicKey,
    plaintext,
    concatBytes(header, options.aad ?? new Uint8Array(0)),
  );
  return concatBytes(header, enc, sealed);
}

/**
 * Encrypts `plaintext` once, under a random AES-256-GCM data key, and HPKE-seals that key to each
 * recipient (all of one suite): a multi-recipient envelope (type 0x02). Any one recipient can open it.
 */
export async function sealMultiRecipientEnvelope(
  recipients: readonly EnvelopeRecipient[],
  plaintext: Uint8Array,
  options: EnvelopeOptions = {},
): Promise<Uint8Array> {
  if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
    throw new CryptoError('invalid-argument', `an envelope has 1 to ${MAX_RECIPIENTS} recipients`);
  }
  const suiteName = checkRecipient(recipients[0] as EnvelopeRecipient).name;
  const suite = envelopeSuite(suiteName, options.backend);
  const prefix = concatBytes(
    fixedHeader(ENVELOPE_TYPE_MULTI, suite.definition.kemId),
    Uint8Array.of(recipients.length),
  );
  const dataKey = randomBytes(AES_GCM_KEY_LENGTH);
  const entries: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const recipient of recipients) {
    if (checkRecipient(recipient).name !== suiteName) {
      throw new CryptoError('invalid-argument', 'all recipients of one envelope must use the same suite');
    }
    const keyId = envelopeKeyId(suiteName, recipient.publicKey);
    const idText = keyId.join(',');
    if (seen.has(idText)) throw new CryptoError('invalid-argument', 'the same recipient key is listed twice');
    seen.add(idText);
    const { enc, sealed } = await hpkeSeal(suite, recipient.publicKey, dataKey, concatBytes(prefix, keyId));
    entries.push(keyId, enc, sealed);
  }
  const header = concatBytes(prefix, ...entries);
  // One data key encrypts exactly one payload, so the random-nonce limit is never near.
  const payload = await new AeadKey(dataKey, { usageLimit: 1 }).encrypt(
    plaintext,
    concatBytes(header, options.aad ?? new Uint8Array(0)),
  );
  dataKey.fill(0);
  return concatBytes(header, payload);
}

/**
 * Opens a single- or multi-recipient envelope with one recipient's key pair. Errors (all CryptoError):
 * 'unsupported-algorithm' (unknown version, type or suite), 'malformed-input' (truncated, garbled),
 * 'decryption-failed' (not addressed to this key, wrong key, tampered bytes or a different `aad`).
 * Nothing is returned unless the whole envelope authenticates.
 */
export async function openEnvelope(
  keyPair: EnvelopeRecipient & { secretKey: Uint8Array },
  envelope: Uint8Array,
  options: EnvelopeOptions = {},
): Promise<Uint8Array> {
  const parsed = parseEnvelope(envelope);
  if (!keyPair || !(keyPair.secretKey instanceof Uint8Array)) {
    throw new CryptoError('invalid-key', 'envelope: opening needs a key pair with its secretKey');
  }
  checkRecipient(keyPair);
  if (parsed.suite !== keyPair.suite) {
    throw new CryptoError(
      'decryption-failed',
      `envelope: sealed with ${parsed.suite}, this key is ${keyPair.suite}`,
    );
  }
  const suite = envelopeSuite(parsed.suite, options.backend);
  const ownId = envelopeKeyId(suite.name, keyPair.publicKey);
  const entry = parsed.recipients.find((candidate) => constantTimeEqual(candidate.keyId, ownId));
  if (!entry) throw new CryptoError('decryption-failed', 'envelope: not addressed to this key');
  const appAad = options.aad ?? new Uint8Array(0);

  if (parsed.type === 'single') {
    return hpkeOpen(suite, keyPair.secretKey, entry, concatBytes(entry.hpkeAad, appAad));
  }
  const dataKey = await hpkeOpen(suite, keyPair.secretKey, entry, entry.hpkeAad);
  try {
    return await new AeadKey(dataKey).decrypt(parsed.payload, concatBytes(parsed.header, appAad));
  } finally {
    dataKey.fill(0);
  }
}

/** What an envelope says about itself, without decrypting (e.g. to pick the key to open it with). */
export interface EnvelopeInfo {
  version: number;
  type: 'single' | 'multi';
  suite: EnvelopeSuiteName;
  recipientKeyIds: Uint8Array[];
}

export function inspectEnvelope(envelope: Uint8Array): EnvelopeInfo {
  const parsed = parseEnvelope(asBytes(envelope));
  return {
    version: parsed.version,
    type: parsed.type,
    suite: parsed.suite,
    recipientKeyIds: parsed.recipients.map((entry) => entry.keyId.slice()),
  };
}
