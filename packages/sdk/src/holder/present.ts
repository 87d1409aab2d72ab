import {
  createPresentation,
  deriveCredential,
  type SignPresentationInput,
  signPresentation as signWith,
} from '@personachain/credentials';
import { holderDocumentLoader, holderResolver, type OfflineOptions } from './loader.js';

export type { CreatePresentationInput, DataIntegritySigner } from '@personachain/credentials';
export { createRawKeySigner, createSigner } from '@personachain/credentials';
export { createPresentation };

export type SignPresentationOptions = Omit<SignPresentationInput, 'documentLoader'> & OfflineOptions;

/**
 * Adds the holder's `authentication` proof (with the verifier's `challenge`, and `domain`) to a presentation,
 * loading only bundled contexts and resolving DIDs like `verifyCredentialOffline`.
 */
export function signPresentation(options: SignPresentationOptions): Promise<Record<string, unknown>> {
  const { fetch, ...input } = options;
  const documentLoader = holderDocumentLoader(holderResolver(fetch === undefined ? {} : { fetch }));
  return signWith({ ...input, documentLoader });
}

export interface DeriveDisclosureOptions extends OfflineOptions {
  /** A credential with an `ecdsa-sd-2023` or `bbs-2023` base proof, as issued. */
  credential: unknown;
  /** JSON pointers to disclose besides the issuer's mandatory ones, e.g. `/credentialSubject/birthDate`. */
  selectivePointers?: string[];
  /** bbs-2023 only: bytes to bind the derived proof to, e.g. the verifier's nonce. */
  presentationHeader?: Uint8Array;
}

/** The holder's selective disclosure: the credential with only the mandatory and selected statements. */
export function deriveDisclosure(options: DeriveDisclosureOptions): Promise<Record<string, unknown>> {
  const { fetch, ...input } = options;
  const documentLoader = holderDocumentLoader(holderResolver(fetch === undefined ? {} : { fetch }));
  return deriveCredential({ ...input, documentLoader });
}
