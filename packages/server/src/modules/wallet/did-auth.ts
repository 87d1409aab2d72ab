import { fromBase64Url } from '@personachain/crypto';
import { invalidField } from '../../http/problem.js';
import { hasType, isObject, type JsonObject } from '../credentials/json.js';
import { VP_JWT_DATA_URL } from '../credentials/presentation-verification.js';

/** DID methods a user may link by DID Auth: the ones the platform resolves. */
export const LINKABLE_DID = /^did:(key|web|persona):[A-Za-z0-9._:%-]+(?<![:])$/;

/** What a DID Auth presentation claims before it is verified: its holder and the challenge it answers. */
export interface DidAuthClaims {
  holder: string;
  challenge: string;
}

/**
 * Reads the holder and the challenge of a DID Auth presentation: a Data Integrity one's `holder` and its
 * single proof's `challenge`, or a vp+jwt's payload `holder` and `nonce`. Nothing here is trusted yet: the
 * challenge only names which of the user's challenges to consume, and the verifier then checks both.
 */
export function didAuthClaims(presentation: JsonObject): DidAuthClaims {
  const signed = hasType(presentation, 'EnvelopedVerifiablePresentation')
    ? vpJwtPayload(presentation)
    : presentation;
  const proof = signed === presentation ? presentation.proof : undefined;
  const challenge = signed === presentation ? (isObject(proof) ? proof.challenge : undefined) : signed.nonce;
  const holder = isObject(signed.holder) ? signed.holder.id : signed.holder;
  if (typeof holder !== 'string' || !LINKABLE_DID.test(holder) || holder.length > 2048) {
    throw invalidField(
      'The presentation',
      '#/presentation/holder',
      'must be a did:key, did:web or did:persona DID',
    );
  }
  if (typeof challenge !== 'string') {
    const where = signed === presentation ? '#/presentation/proof/challenge' : '#/presentation/id';
    throw invalidField(
      'The presentation',
      where,
      'must answer a challenge from /account/dids/challenge (one proof, with its challenge)',
    );
  }
  return { holder, challenge };
}

function vpJwtPayload(envelope: JsonObject): JsonObject {
  const { id } = envelope;
  const payload = typeof id === 'string' && id.startsWith(VP_JWT_DATA_URL) ? id.split('.')[1] : undefined;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(fromBase64Url(payload ?? '')));
    if (isObject(parsed)) return parsed;
  } catch {
    // Reported below, like any payload that is not a JSON object.
  }
  throw invalidField('The presentation', '#/presentation/id', 'must be a data:application/vp+jwt,<JWS> URL');
}
