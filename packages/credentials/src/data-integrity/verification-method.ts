import { decodePublicKeyMultibase, importJwk, type Jwk } from '@personachain/crypto';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';
import type { DataIntegrityAlgorithm } from './signer.js';
import { isDataIntegrityAlgorithm } from './signer.js';
import { asArray, isAbsoluteUrl, isObject, type JsonObject } from './values.js';

export interface ResolvedVerificationMethod {
  id: string;
  controller: string;
  algorithm: DataIntegrityAlgorithm;
  /** The raw public key of a `Multikey` method. */
  publicKey?: Uint8Array;
  method: JsonObject;
}

/**
 * Loads a verification method and reads its key: a `Multikey` (`publicKeyMultibase`) or a `JsonWebKey`
 * (`publicKeyJwk`) of one of the algorithms the suites here use. Errors: `verification-method-not-found`,
 * `invalid-verification-method`, or the loader's own `CredentialError`.
 */
export async function loadVerificationMethod(
  id: string,
  loader: DocumentLoader,
): Promise<ResolvedVerificationMethod> {
  let loaded: unknown;
  try {
    ({ document: loaded } = await loader(id));
  } catch (cause) {
    throw new CredentialError(
      'verification-method-not-found',
      `Verification method "${id}" could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, details: { verificationMethod: id } },
    );
  }
  const method = typeof loaded === 'string' ? (JSON.parse(loaded) as unknown) : loaded;
  if (!isObject(method) || method.id !== id) {
    throw invalid(id, 'the loaded document is not that verification method');
  }
  if (!isAbsoluteUrl(method.controller)) throw invalid(id, 'it has no "controller" URL');
  let algorithm: string;
  let publicKey: Uint8Array | undefined;
  try {
    if (method.type === 'Multikey' && typeof method.publicKeyMultibase === 'string') {
      ({ algorithm, publicKey } = decodePublicKeyMultibase(method.publicKeyMultibase));
    } else if (
      (method.type === 'JsonWebKey' || method.type === 'JsonWebKey2020') &&
      isObject(method.publicKeyJwk)
    ) {
      ({ algorithm } = await importJwk(method.publicKeyJwk as unknown as Jwk));
    } else {
      throw invalid(
        id,
        'it is neither a Multikey with "publicKeyMultibase" nor a JsonWebKey with "publicKeyJwk"',
      );
    }
  } catch (cause) {
    if (cause instanceof CredentialError) throw cause;
    throw invalid(
      id,
      `its public key does not decode (${cause instanceof Error ? cause.message : String(cause)})`,
    );
  }
  if (!isDataIntegrityAlgorithm(algorithm)) {
    throw new CredentialError('wrong-key-type', `Verification method "${id}" is a ${algorithm} key.`, {
      details: { verificationMethod: id, algorithm },
    });
  }
  return {
    id,
    controller: method.controller,
    algorithm,
    ...(publicKey === undefined ? {} : { publicKey }),
    method,
  };
}

/**
 * Checks that the method's controller document lists the method under `relationship` (`assertionMethod`
 * for credentials, `authentication` for presentations): a key that merely names a controller proves nothing.
 */
export async function assertAuthorized(
  method: ResolvedVerificationMethod,
  relationship: 'assertionMethod' | 'authentication',
  loader: DocumentLoader,
): Promise<void> {
  let controller: unknown;
  try {
    ({ document: controller } = await loader(method.controller));
  } catch (cause) {
    throw new CredentialError(
      'unauthorized-verification-method',
      `Controller "${method.controller}" of "${method.id}" could not be loaded.`,
      { cause, details: { verificationMethod: method.id } },
    );
  }
  const listed =
    isObject(controller) &&
    controller.id === method.controller &&
    asArray(controller[relationship]).some((entry) => {
      const entryId = isObject(entry) ? entry.id : entry;
      const absolute =
        typeof entryId === 'string' && entryId.startsWith('#') ? method.controller + entryId : entryId;
      return absolute === method.id;
    });
  if (!listed) {
    throw new CredentialError(
      'unauthorized-verification-method',
      `"${method.id}" is not listed under "${relationship}" by its controller "${method.controller}".`,
      { details: { verificationMethod: method.id, relationship } },
    );
  }
}

function invalid(id: string, reason: string): CredentialError {
  return new CredentialError(
    'invalid-verification-method',
    `Verification method "${id}" is unusable: ${reason}.`,
    {
      details: { verificationMethod: id },
    },
  );
}
