import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context';
import credentialsExamplesContext from '@digitalbazaar/credentials-examples-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import odrlContext from '@digitalbazaar/odrl-context';
import { didV1Context } from './did-v1.js';
import { examplesV2Context } from './examples-v2.js';
import { statusV1Context } from './status-v1.js';

export const CREDENTIALS_V1_CONTEXT = 'https://www.w3.org/2018/credentials/v1';
export const CREDENTIALS_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
export const DATA_INTEGRITY_V2_CONTEXT = 'https://w3id.org/security/data-integrity/v2';
export const MULTIKEY_V1_CONTEXT = 'https://w3id.org/security/multikey/v1';
export const EXAMPLES_V2_CONTEXT = 'https://www.w3.org/ns/credentials/examples/v2';
/** The VC 1.1 examples context (with the ODRL context it imports): VC-API issuer test-suite inputs use it. */
export const EXAMPLES_V1_CONTEXT = 'https://www.w3.org/2018/credentials/examples/v1';
export const DID_V1_CONTEXT = 'https://www.w3.org/ns/did/v1';
export const STATUS_V1_CONTEXT = 'https://www.w3.org/ns/credentials/status/v1';

/**
 * Freezes a context, except the arrays of context references inside it: jsonld writes each reference back
 * into its array after resolving it against the base URL (the examples v1 context imports ODRL's).
 */
function freezeContext<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === '@context' && Array.isArray(child)) child.forEach(freezeContext);
      else freezeContext(child);
    }
    Object.freeze(value);
  }
  return value;
}

/**
 * Every JSON-LD context this package can load, by exact URL. The npm packages are the ones the W3C test
 * suites use: credentials v1, v2 and undefined-terms v2 (`@digitalbazaar/credentials-context`),
 * data-integrity v1 and v2, multikey v1, the VC 1.1 examples v1 and the ODRL context it imports; the W3C examples v2, DID v1 and Bitstring Status List v1 contexts are
 * copied in this folder.
 * Frozen: they are shared by every load and must never change.
 */
const entries: [string, object][] = [
  ...credentialsContexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...credentialsExamplesContext.contexts,
  ...odrlContext.contexts,
  [EXAMPLES_V2_CONTEXT, examplesV2Context],
  [DID_V1_CONTEXT, didV1Context],
  [STATUS_V1_CONTEXT, statusV1Context],
];
export const bundledContexts: ReadonlyMap<string, object> = new Map(
  entries.map(([url, context]) => [url, freezeContext(context)]),
);
