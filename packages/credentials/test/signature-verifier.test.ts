// Every JOSE and COSE verifier checks its signatures with the verifier it is given (a server's
// VerificationThreads), with the same results as in place.
import { type SignatureAlgorithm, type SignatureVerifier, VerificationThreads } from '@personachain/crypto';
import type { JWK } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  issueVcCose,
  issueVcJwt,
  issueVcSdJwt,
  issueVpJwt,
  presentVcSdJwt,
  type ResolveKey,
  verifyVcCose,
  verifyVcJwt,
  verifyVcSdJwt,
  verifyVpJwt,
} from '../src/index.js';
import { failure, key, presentationOf } from './jose-helpers.js';

const ISSUER = 'did:example:issuer';
const HOLDER = 'did:example:holder';
const credential = {
  '@context': ['https://www.w3.org/ns/credentials/v2'],
  type: ['VerifiableCredential'],
  issuer: ISSUER,
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: { id: HOLDER, name: 'Jane Doe' },
};

const threads = new VerificationThreads();
afterAll(() => threads.close());

/** VerificationThreads, counting the checks it was handed by algorithm. */
function countingVerifier() {
  const checks: SignatureAlgorithm[] = [];
  const signatureVerifier: SignatureVerifier = {
    verify(algorithm, publicKey, message, signature) {
      checks.push(algorithm);
      return threads.verify(algorithm, publicKey, message, signature);
    },
  };
  return { checks, signatureVerifier };
}

async function parties(algorithm: SignatureAlgorithm) {
  const issuer = await key(algorithm, `${ISSUER}#key-1`);
  const holder = await key('Ed25519', `${HOLDER}#key-1`);
  const keys = new Map<string, JWK>([
    [issuer.signer.kid, issuer.jwk],
    [holder.signer.kid, holder.jwk],
  ]);
  const resolveKey: ResolveKey = async (kid) => (kid === undefined ? undefined : keys.get(kid));
  return { issuer, holder, resolveKey };
}

/** The last character of a compact JWS signature changed: same length, another signature. */
const tampered = (jws: string) => `${jws.slice(0, -2)}${jws.at(-2) === 'A' ? 'B' : 'A'}${jws.at(-1)}`;

describe('signature verifiers', () => {
  for (const algorithm of ['Ed25519', 'P-256', 'P-521'] as const) {
    it(`vc+jwt with ${algorithm}: verified through the verifier, a wrong signature refused`, async () => {
      const { issuer, resolveKey } = await parties(algorithm);
      const jws = await issueVcJwt({ credential, signer: issuer.signer });
      const { checks, signatureVerifier } = countingVerifier();
      const verified = await verifyVcJwt(jws, { resolveKey, signatureVerifier });
      expect(verified.credential).toEqual(credential);
      expect(await failure(verifyVcJwt(tampered(jws), { resolveKey, signatureVerifier }))).toBe(
        'invalid-signature',
      );
      expect(checks).toEqual([algorithm, algorithm]);
    });
  }

  it('vc+cose: verified through the verifier, a wrong signature refused', async () => {
    const { issuer, resolveKey } = await parties('P-256');
    const cose = await issueVcCose({ credential, signer: issuer.signer });
    const { checks, signatureVerifier } = countingVerifier();
    expect((await verifyVcCose(cose, { resolveKey, signatureVerifier })).credential).toEqual(credential);
    const altered = cose.slice();
    altered[altered.length - 1] ^= 1;
    expect(await failure(verifyVcCose(altered, { resolveKey, signatureVerifier }))).toBe('invalid-signature');
    expect(checks).toEqual(['P-256', 'P-256']);
  });

  it('vc+sd-jwt: the issuer signature and the KB-JWT both go through the verifier', async () => {
    const { issuer, holder, resolveKey } = await parties('Ed25519');
    const sdJwt = await issueVcSdJwt({
      credential,
      signer: issuer.signer,
      disclosable: ['/credentialSubject/name'],
      holderKey: holder.jwk,
    });
    const keyBinding = { nonce: 'n-1', audience: 'https://verifier.example' };
    const presented = await presentVcSdJwt({
      sdJwt,
      disclose: ['/credentialSubject/name'],
      keyBinding: { signer: holder.signer, ...keyBinding },
    });
    const { checks, signatureVerifier } = countingVerifier();
    const verified = await verifyVcSdJwt(presented, { resolveKey, keyBinding, signatureVerifier });
    expect(verified.credential.credentialSubject).toEqual(credential.credentialSubject);
    expect(checks).toEqual(['Ed25519', 'Ed25519']);
    expect(
      await failure(verifyVcSdJwt(tampered(presented), { resolveKey, keyBinding, signatureVerifier })),
    ).toBe('invalid-signature');
  });

  it('vp+jwt: the holder’s signature and the credentials’ go through the verifier', async () => {
    const { issuer, holder, resolveKey } = await parties('Ed25519');
    const vcJwt = await issueVcJwt({ credential, signer: issuer.signer });
    const presentation = presentationOf(HOLDER, vcJwt);

    const vpJwt = await issueVpJwt({ presentation, signer: holder.signer, nonce: 'n-2' });
    const { checks, signatureVerifier } = countingVerifier();
    const verified = await verifyVpJwt(vpJwt, { resolveKey, nonce: 'n-2', signatureVerifier });
    expect(verified.credentials).toEqual([credential]);
    expect(checks).toEqual(['Ed25519', 'Ed25519']);
    expect(await failure(verifyVpJwt(tampered(vpJwt), { resolveKey, nonce: 'n-2', signatureVerifier }))).toBe(
      'invalid-signature',
    );
  });

  it('a verifier that fails for its own reasons is not reported as a bad credential', async () => {
    const { issuer, resolveKey } = await parties('Ed25519');
    const jws = await issueVcJwt({ credential, signer: issuer.signer });
    const broken: SignatureVerifier = { verify: async () => Promise.reject(new Error('thread died')) };
    await expect(verifyVcJwt(jws, { resolveKey, signatureVerifier: broken })).rejects.toThrow('thread died');
  });
});
