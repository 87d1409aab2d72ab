/**
 * `https://www.w3.org/ns/credentials/status/v1` (Bitstring Status List v1.0 §5.2), verbatim from
 * `@digitalbazaar/vc-bitstring-status-list-context` 1.1.0 `contexts/vc-bitstring-status-list-v1.jsonld`
 * (SHA-256 fd08cbf28ddd829ab2f1978c48f43ab07a112c1c90245a0cfac7ba721c65170c), the context the W3C test suites
 * load. VC 2.0 credentials need none: `https://www.w3.org/ns/credentials/v2` defines the same terms; VC 1.1
 * credentials with a `BitstringStatusListEntry` add this one.
 */
export const statusV1Context = {
  '@context': {
    '@protected': true,
    id: '@id',
    type: '@type',
    BitstringStatusListCredential: 'https://www.w3.org/ns/credentials/status#BitstringStatusListCredential',
    BitstringStatusList: {
      '@id': 'https://www.w3.org/ns/credentials/status#BitstringStatusList',
      '@context': {
        '@protected': true,
        id: '@id',
        type: '@type',
        encodedList: {
          '@id': 'https://www.w3.org/ns/credentials/status#encodedList',
          '@type': 'https://w3id.org/security#multibase',
        },
        statusPurpose: 'https://www.w3.org/ns/credentials/status#statusPurpose',
        ttl: 'https://www.w3.org/ns/credentials/status#ttl',
      },
    },
    BitstringStatusListEntry: {
      '@id': 'https://www.w3.org/ns/credentials/status#BitstringStatusListEntry',
      '@context': {
        '@protected': true,
        id: '@id',
        type: '@type',
        statusListCredential: {
          '@id': 'https://www.w3.org/ns/credentials/status#statusListCredential',
          '@type': '@id',
        },
        statusListIndex: 'https://www.w3.org/ns/credentials/status#statusListIndex',
        statusPurpose: 'https://www.w3.org/ns/credentials/status#statusPurpose',
        statusMessage: {
          '@id': 'https://www.w3.org/ns/credentials/status#statusMessage',
          '@context': {
            '@protected': true,
            id: '@id',
            type: '@type',
            message: 'https://www.w3.org/ns/credentials/status#message',
            status: 'https://www.w3.org/ns/credentials/status#status',
          },
        },
        statusReference: {
          '@id': 'https://www.w3.org/ns/credentials/status#statusReference',
          '@type': '@id',
        },
        statusSize: {
          '@id': 'https://www.w3.org/ns/credentials/status#statusSize',
          '@type': 'https://www.w3.org/2001/XMLSchema#integer',
        },
      },
    },
  },
};
