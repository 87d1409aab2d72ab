/**
 * Ported from the W3C VC-JOSE-COSE test suite (w3c/vc-jose-cose-test-suite, tests/test-mapping.js @19008ac5):
 * the JOSE credential tests (1, 2, 5, 6, 8, 10, 13, 15) at library level. The presentation tests (3, 4, 7,
 * 11, 14, 16) are in jose-vp-jwt.test.ts and the suite's signed tokens 6, 13, 15 in jose-vc-jwt.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { issueVcJwt, type ResolveKey, verifyVcJwt } from '../src/index.js';
import {
  credentialFull,
  credentialIssuerMatchSigned,
  credentialMinimal,
  rejectedCredentials,
} from './fixtures/conformance/vc-jose-cose-inputs.js';
import { failure, key } from './jose-helpers.js';

const suiteKeys = (
  JSON.parse(
    readFileSync(new URL('./vectors/jose-vc-jose-cose-test-suite.json', import.meta.url), 'utf8'),
  ) as {
    keys: Record<string, JWK & { kid: string }>;
  }
).keys;
const resolveSuiteKey: ResolveKey = async (kid) => Object.values(suiteKeys).find((jwk) => jwk.kid === kid);
const ISSUER = 'https://example.issuer/vc-jose-cose';

describe.each([
  ['P-256', 'ES256'],
  ['P-384', 'ES384'],
  ['P-521', 'ES512'],
  ['Ed25519', 'EdDSA'],
] as const)('VC-JOSE-COSE with %s (%s)', (algorithm, alg) => {
  it.each([
    ['1. JWT Basic Credential Issuance (credential-minimal.json)', credentialMinimal],
    ['2. JWT Credential Issuance with All Optional Fields (credential-full.json)', credentialFull],
  ])('%s: issues a vc+jwt that verifies', async (_name, credential) => {
    const { signer, jwk } = await key(algorithm, `${ISSUER}#key-1`);
    const jws = await issueVcJwt({ credential, signer });
    const [header] = jws.split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toMatchObject({
      alg,
      typ: 'vc+jwt',
      kid: `${ISSUER}#key-1`,
    });
    const verified = await verifyVcJwt(jws, {
      resolveKey: async () => jwk,
      now: Date.parse('2025-01-01T00:00:00Z'),
    });
    expect(verified.credential).toEqual(credential);
  });

  it.each(Object.entries(rejectedCredentials))(
    'issuers reject %s (not a VCDM 2.0 credential)',
    async (_name, credential) => {
      const { signer } = await key(algorithm, `${ISSUER}#key-1`);
      expect(await failure(issueVcJwt({ credential, signer }))).toBe('invalid-credential');
    },
  );
});

describe('VC-JOSE-COSE verification', () => {
  it('8. JWT Issuer Match Verification: the suite’s EdDSA token verifies and names its issuer', async () => {
    const verified = await verifyVcJwt(credentialIssuerMatchSigned, {
      resolveKey: resolveSuiteKey,
      now: Date.parse('2025-01-01T00:00:00Z'),
    });
    expect(verified.issuer).toBe(ISSUER);
    expect(verified.credential.id).toBe('http://university.example/credentials/1872');
  });

  it('10. JWT Unsecured Credential Verification: an unsecured JWT (alg none) MUST fail', async () => {
    const unsecured = new UnsecuredJWT({ ...credentialMinimal, iss: ISSUER }).encode();
    expect(await failure(verifyVcJwt(unsecured, { resolveKey: resolveSuiteKey }))).toBe('unsupported-alg');
  });

  it('verification of a credential that is not JSON, or a JWS with a non-JSON payload, MUST fail', async () => {
    expect(await failure(verifyVcJwt('not-a-jws', { resolveKey: resolveSuiteKey }))).toBe('malformed');
    expect(await failure(verifyVcJwt(42, { resolveKey: resolveSuiteKey }))).toBe('malformed');
  });
});
