import {
  createDidResolver,
  type DidDereferencingResult,
  type DidResolutionResult,
  type DidResolver,
} from '@personachain/credentials';
import { publicFetch } from './public-fetch.js';

/** DID resolution for every method the platform supports (did:key, did:web; did:persona later). */
export class DidService {
  private readonly resolver: DidResolver;

  constructor(options: { trustedWebHosts?: readonly string[] } = {}) {
    // did:web documents are fetched from hosts that callers name: only public HTTPS addresses are reached.
    this.resolver = createDidResolver({ fetch: publicFetch({ trustedHosts: options.trustedWebHosts }) });
  }

  get methods(): readonly string[] {
    return this.resolver.methods;
  }

  resolve(did: string, accept: string, signal?: AbortSignal): Promise<DidResolutionResult> {
    return this.resolver.resolve(did, { accept, ...(signal ? { signal } : {}) });
  }

  dereference(didUrl: string, signal?: AbortSignal): Promise<DidDereferencingResult> {
    return this.resolver.dereference(didUrl, signal ? { signal } : {});
  }
}
