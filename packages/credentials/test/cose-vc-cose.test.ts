import { readFileSync } from 'node:fs';
import type { SignatureAlgorithm } from '@personachain/crypto';
import { decode, encode } from 'cborg';
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { decodeCoseSign1, HEADER, signCoseSign1, verifyCoseSign1Signature } from '../src/cose/cose-sign1.js';
import {
  issueVcCose,
  parseVcCoseDataUrl,
  type ResolveKey,
  VC_COSE_DATA_URL,
  vcCoseDataUrl,
  verifyVcCose,
} from '../src/index.js';
import {
  credentialCoseBadMediaType,
  credentialCoseBadSignature,
  credentialCoseMinimal,
  credentialCoseNotBase64,
} from './fixtures/conformance/vc-jose-cose-sd-jwt-cose-inputs.js';
import { failure, key } from './jose-helpers.js';

const ISSUER = 'did:example:issuer';
const KID = `${ISSUER}#key-1`;
const credential = {
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
  id: 'http://university.example/credentials/1872',
  type: ['VerifiableCredential', 'ExampleAlumniCredential'],
  issuer: ISSUER,
  validFrom: '2010-01-01T19:23:24Z',
  credentialSubject: { id: 'did:example:123', alumniOf: { name: 'Example University' } },
};

async function issuerKey(algorithm: SignatureAlgorithm = 'Ed25519') {
  const { signer, jwk } = await key(algorithm, KID);
  const resolveKey: ResolveKey = async (kid, controller) =>
    kid === KID && controller === ISSUER ? jwk : undefined;
  return { signer, jwk, resolveKey };
}

/** The COSE_Sign1 with one of its four members replaced (re-encoded, tag 18 kept). */
function withMember(cose: Uint8Array, index: number, value: unknown): Uint8Array {
  const members = decode(cose.subarray(1), { useMaps: true }) as unknown[];
  members[index] = value;
  const body = encode(members);
  return Uint8Array.from([0xd2, ...body]);
}

describe('vc+cose (VC-JOSE-COSE §3.3)', () => {
  for (const [algorithm, alg] of [
    ['Ed25519', -8],
    ['P-256', -7],
    ['P-384', -35],
  ] as const) {
    it(`issues a tagged COSE_Sign1 with ${algorithm} (alg ${alg}) and verifies it`, async () => {
      const { signer, resolveKey } = await issuerKey(algorithm);
      const cose = await issueVcCose({ credential, signer });
      expect(cose[0]).toBe(0xd2);
      const decoded = decodeCoseSign1(cose);
      expect(decoded.alg).toBe(alg);
      expect(decoded.protectedHeader.get(HEADER.typ)).toBe('application/vc+cose');
      expect(decoded.protectedHeader.get(HEADER.contentType)).toBe('application/vc');
      expect(new TextDecoder().decode(decoded.protectedHeader.get(HEADER.kid) as Uint8Array)).toBe(KID);
      expect(JSON.parse(new TextDecoder().decode(decoded.payload))).toEqual(credential);
      const verified = await verifyVcCose(cose, { resolveKey });
      expect(verified).toMatchObject({ credential, issuer: ISSUER, kid: KID });
    });
  }

  it('round-trips through the base64 data: URL of an EnvelopedVerifiableCredential', async () => {
    const { signer, resolveKey } = await issuerKey('P-256');
    const cose = await issueVcCose({ credential, signer });
    const id = vcCoseDataUrl(cose);
    expect(id.startsWith(VC_COSE_DATA_URL)).toBe(true);
    expect(await verifyVcCose(parseVcCoseDataUrl(id), { resolveKey })).toMatchObject({ issuer: ISSUER });
    expect(
      await failure(Promise.resolve().then(() => parseVcCoseDataUrl('data:application/vc+jwt,abc'))),
    ).toBe('malformed');
  });

  it('refuses a tampered payload, signature or protected header, and a wrong key', async () => {
    const { signer, resolveKey } = await issuerKey('P-256');
    const cose = await issueVcCose({ credential, signer });
    const decoded = decodeCoseSign1(cose);
    const otherPayload = new TextEncoder().encode(JSON.stringify({ ...credential, id: 'urn:uuid:other' }));
    expect(await failure(verifyVcCose(withMember(cose, 2, otherPayload), { resolveKey }))).toBe(
      'invalid-signature',
    );
    const signature = Uint8Array.from(decoded.signature);
    signature[5] = (signature[5] as number) ^ 1;
    expect(await failure(verifyVcCose(withMember(cose, 3, signature), { resolveKey }))).toBe(
      'invalid-signature',
    );
    const header = new Map(decoded.protectedHeader);
    header.set(HEADER.contentType, 'application/vc');
    header.set(99, 'added');
    expect(await failure(verifyVcCose(withMember(cose, 0, encode(header)), { resolveKey }))).toBe(
      'invalid-signature',
    );
    const other = await issuerKey('P-256');
    expect(await failure(verifyVcCose(cose, { resolveKey: other.resolveKey }))).toBe('invalid-signature');
  });

  it('refuses a wrong typ, an unknown alg, crit, and what is not a COSE_Sign1', async () => {
    const { signer, resolveKey } = await issuerKey();
    const payload = new TextEncoder().encode(JSON.stringify(credential));
    const typed = await signCoseSign1(
      new Map<number, unknown>([[HEADER.typ, 'application/vp+cose']]),
      payload,
      signer,
    );
    expect(await failure(verifyVcCose(typed, { resolveKey }))).toBe('invalid-media-type');
    const cose = await issueVcCose({ credential, signer });
    const header = new Map(decodeCoseSign1(cose).protectedHeader);
    header.set(HEADER.alg, -257);
    expect(await failure(verifyVcCose(withMember(cose, 0, encode(header)), { resolveKey }))).toBe(
      'unsupported-alg',
    );
    header.set(HEADER.alg, -8);
    header.set(HEADER.crit, [99]);
    expect(await failure(verifyVcCose(withMember(cose, 0, encode(header)), { resolveKey }))).toBe(
      'malformed',
    );
    expect(await failure(verifyVcCose(encode([1, 2, 3]), { resolveKey }))).toBe('malformed');
    expect(await failure(verifyVcCose(new TextEncoder().encode('{"not":"cbor"}'), { resolveKey }))).toBe(
      'malformed',
    );
  });

  it('checks the credential (VCDM 2.0, issuer key hints) and its validity window', async () => {
    const { signer, resolveKey } = await issuerKey();
    const unsigned = new TextEncoder().encode(
      JSON.stringify({ ...credential, type: ['ExampleAlumniCredential'] }),
    );
    const header = new Map<number, unknown>([[HEADER.typ, 'application/vc+cose']]);
    expect(await failure(verifyVcCose(await signCoseSign1(header, unsigned, signer), { resolveKey }))).toBe(
      'malformed',
    );
    expect(await failure(issueVcCose({ credential: { ...credential, vc: {} }, signer }))).toBe(
      'invalid-credential',
    );
    const expired = await issueVcCose({
      credential: { ...credential, validUntil: '2020-01-01T00:00:00Z' },
      signer,
    });
    expect(await failure(verifyVcCose(expired, { resolveKey }))).toBe('expired');
    const future = await issueVcCose({
      credential: { ...credential, validFrom: '2999-01-01T00:00:00Z' },
      signer,
    });
    expect(await failure(verifyVcCose(future, { resolveKey }))).toBe('not-yet-valid');
    const cwtExpired = await signCoseSign1(
      new Map<number, unknown>([
        [HEADER.typ, 'application/vc+cose'],
        [HEADER.cwtClaims, new Map([[4, 1_600_000_000]])],
      ]),
      new TextEncoder().encode(JSON.stringify(credential)),
      signer,
    );
    expect(await failure(verifyVcCose(cwtExpired, { resolveKey }))).toBe('expired');
    const wrongIss = await signCoseSign1(
      new Map<number, unknown>([
        [HEADER.typ, 'application/vc+cose'],
        [HEADER.cwtClaims, new Map([[1, 'did:example:mallory']])],
      ]),
      new TextEncoder().encode(JSON.stringify(credential)),
      signer,
    );
    expect(await failure(verifyVcCose(wrongIss, { resolveKey }))).toBe('issuer-mismatch');
  });
});

describe('W3C vc-jose-cose-test-suite COSE inputs', () => {
  const suite = JSON.parse(
    readFileSync(new URL('./vectors/jose-vc-jose-cose-test-suite.json', import.meta.url), 'utf8'),
  ) as { keys: Record<string, JWK & { kid: string }> };
  const byKid = (kid: string) => Object.values(suite.keys).find((jwk) => jwk.kid === kid) as JWK;
  const resolveKey: ResolveKey = async (kid) => (kid === undefined ? undefined : byKid(kid));
  const dataUrl = (data: string) => `${VC_COSE_DATA_URL}${data}`;

  it('29: the signature of credential-minimal-cose-signed (ES256) verifies; §4.3 refuses its thumbprint kid without iss', async () => {
    const cose = parseVcCoseDataUrl(dataUrl(credentialCoseMinimal));
    const decoded = decodeCoseSign1(cose);
    await verifyCoseSign1Signature(decoded, byKid('73voMXFNmNlOEpuYCSJlh8eN0dscykoO6gBukgRS1uU'));
    expect(await failure(verifyVcCose(cose, { resolveKey }))).toBe('malformed');
  });

  it('30: hex instead of base64 does not decode to a COSE_Sign1', async () => {
    expect(
      await failure(
        Promise.resolve().then(() =>
          verifyVcCose(parseVcCoseDataUrl(dataUrl(credentialCoseNotBase64)), { resolveKey }),
        ),
      ),
    ).toBe('malformed');
  });

  it('32, 33: refuses credential-cose-bad-signature and -bad-media-type', async () => {
    const bad = decodeCoseSign1(parseVcCoseDataUrl(dataUrl(credentialCoseBadSignature)));
    expect(
      await failure(verifyCoseSign1Signature(bad, byKid('2aOHaQxsWVT4mLsUkdtlCnUV-au0BBR-5yPYaPaCc5k'))),
    ).toBe('invalid-signature');
    expect(
      await failure(verifyVcCose(parseVcCoseDataUrl(dataUrl(credentialCoseBadMediaType)), { resolveKey })),
    ).toBe('invalid-media-type');
  });
});
