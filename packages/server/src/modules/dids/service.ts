import {
  createDidResolver,
  createDidWebMethod,
  type DidDereferencingResult,
  DidError,
  type DidMethod,
  type DidResolutionResult,
  type DidResolver,
} from '@personachain/credentials';
import type { HostedDids } from '../issuers/service.js';
import { publicFetch } from './public-fetch.js';

/** DID resolution for every method the platform supports (did:key, did:web; did:persona later). */
export class DidService {
  private readonly resolver: DidResolver;

  constructor(options: { trustedWebHosts?: readonly string[]; hosted?: HostedDids | undefined } = {}) {
    // did:web documents are fetched from hosts that callers name: only public HTTPS addresses are reached.
    // The platform's own did:web issuers are answered from the database, never over the network.
    this.resolver = createDidResolver({
      fetch: publicFetch({ trustedHosts: options.trustedWebHosts }),
      ...(options.hosted ? { methods: [hostedFirst(options.hosted, createDidWebMethod())] } : {}),
    });
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

/** did:web that answers the hosted DIDs locally and fetches every other one. */
function hostedFirst(hosted: HostedDids, web: DidMethod): DidMethod {
  return {
    name: web.name,
    async resolve(did, options) {
      if (!did.startsWith(hosted.prefix)) return web.resolve(did, options);
      const didDocument = await hosted.document(did);
      if (!didDocument) throw new DidError('notFound', `${did} is not an issuer of this platform`);
      return { didDocument };
    },
  };
}
