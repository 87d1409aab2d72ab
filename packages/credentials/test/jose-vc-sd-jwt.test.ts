import { readFileSync } from 'node:fs';
import type { SignatureAlgorithm } from '@personachain/crypto';
import { base64url, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { issueVcSdJwt, presentVcSdJwt, type ResolveKey, verifyVcSdJwt } from '../src/index.js';
import { signCompactJws } from '../src/jose/compact.js';
import { sha256Hasher } from '../src/sd-jwt/digest.js';
import {
  credentialSdJwtBadMediaType,
  credentialSdJwtBadSignature,
  credentialSdJwtSelective,
} from './fixtures/conformance/vc-jose-cose-sd-jwt-cose-inputs.js';
import { failure, key } from './jose-helpers.js';

const ISSUER = 'did:example:issuer';
const KID = `${ISSUER}#key-1`;

const credential = {
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
  id: 'urn:uuid:2f1b3c4d-0000-4000-8000-000000000001',
  type: ['VerifiableCredential', 'IdentityCredential'],
  issuer: ISSUER,
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: {
    id: 'did:example:subject',
    firstName: 'Jane',
    lastName: 'Doe',
    address: { street: '1 Main St', city: 'Springfield' },
    phoneNumbers: ['+1 555 0100', '+1 555 0101'],
  },
};
const disclosable = [
  '/credentialSubject/firstName',
  '/credentialSubject/lastName',
  '/credentialSubject/address/street',
  '/credentialSubject/phoneNumbers/0',
];

async function issuerKey(algorithm: SignatureAlgorithm = 'Ed25519') {
  const { signer, jwk } = await key(algorithm, KID);
  const resolveKey: ResolveKey = async (kid, controller) =>
    kid === KID && controller === ISSUER ? jwk : undefined;
  return { signer, jwk, resolveKey };
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
const digest = async (disclosure: string) => base64url.encode(await sha256Hasher(disclosure, 'sha-256'));

describe('vc+sd-jwt (VC-JOSE-COSE §3.2)', () => {
  for (const algorithm of ['Ed25519', 'P-256', 'P-384'] as const) {
    it(`issues and verifies with ${algorithm}: typ vc+sd-jwt, cty vc, the credential rebuilt`, async () => {
      const { signer, resolveKey } = await issuerKey(algorithm);
      const sdJwt = await issueVcSdJwt({ credential, signer, disclosable });
      expect(sdJwt.endsWith('~')).toBe(true);
      expect(sdJwt.split('~')).toHaveLength(2 + disclosable.length);
      const header = JSON.parse(Buffer.from(sdJwt.split('.')[0] as string, 'base64url').toString());
      expect(header).toMatchObject({ typ: 'vc+sd-jwt', cty: 'vc', kid: KID });
      const payload = JSON.parse(Buffer.from(sdJwt.split('.')[1] as string, 'base64url').toString());
      expect(payload.credentialSubject.firstName).toBeUndefined();
      expect(payload._sd_alg).toBe('sha-256');
      const verified = await verifyVcSdJwt(sdJwt, { resolveKey });
      expect(verified.issuer).toBe(ISSUER);
      expect(verified.credential).toEqual(credential);
    });
  }

  it('lets the holder present a subset: withheld claims are absent, the rest verifies', async () => {
    const { signer, resolveKey } = await issuerKey('P-256');
    const sdJwt = await issueVcSdJwt({ credential, signer, disclosable });
    const presented = await presentVcSdJwt({ sdJwt, disclose: ['/credentialSubject/firstName'] });
    expect(presented.split('~')).toHaveLength(3);
    const { credential: shown } = await verifyVcSdJwt(presented, { resolveKey });
    const subject = shown.credentialSubject as Record<string, unknown>;
    expect(subject.firstName).toBe('Jane');
    expect(subject.lastName).toBeUndefined();
    expect(subject.address).toEqual({ city: 'Springfield' });
    expect(subject.phoneNumbers).toEqual(['+1 555 0101']);
  });

  it('refuses disclosable pointers to what validation needs, or to nothing', async () => {
    const { signer } = await issuerKey();
    for (const pointer of ['/type', '/issuer', '/@context', '/validFrom', '/credentialStatus', '', '/nope']) {
      expect(await failure(issueVcSdJwt({ credential, signer, disclosable: [pointer] }))).toBe(
        'invalid-pointer',
      );
    }
  });

  it('refuses a tampered payload, signature or disclosure, a repeated disclosure and a wrong key', async () => {
    const { signer, resolveKey } = await issuerKey('P-384');
    const sdJwt = await issueVcSdJwt({ credential, signer, disclosable });
    const [jwt, ...rest] = sdJwt.split('~') as [string, ...string[]];
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    payload.credentialSubject.id = 'did:example:mallory';
    expect(
      await failure(verifyVcSdJwt([`${h}.${encode(payload)}.${s}`, ...rest].join('~'), { resolveKey })),
    ).toBe('invalid-signature');
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(await failure(verifyVcSdJwt([`${h}.${p}.${flipped}`, ...rest].join('~'), { resolveKey }))).toBe(
      'invalid-signature',
    );
    const forged = encode(['c2FsdHNhbHRzYWx0', 'firstName', 'Eve']);
    expect(await failure(verifyVcSdJwt([jwt, forged, ...rest.slice(1)].join('~'), { resolveKey }))).toBe(
      'invalid-disclosure',
    );
    expect(await failure(verifyVcSdJwt([jwt, rest[0], ...rest].join('~'), { resolveKey }))).toBe(
      'invalid-disclosure',
    );
    const other = await issuerKey('P-384');
    expect(await failure(verifyVcSdJwt(sdJwt, { resolveKey: other.resolveKey }))).toBe('invalid-signature');
  });

  it('refuses a typ other than vc+sd-jwt and an alg it does not accept', async () => {
    const { signer, resolveKey } = await issuerKey();
    const sdJwt = await issueVcSdJwt({ credential, signer });
    const [jwt] = sdJwt.split('~') as [string];
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString());
    const dcTyped = await signCompactJws({ typ: 'dc+sd-jwt' }, payload, signer);
    expect(await failure(verifyVcSdJwt(`${dcTyped}~`, { resolveKey }))).toBe('invalid-media-type');
    const hmac = `${encode({ alg: 'HS256', typ: 'vc+sd-jwt', kid: KID })}.${jwt.split('.')[1]}.${jwt.split('.')[2]}~`;
    expect(await failure(verifyVcSdJwt(hmac, { resolveKey }))).toBe('unsupported-alg');
  });

  it('refuses _sd in the wrong places: a disclosed name that exists, an array disclosure under _sd, _sd not a list', async () => {
    const { signer, resolveKey } = await issuerKey();
    const sign = (subject: Record<string, unknown>) =>
      signCompactJws(
        { typ: 'vc+sd-jwt', cty: 'vc' },
        { ...credential, credentialSubject: subject, _sd_alg: 'sha-256' },
        signer,
      );
    const clash = encode(['c2FsdA', 'firstName', 'Eve']);
    const jwt1 = await sign({ id: 'did:example:subject', firstName: 'Jane', _sd: [await digest(clash)] });
    expect(await failure(verifyVcSdJwt(`${jwt1}~${clash}~`, { resolveKey }))).toBe('invalid-disclosure');
    const element = encode(['c2FsdA', 'Eve']);
    const jwt2 = await sign({ id: 'did:example:subject', _sd: [await digest(element)] });
    expect(await failure(verifyVcSdJwt(`${jwt2}~${element}~`, { resolveKey }))).toBe('invalid-disclosure');
    const named = encode(['c2FsdA', '_sd', ['x']]);
    const jwt3 = await sign({ id: 'did:example:subject', _sd: [await digest(named)] });
    expect(await failure(verifyVcSdJwt(`${jwt3}~${named}~`, { resolveKey }))).toBe('invalid-disclosure');
    const jwt4 = await sign({ id: 'did:example:subject', _sd: 'not-a-list' });
    expect(await failure(verifyVcSdJwt(`${jwt4}~`, { resolveKey }))).toBe('invalid-disclosure');
  });

  it('checks validFrom/validUntil', async () => {
    const { signer, resolveKey } = await issuerKey();
    const expired = await issueVcSdJwt({
      credential: { ...credential, validUntil: '2024-06-01T00:00:00Z' },
      signer,
    });
    expect(
      await failure(verifyVcSdJwt(expired, { resolveKey, now: Date.parse('2025-01-01T00:00:00Z') })),
    ).toBe('expired');
    const future = await issueVcSdJwt({
      credential: { ...credential, validFrom: '2999-01-01T00:00:00Z' },
      signer,
    });
    expect(await failure(verifyVcSdJwt(future, { resolveKey }))).toBe('not-yet-valid');
  });

  it('binds the holder key (cnf) and checks the KB-JWT when asked', async () => {
    const { signer, resolveKey } = await issuerKey();
    const holder = await key('P-256', 'did:example:holder#key-1');
    const sdJwt = await issueVcSdJwt({ credential, signer, disclosable, holderKey: holder.jwk as JWK });
    const keyBinding = { nonce: 'n-0S6_WzA2Mj', audience: 'https://verifier.example' };
    const presented = await presentVcSdJwt({
      sdJwt,
      disclose: ['/credentialSubject/lastName'],
      keyBinding: { signer: holder.signer, ...keyBinding },
    });
    const verified = await verifyVcSdJwt(presented, { resolveKey, keyBinding });
    expect(verified.keyBinding).toMatchObject({ nonce: keyBinding.nonce, aud: keyBinding.audience });
    expect(
      await failure(verifyVcSdJwt(presented, { resolveKey, keyBinding: { ...keyBinding, nonce: 'other' } })),
    ).toBe('nonce-mismatch');
    const withoutKb = await presentVcSdJwt({ sdJwt, disclose: [] });
    expect(await failure(verifyVcSdJwt(withoutKb, { resolveKey, keyBinding }))).toBe('key-binding-required');
    // A KB-JWT over other disclosures than the ones presented.
    const kbJwt = presented.split('~').at(-1) as string;
    const swapped = `${withoutKb}${kbJwt}`;
    expect(await failure(verifyVcSdJwt(swapped, { resolveKey, keyBinding }))).toBe('key-binding-invalid');
  });
});

describe('W3C vc-jose-cose-test-suite SD-JWT inputs', () => {
  const suite = JSON.parse(
    readFileSync(new URL('./vectors/jose-vc-jose-cose-test-suite.json', import.meta.url), 'utf8'),
  ) as { keys: Record<string, JWK & { kid: string }> };
  const resolveKey: ResolveKey = async (kid) => Object.values(suite.keys).find((jwk) => jwk.kid === kid);

  it('20: verifies credential-sdjwt-selective (ES384) with both disclosures', async () => {
    const verified = await verifyVcSdJwt(credentialSdJwtSelective, { resolveKey });
    expect(verified.issuer).toBe('https://example.issuer/vc-jose-cose');
    expect(verified.credential.credentialSubject).toMatchObject({ firstName: 'Jane', lastName: 'Doe' });
  });

  it('23, 24: refuses credential-sdjwt-bad-signature and -bad-media-type', async () => {
    expect(await failure(verifyVcSdJwt(credentialSdJwtBadSignature, { resolveKey }))).toBe(
      'invalid-signature',
    );
    expect(await failure(verifyVcSdJwt(credentialSdJwtBadMediaType, { resolveKey }))).toBe(
      'invalid-media-type',
    );
  });
});
