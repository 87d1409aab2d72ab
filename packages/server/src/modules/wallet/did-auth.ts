import { CredentialError, envelopedPresentationClaims } from '@personachain/credentials';
import { invalidField } from '../../http/problem.js';
import { hasType, isObject, type JsonObject } from '../credentials/json.js';

/** DID methods a user may link by DID Auth: the ones the platform resolves. */
export const LINKABLE_DID = /^did:(key|web|persona):[A-Za-z0-9._:%-]+(?<![:])$/;

/** What a DID Auth presentation claims before it is verified: its holder and the challenge it answers. */
export interface DidAuthClaims {
  holder: string;
  challenge: string;
}

/**
 * Reads the holder and the challenge of a DID Auth presentation: a Data Integrity one's `holder` and its
 * single proof's `challenge`, or the `holder` and `nonce` of an enveloped vp+jwt, vp+sd-jwt or vp+cose's signed
 * payload. Nothing here is trusted yet: the challenge only names which of the user's challenges to consume, and
 * the verifier then checks both.
 */
export function didAuthClaims(presentation: JsonObject): DidAuthClaims {
  return hasType(presentation, 'EnvelopedVerifiablePresentation')
    ? envelopedClaims(presentation)
    : dataIntegrityClaims(presentation);
}

function dataIntegrityClaims(presentation: JsonObject): DidAuthClaims {
  const { proof } = presentation;
  return {
    holder: linkableHolder(presentation),
    challenge: answeredChallenge(
      isObject(proof) ? proof.challenge : undefined,
      '#/presentation/proof/challenge',
      'one proof, with its challenge',
    ),
  };
}

function envelopedClaims(envelope: JsonObject): DidAuthClaims {
  const signed = envelopedPayload(envelope);
  return {
    holder: linkableHolder(signed),
    challenge: answeredChallenge(signed.nonce, '#/presentation/id', 'its signed nonce'),
  };
}

function linkableHolder(presentation: JsonObject): string {
  const holder = isObject(presentation.holder) ? presentation.holder.id : presentation.holder;
  if (typeof holder !== 'string' || !LINKABLE_DID.test(holder) || holder.length > 2048) {
    throw invalidField(
      'The presentation',
      '#/presentation/holder',
      'must be a did:key, did:web or did:persona DID',
    );
  }
  return holder;
}

function answeredChallenge(challenge: unknown, pointer: string, carrier: string): string {
  if (typeof challenge !== 'string') {
    throw invalidField(
      'The presentation',
      pointer,
      `must answer a challenge from /account/dids/challenge (${carrier})`,
    );
  }
  return challenge;
}

/** The envelope's signed payload, read (not verified) from its data: URL id. */
function envelopedPayload(envelope: JsonObject): JsonObject {
  try {
    return envelopedPresentationClaims(envelope.id);
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    throw invalidField(
      'The presentation',
      '#/presentation/id',
      'must be a data:application/vp+jwt,<JWS>, data:application/vp+sd-jwt,<SD-JWT> or ' +
        `data:application/vp+cose;base64,<COSE_Sign1> URL (${error.message})`,
    );
  }
}
