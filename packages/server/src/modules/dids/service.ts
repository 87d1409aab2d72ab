import { AsyncLocalStorage } from 'node:async_hooks';
import {
  createDidResolver,
  createDidWebMethod,
  type DidDereferencingResult,
  DidError,
  type DidMethod,
  type DidResolutionResult,
  type DidResolver,
  type GuardianKeys,
  isPersonaDid,
  type LoadedOperations,
  personaMethod,
} from '@personachain/credentials';
import { publicFetch } from '../../http/public-fetch.js';
import type { HostedDids } from '../issuers/service.js';

/** Where did:persona operations come from: the ledger, through the persona module's index. */
export interface PersonaOperations {
  loadOperations(did: string, options: { withProofs: boolean }): Promise<LoadedOperations>;
}

/** DID Resolution options the HTTP binding passes on (did:persona: `history`, `versionId`, `versionTime`). */
export type ResolutionOptions = Record<string, string | boolean>;

/**
 * How many guardian DIDs deep a resolution may go (a did:persona guardian whose own history has a
 * recovery needs its guardians' keys, …): enough for real setups, and a bound on guardian cycles.
 */
const MAX_GUARDIAN_DEPTH = 3;

/** DID resolution for every method the platform supports: did:key, did:web and did:persona. */
export class DidService {
  private readonly resolver: DidResolver;
  /** The guardian DIDs being resolved for the current resolution, outermost first. */
  private readonly guardianChain = new AsyncLocalStorage<readonly string[]>();

  constructor(
    options: {
      trustedWebHosts?: readonly string[];
      hosted?: HostedDids | undefined;
      persona?: PersonaOperations;
    } = {},
  ) {
    // did:web documents are fetched from hosts that callers name: only public HTTPS addresses are reached.
    // The platform's own did:web issuers are answered from the database, never over the network.
    const methods: DidMethod[] = [];
    if (options.hosted) methods.push(hostedFirst(options.hosted, createDidWebMethod()));
    const persona = options.persona;
    if (persona) {
      methods.push(
        personaMethod({
          loadOperations: (did, { withProofs }) => persona.loadOperations(did, { withProofs }),
          guardianKeys: this.guardianKeys,
        }),
      );
    }
    this.resolver = createDidResolver({
      fetch: publicFetch({ trustedHosts: options.trustedWebHosts }),
      methods,
    });
  }

  get methods(): readonly string[] {
    return this.resolver.methods;
  }

  resolve(did: string, accept: string, options: ResolutionOptions = {}): Promise<DidResolutionResult> {
    return this.resolver.resolve(did, { ...options, accept });
  }

  dereference(didUrl: string, signal?: AbortSignal): Promise<DidDereferencingResult> {
    return this.resolver.dereference(didUrl, signal ? { signal } : {});
  }

  /**
   * The Multikeys a guardian DID lists, for verifying recovery requests. A did:persona guardian is
   * resolved as of the request's integration time (`versionTime`), so its later rotations do not undo a
   * past recovery; did:key never changes; did:web can only be resolved as it is now.
   */
  readonly guardianKeys: GuardianKeys = async (did, { integratedAt }) => {
    const chain = this.guardianChain.getStore() ?? [];
    if (chain.includes(did) || chain.length >= MAX_GUARDIAN_DEPTH) {
      throw new Error(`guardian ${did} is nested too deep (or in a cycle) to resolve`);
    }
    const options: ResolutionOptions = isPersonaDid(did)
      ? { versionTime: new Date(integratedAt * 1000).toISOString() }
      : {};
    const result = await this.guardianChain.run([...chain, did], () =>
      this.resolve(did, 'application/did+ld+json', options),
    );
    const { error, errorMessage } = result.didResolutionMetadata;
    if (error) throw new DidError(error, errorMessage ?? error);
    return (result.didDocument?.verificationMethod ?? []).flatMap((method) =>
      typeof method.publicKeyMultibase === 'string' ? [method.publicKeyMultibase] : [],
    );
  };
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
