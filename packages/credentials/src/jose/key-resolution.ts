import type { JWK } from 'jose';
import { CredentialError } from '../errors.js';
import type { JsonObject } from './compact.js';
import { partyId } from './document.js';

/**
 * Finds the public key of a JWS: `kid` from the protected header, `controller` the issuer (of a VC)
 * or holder (of a VP). Returns undefined when it knows no such key; the server resolves the
 * controller's DID verification method to its `publicKeyJwk`.
 */
export type ResolveKey = (
  kid: string | undefined,
  controller: string | undefined,
) => Promise<JWK | undefined>;

/**
 * VC-JOSE-COSE §4.1.2: `iss` (claim or header parameter), if present, must match the document's
 * issuer/holder id. §4.3: without `iss`, the `kid` must be an absolute URL of a verification method.
 */
export function checkKeyHints(header: JsonObject, payload: JsonObject, controller: string | undefined): void {
  for (const [where, iss] of [
    ['claim', payload.iss],
    ['header parameter', header.iss],
  ] as const) {
    // Without a holder in the document, `iss` is what names the signer: nothing to compare it with.
    if (iss !== undefined && controller !== undefined && iss !== controller) {
      throw new CredentialError(
        'issuer-mismatch',
        `the iss ${where} ${JSON.stringify(iss)} does not match ${JSON.stringify(controller)}`,
      );
    }
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    throw new CredentialError('malformed', 'the JWS kid must be a string');
  }
  if (payload.iss === undefined && header.iss === undefined && controller !== undefined) {
    if (typeof header.kid !== 'string' || !URL.canParse(header.kid)) {
      throw new CredentialError(
        'malformed',
        'without iss, the kid must be an absolute URL of a verification method',
      );
    }
  }
}

export async function resolveKeyOrFail(
  resolveKey: ResolveKey,
  kid: unknown,
  controller: unknown,
): Promise<JWK> {
  const kidValue = typeof kid === 'string' ? kid : undefined;
  const controllerValue = partyId(controller) ?? (typeof controller === 'string' ? controller : undefined);
  let jwk: JWK | undefined;
  try {
    jwk = await resolveKey(kidValue, controllerValue);
  } catch (cause) {
    if (cause instanceof CredentialError) throw cause;
    throw new CredentialError('unknown-key', `the key ${kidValue ?? '(no kid)'} could not be resolved`, {
      cause,
    });
  }
  if (jwk === undefined) {
    throw new CredentialError(
      'unknown-key',
      `no key ${kidValue ?? '(no kid)'} for ${controllerValue ?? 'the signer'}`,
    );
  }
  return jwk;
}
