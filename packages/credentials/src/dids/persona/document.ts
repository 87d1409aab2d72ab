import { decodePublicKeyMultibase } from '@personachain/crypto';
import { buildDidDocument, DID_CONTEXT_V1, type DidDocument, MULTIKEY_CONTEXT_V1 } from '../document.js';
import type { DidDocumentMetadata } from '../method.js';
import type { PersonaState } from './types.js';

/** POSIX seconds → DID Core metadata timestamp (XML Schema dateTime, UTC, whole seconds). */
export function metadataTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The DID document of a state. Rotation keys and guardians control the DID but are not verification
 * methods, so they are not in the document (they are in the history). A deactivated DID's document keeps
 * only its id: nothing in it may be trusted any more.
 */
export function personaDidDocument(state: PersonaState): DidDocument {
  if (state.deactivated) return { '@context': [DID_CONTEXT_V1, MULTIKEY_CONTEXT_V1], id: state.did };
  return buildDidDocument(state.did, {
    keys: state.verificationMethods.map((method) => ({
      ...decodePublicKeyMultibase(method.publicKeyMultibase),
      fragment: method.id,
      relationships: method.relationships,
    })),
    ...(state.services.length > 0
      ? {
          service: state.services.map((service) => ({
            id: `${state.did}#${service.id}`,
            type: service.type,
            serviceEndpoint: service.serviceEndpoint,
          })),
        }
      : {}),
    ...(state.alsoKnownAs.length > 0 ? { alsoKnownAs: state.alsoKnownAs } : {}),
  });
}

/**
 * DID Core §7.3.2 metadata: `created` (genesis integration time), `updated` (last operation's, absent
 * while the genesis is the only one), `versionId` (the last operation's hash), `deactivated`; plus
 * `pendingRecovery` while a guardian recovery waits out its delay.
 */
export function personaDocumentMetadata(state: PersonaState): DidDocumentMetadata {
  const metadata: DidDocumentMetadata = {
    created: metadataTime(state.created),
    versionId: state.head,
    deactivated: state.deactivated,
  };
  if (state.head !== state.genesis) metadata.updated = metadataTime(state.updated);
  if (state.pendingRecovery) {
    metadata.pendingRecovery = {
      versionId: state.pendingRecovery.request,
      effective: metadataTime(state.pendingRecovery.effectiveAt),
    };
  }
  return metadata;
}
