/**
 * `https://www.w3.org/ns/did/v1` (DID Core 1.0), verbatim from digitalbazaar/did-context
 * `contexts/did-v1.jsonld` (commit c0edf8265d86fbf7c6b48ff96e9e7a975e945052), the text W3C serves at that URL.
 * (w3c/did-core's `contexts/did-v1.jsonld` is an older pre-Recommendation draft with different terms.)
 */
export const didV1Context = {
  '@context': {
    '@protected': true,
    id: '@id',
    type: '@type',

    alsoKnownAs: {
      '@id': 'https://www.w3.org/ns/activitystreams#alsoKnownAs',
      '@type': '@id',
    },
    assertionMethod: {
      '@id': 'https://w3id.org/security#assertionMethod',
      '@type': '@id',
      '@container': '@set',
    },
    authentication: {
      '@id': 'https://w3id.org/security#authenticationMethod',
      '@type': '@id',
      '@container': '@set',
    },
    capabilityDelegation: {
      '@id': 'https://w3id.org/security#capabilityDelegationMethod',
      '@type': '@id',
      '@container': '@set',
    },
    capabilityInvocation: {
      '@id': 'https://w3id.org/security#capabilityInvocationMethod',
      '@type': '@id',
      '@container': '@set',
    },
    controller: {
      '@id': 'https://w3id.org/security#controller',
      '@type': '@id',
    },
    keyAgreement: {
      '@id': 'https://w3id.org/security#keyAgreementMethod',
      '@type': '@id',
      '@container': '@set',
    },
    service: {
      '@id': 'https://www.w3.org/ns/did#service',
      '@type': '@id',
      '@context': {
        '@protected': true,
        id: '@id',
        type: '@type',
        serviceEndpoint: {
          '@id': 'https://www.w3.org/ns/did#serviceEndpoint',
          '@type': '@id',
        },
      },
    },
    verificationMethod: {
      '@id': 'https://w3id.org/security#verificationMethod',
      '@type': '@id',
    },
  },
};
