import { readFileSync } from 'node:fs';
import { importJwk, signatureScheme } from '@personachain/crypto';
import { base64url, decodeProtectedHeader, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwsSigner, issueVcJwt, issueVpJwt, type ResolveKey, verifyVpJwt } from '../src/jose/index.js';
import { failure, key, presentationOf } from './jose-helpers.js';

const ISSUER = 'did:example:issuer';
const HOLDER = 'did:example:holder';
const now = Date.parse('2026-06-01T00:00:00Z');

const credential = {
  '@context': ['https://www.w3.org/ns/credentials/v2'],
  type: ['VerifiableCredential'],
  issuer: ISSUER,
  credentialSubject: { id: HOLDER, name: 'Alice' },
};

async function setup() {
  const issuer = await key('P-384', `${ISSUER}#key-1`);
  const holder = await key('Ed25519', `${HOLDER}#key-1`);
  const keys: Record<string, JWK> = { [issuer.signer.kid]: issuer.jwk, [holder.signer.kid]: holder.jwk };
  const resolveKey: ResolveKey = async (kid) => (kid === undefined ? undefined : keys[kid]);
  const vcJwt = await issueVcJwt({ credential, signer: issuer.signer });
  const presentation = presentationOf(HOLDER, vcJwt);

  return { issuer, holder, resolveKey, vcJwt, presentation };
}

describe('vp+jwt', () => {
  it('issues a holder-signed vp+jwt bound to nonce and audience, and verifies it with its credentials', async () => {
    const { holder, resolveKey, presentation } = await setup();
    const vpJwt = await issueVpJwt({
      presentation,
      signer: holder.signer,
      nonce: 'n-123',
      audience: 'https://verifier.example',
      issuedAt: now / 1000,
    });
    expect(decodeProtectedHeader(vpJwt)).toEqual({
      typ: 'vp+jwt',
      cty: 'vp',
      alg: 'EdDSA',
      kid: holder.signer.kid,
    });
    const verified = await verifyVpJwt(vpJwt, {
      resolveKey,
      now,
      nonce: 'n-123',
      audience: 'https://verifier.example',
    });
    expect(verified.holder).toBe(HOLDER);
    expect(verified.credentials).toEqual([credential]);
    expect(verified.presentation).toMatchObject({ nonce: 'n-123', aud: 'https://verifier.example' });
  });

  it('rejects another nonce or audience', async () => {
    const { holder, resolveKey, presentation } = await setup();
    const vpJwt = await issueVpJwt({
      presentation,
      signer: holder.signer,
      nonce: 'n-123',
      audience: 'https://verifier.example',
    });
    expect(await failure(verifyVpJwt(vpJwt, { resolveKey, nonce: 'n-999' }))).toBe('nonce-mismatch');
    expect(await failure(verifyVpJwt(vpJwt, { resolveKey, audience: 'https://evil.example' }))).toBe(
      'audience-mismatch',
    );
    const unbound = await issueVpJwt({ presentation, signer: holder.signer });
    expect(await failure(verifyVpJwt(unbound, { resolveKey, nonce: 'n-123' }))).toBe('nonce-mismatch');
  });

  it('fails when an enveloped credential does not verify, or is not enveloped', async () => {
    const { holder, resolveKey, presentation, vcJwt } = await setup();
    const [h, , s] = vcJwt.split('.') as [string, string, string];
    const forged = base64url.encode(
      JSON.stringify({ ...credential, credentialSubject: { id: HOLDER, name: 'Mallory' } }),
    );
    const tampered = {
      ...presentation,
      verifiableCredential: [
        { ...presentation.verifiableCredential[0], id: `data:application/vc+jwt,${h}.${forged}.${s}` },
      ],
    };
    const vpJwt = await issueVpJwt({ presentation: tampered, signer: holder.signer });
    expect(await failure(verifyVpJwt(vpJwt, { resolveKey, now }))).toBe('invalid-signature');

    const embedded = { ...presentation, verifiableCredential: [credential] };
    expect(await failure(issueVpJwt({ presentation: embedded, signer: holder.signer }))).toBe(
      'invalid-presentation',
    );
  });

  it('rejects a vp+jwt signed by a key that is not the holder’s', async () => {
    const { resolveKey, presentation } = await setup();
    const mallory = await key('Ed25519', `${HOLDER}#key-1`);
    const vpJwt = await issueVpJwt({ presentation, signer: mallory.signer });
    expect(await failure(verifyVpJwt(vpJwt, { resolveKey, now }))).toBe('invalid-signature');
  });
});

// w3c/vc-jose-cose-test-suite tests/input/vm-p521.json @a3d73213: the holder key of test 4 (ES512).
const suiteP521 = {
  id: 'https://example.issuer/vc-jose-cose#key-3',
  controller: 'https://example.issuer/vc-jose-cose',
  publicKeyJwk: {
    alg: 'ES512',
    crv: 'P-521',
    kid: 'KQsihxP-LTeTZO2ETEfduP153UBIiFRhI8nSklMSmm0',
    kty: 'EC',
    x: 'Ac8mt4TvYd3TOrYtTk_YTQ5QQMpl58OnrU7uRxQEUoOO_6QnRBM0Xan8KQI_0dPKzcKBak0ZSEXcc5SNFUBHYfbP',
    y: 'ADP_cowssurHA7uMHy4IODl247oQjCxZWFX7Gtr3cFmfVIwEyKGegrJh9ooZy5FsvFVbYwAmLKVfGZs7O15RBsO-',
  },
  d: 'ABLav_lS-i3hVtEiYGNHwl7xdAu93Qc0O1httqelzCTs8uEmiSjkoKX6tCKwz--beZSL5a8qtdoC4mazTMtvsS4h',
};

describe('vp+jwt with a P-521 holder (test 4: JWT Complex Presentation Issuance, vm-p521.json)', () => {
  it('signs ES512 with the suite’s key over several credentials; it verifies, and not under another key', async () => {
    const { issuer, vcJwt } = await setup();
    const { secretKey } = await importJwk({ ...suiteP521.publicKeyJwk, d: suiteP521.d });
    const scheme = signatureScheme('P-521');
    const signer = createJwsSigner({
      kid: suiteP521.id,
      algorithm: 'P-521',
      sign: (message) => scheme.sign(secretKey as Uint8Array, message),
    });
    const second = await issueVcJwt({
      credential: { ...credential, credentialSubject: { id: suiteP521.controller, name: 'Bob' } },
      signer: issuer.signer,
    });
    const presentation = {
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      type: ['VerifiablePresentation'],
      holder: suiteP521.controller,
      verifiableCredential: [vcJwt, second].map((jwt) => ({
        '@context': 'https://www.w3.org/ns/credentials/v2',
        type: 'EnvelopedVerifiableCredential',
        id: `data:application/vc+jwt,${jwt}`,
      })),
    };
    const vpJwt = await issueVpJwt({ presentation, signer, issuedAt: now / 1000 });
    expect(decodeProtectedHeader(vpJwt)).toMatchObject({ alg: 'ES512', typ: 'vp+jwt', kid: suiteP521.id });
    const keys: Record<string, JWK> = {
      [issuer.signer.kid]: issuer.jwk,
      [suiteP521.id]: suiteP521.publicKeyJwk as JWK,
    };
    const verified = await verifyVpJwt(vpJwt, {
      resolveKey: async (kid) => (kid === undefined ? undefined : keys[kid]),
      now,
    });
    expect(verified.holder).toBe(suiteP521.controller);
    expect(verified.credentials).toHaveLength(2);
    const stranger = await key('P-521', suiteP521.id);
    const wrongKey: ResolveKey = async (kid) =>
      kid === suiteP521.id ? stranger.jwk : kid === undefined ? undefined : keys[kid];
    expect(await failure(verifyVpJwt(vpJwt, { resolveKey: wrongKey, now }))).toBe('invalid-signature');
  });
});

describe('W3C vc-jose-cose-test-suite presentations', () => {
  const suite = JSON.parse(
    readFileSync(new URL('./vectors/jose-vc-jose-cose-test-suite.json', import.meta.url), 'utf8'),
  ) as {
    keys: Record<string, JWK & { kid: string }>;
    tokens: Record<string, string>;
  };
  const resolveKey: ResolveKey = async (kid) => Object.values(suite.keys).find((entry) => entry.kid === kid);
  // Both presentations expire a day after they were made (Dec 2024): verify at their iat.
  const multipleAt = 1734311050 * 1000;

  it('verifies presentation-jose-multiple: its vc+jwt itself, the others through the hook', async () => {
    const seen: string[] = [];
    const verified = await verifyVpJwt(suite.tokens['presentation-jose-multiple'], {
      resolveKey,
      now: multipleAt,
      verifyEnvelopedCredential: async (mediaType) => {
        seen.push(mediaType);
        return { mediaType };
      },
    });
    expect(verified.holder).toBe('https://example.issuer/vc-jose-cose');
    expect(verified.credentials[0]?.id).toBe('http://university.example/credentials/1872');
    expect(seen).toEqual(['application/vc+sd-jwt', 'application/vc+cose;base64']);
  });

  it('without a hook verifies vc+sd-jwt and vc+cose itself: the suite vc+cose is refused', async () => {
    // Its base64 is line-wrapped, and under it is the test-29 token (a thumbprint kid without iss, §4.3).
    expect(
      await failure(verifyVpJwt(suite.tokens['presentation-jose-multiple'], { resolveKey, now: multipleAt })),
    ).toBe('malformed');
  });

  it('rejects presentation-jose-bad-credential (an enveloped id that is no data: URL)', async () => {
    expect(
      await failure(
        verifyVpJwt(suite.tokens['presentation-jose-bad-credential'], { resolveKey, now: 1734223620 * 1000 }),
      ),
    ).toBe('malformed');
  });

  it('rejects an expired presentation', async () => {
    expect(
      await failure(
        verifyVpJwt(suite.tokens['presentation-jose-multiple'], {
          resolveKey,
          now: Date.parse('2025-06-01T00:00:00Z'),
        }),
      ),
    ).toBe('expired');
  });
});
