import { constantTimeEqual, envelopeKeyId, fromBase64Url, inspectEnvelope } from '@personachain/crypto';
import {
  checkMemberPublicKeys,
  type MemberPublicKeys,
  memberKeyId,
  VaultFormatError,
} from '@personachain/vaults';
import { invalidField } from '../../http/problem.js';

/*
 * What the server can check of what it relays without opening anything: that a sealed share is an X-Wing
 * envelope addressed to the key it claims to be for, that public keys are well formed, and that a setup is
 * consistent. It never holds a key that opens a share.
 */

/** An X-Wing public key (ML-KEM-768 ‖ X25519). */
export const EPHEMERAL_KEY_BYTES = 1216;

export interface CheckedGuardian {
  subject: string;
  publicKeys: MemberPublicKeys;
  keyId: string;
  sealedShare: Uint8Array;
}

export interface SetupInput {
  threshold: number;
  guardians: { subject: string; publicKeys: MemberPublicKeys; sealedShare: string }[];
}

/** Decodes a base64url field of a request body, or answers 400 naming it. */
export function decodeField(subject: string, pointer: string, text: string): Uint8Array {
  try {
    return fromBase64Url(text);
  } catch {
    throw invalidField(subject, pointer, 'is not base64url (RFC 4648 §5, no padding)');
  }
}

/** Whether `envelope` is a single-recipient X-Wing envelope addressed to `publicKey`. */
export function sealedTo(envelope: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    const info = inspectEnvelope(envelope);
    const [recipient] = info.recipientKeyIds;
    return (
      info.type === 'single' &&
      info.suite === 'X-Wing' &&
      recipient !== undefined &&
      constantTimeEqual(recipient, envelopeKeyId('X-Wing', publicKey))
    );
  } catch {
    return false;
  }
}

/**
 * Checks a recovery setup: threshold within the guardians, distinct guardians other than the owner, well
 * formed keys, and each share an envelope sealed to its guardian's encryption key, all of one length (the
 * shares of one split are).
 */
export function checkSetup(owner: string, input: SetupInput): CheckedGuardian[] {
  const what = 'The recovery setup';
  if (input.threshold > input.guardians.length) {
    throw invalidField(
      what,
      '#/threshold',
      `must not exceed the number of guardians (${input.guardians.length})`,
    );
  }
  const subjects = new Set<string>();
  const keyIds = new Set<string>();
  const checked = input.guardians.map((guardian, i): CheckedGuardian => {
    const at = `#/guardians/${i}`;
    if (guardian.subject === owner) {
      throw invalidField(what, `${at}/subject`, 'is the vault’s owner: guardians are other people');
    }
    if (subjects.has(guardian.subject)) throw invalidField(what, `${at}/subject`, 'is listed twice');
    subjects.add(guardian.subject);
    let publicKeys: MemberPublicKeys;
    try {
      publicKeys = checkMemberPublicKeys(guardian.publicKeys);
    } catch (error) {
      if (!(error instanceof VaultFormatError)) throw error;
      const field = error.path && error.path !== '/' ? error.path : '';
      throw invalidField(what, `${at}/publicKeys${field}`, error.message);
    }
    const keyId = memberKeyId(publicKeys);
    if (keyIds.has(keyId)) throw invalidField(what, `${at}/publicKeys`, 'are the keys of another guardian');
    keyIds.add(keyId);
    const sealedShare = decodeField(what, `${at}/sealedShare`, guardian.sealedShare);
    if (!sealedTo(sealedShare, fromBase64Url(publicKeys.encryptionKey))) {
      throw invalidField(
        what,
        `${at}/sealedShare`,
        'is not an envelope sealed to this guardian’s encryption key',
      );
    }
    return { subject: guardian.subject, publicKeys, keyId, sealedShare };
  });
  const length = checked[0]?.sealedShare.length;
  const odd = checked.findIndex((guardian) => guardian.sealedShare.length !== length);
  if (odd !== -1) {
    throw invalidField(
      what,
      `#/guardians/${odd}/sealedShare`,
      'differs in length from the other shares of the split',
    );
  }
  return checked;
}

/** Decodes a recovery request's ephemeral key: exactly an X-Wing public key's length. */
export function checkEphemeralKey(text: string): Uint8Array {
  const key = decodeField('The recovery request', '#/ephemeralKey', text);
  if (key.length !== EPHEMERAL_KEY_BYTES) {
    throw invalidField(
      'The recovery request',
      '#/ephemeralKey',
      `is ${key.length} bytes; an X-Wing public key is ${EPHEMERAL_KEY_BYTES}`,
    );
  }
  return key;
}
