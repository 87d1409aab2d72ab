/**
 * `https://www.w3.org/ns/credentials/examples/v2`, verbatim from w3c/vc-data-model
 * `contexts/credentials/examples/v2` (commit 647f43b3242787f43dfad8ab256dcd47af155df3). Not shipped in an
 * installable package (`@digitalbazaar/credentials-examples-context@1.0.0` requires a missing dependency).
 */
export const examplesV2Context = {
  '@context': {
    '@vocab': 'https://www.w3.org/ns/credentials/examples#',
  },
};
