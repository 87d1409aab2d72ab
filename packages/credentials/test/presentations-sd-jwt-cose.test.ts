import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { decodeCoseSign1, verifyCoseSign1Signature } from '../src/cose/cose-sign1.js';
import {
  issueVcCose,
  issueVcJwt,
  issueVcSdJwt,
  issueVpCose,
  issueVpJwt,
  issueVpSdJwt,
  parseVpCoseDataUrl,
  type ResolveKey,
  VC_SD_JWT_DATA_URL,
  vcCoseDataUrl,
  verifyVpCose,
  verifyVpCoseHolder,
  verifyVpJwt,
  verifyVpSdJwt,
  vpCoseDataUrl,
} from '../src/index.js';
import {
  presentationCoseBadCredential,
  presentationCoseBadMediaType,
  presentationCoseSingle,
  presentationSdJwtBadCredential,
  presentationSdJwtBadMediaType,
  presentationSdJwtSelective,
} from './fixtures/conformance/vc-jose-cose-sd-jwt-cose-inputs.js';
import { failure, key } from './jose-helpers.js';

const ISSUER = 'did:example:issuer';
const HOLDER = 'did:example:holder';
const ISSUER_KID = `${ISSUER}#key-1`;
const HOLDER_KID = `${HOLDER}#key-1`;
const CONTEXT = ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'];

const credential = {
  '@context': CONTEXT,
  type: ['VerifiableCredential', 'IdentityCredential'],
  issuer: ISSUER,
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: { id: HOLDER, firstName: 'Jane', lastName: 'Doe' },
};

const envelope = (id: string) => ({ '@context': CONTEXT[0], type: 'EnvelopedVerifiableCredential', id });

/** An issuer and a holder key, and a presentation holding the credential as vc+jwt, vc+sd-jwt and vc+cose. */
async function setup() {
  const issuer = await key('P-256', ISSUER_KID);
  const holder = await key('Ed25519', HOLDER_KID);
  const other = await key('Ed25519', HOLDER_KID);
  const keys: Record<string, JWK> = { [ISSUER_KID]: issuer.jwk, [HOLDER_KID]: holder.jwk };
  const resolveKey: ResolveKey = async (kid) => (kid === undefined ? undefined : keys[kid]);
  const sdJwt = await issueVcSdJwt({
    credential,
    signer: issuer.signer,
    disclosable: ['/credentialSubject/firstName', '/credentialSubject/lastName'],
  });
  const presentation = {
    '@context': CONTEXT,
    type: 'VerifiablePresentation',
    holder: HOLDER,
    verifiableCredential: [
      envelope(`data:application/vc+jwt,${await issueVcJwt({ credential, signer: issuer.signer })}`),
      envelope(`${VC_SD_JWT_DATA_URL}${sdJwt}`),
      envelope(vcCoseDataUrl(await issueVcCose({ credential, signer: issuer.signer }))),
    ],
  };
  return { issuer, holder, other, resolveKey, presentation };
}

const challenge = { nonce: 'n-123', audience: 'https://verifier.example' };

describe('vp+sd-jwt (VC-JOSE-COSE §3.2.2)', () => {
  it('round trip: typ vp+sd-jwt, cty vp; holder, nonce, aud; the three credential formats verified', async () => {
    const { holder, resolveKey, presentation } = await setup();
    const sdJwt = await issueVpSdJwt({
      presentation,
      signer: holder.signer,
      disclosable: ['/verifiableCredential/2'],
      ...challenge,
    });
    const header = JSON.parse(Buffer.from(sdJwt.split('.')[0] as string, 'base64url').toString());
    expect(header).toMatchObject({ typ: 'vp+sd-jwt', cty: 'vp', kid: HOLDER_KID });
    const verified = await verifyVpSdJwt(sdJwt, { resolveKey, ...challenge });
    expect(verified.holder).toBe(HOLDER);
    expect(verified.credentials).toHaveLength(3);
    for (const entry of verified.credentials)
      expect(entry.credentialSubject).toMatchObject({ firstName: 'Jane' });
    // The holder withholds the disclosable credential: the rest still verifies.
    const withheld = `${sdJwt.split('~')[0]}~`;
    expect((await verifyVpSdJwt(withheld, { resolveKey, ...challenge })).credentials).toHaveLength(2);
  });

  it('refuses tampering, a wrong holder key, and a challenge or domain mismatch', async () => {
    const { holder, other, resolveKey, presentation } = await setup();
    const sdJwt = await issueVpSdJwt({ presentation, signer: holder.signer, ...challenge });
    const [jwt = ''] = sdJwt.split('~');
    const [h, p, s] = jwt.split('.');
    const payload = JSON.parse(Buffer.from(p as string, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...payload, nonce: 'n-999' })).toString('base64url');
    expect(await failure(verifyVpSdJwt(`${h}.${forged}.${s}~`, { resolveKey }))).toBe('invalid-signature');
    const byOther = await issueVpSdJwt({ presentation, signer: other.signer, ...challenge });
    expect(await failure(verifyVpSdJwt(byOther, { resolveKey }))).toBe('invalid-signature');
    expect(await failure(verifyVpSdJwt(sdJwt, { resolveKey, nonce: 'n-999' }))).toBe('nonce-mismatch');
    expect(await failure(verifyVpSdJwt(sdJwt, { resolveKey, audience: 'https://evil.example' }))).toBe(
      'audience-mismatch',
    );
    // A vp+jwt is not a vp+sd-jwt (explicit typing), and nonce/aud stay disclosed.
    const vpJwt = await issueVpJwt({ presentation, signer: holder.signer });
    expect(await failure(verifyVpSdJwt(`${vpJwt}~`, { resolveKey }))).toBe('invalid-media-type');
    await expect(
      issueVpSdJwt({ presentation, signer: holder.signer, disclosable: ['/nonce'], ...challenge }),
    ).rejects.toMatchObject({ code: 'invalid-pointer' });
  });

  it('refuses a presentation whose enveloped credential does not verify', async () => {
    const { holder, resolveKey, presentation } = await setup();
    const [first] = presentation.verifiableCredential;
    const broken = { ...presentation, verifiableCredential: [{ ...first, id: `${first?.id}x` }] };
    const sdJwt = await issueVpSdJwt({ presentation: broken, signer: holder.signer });
    expect(await failure(verifyVpSdJwt(sdJwt, { resolveKey }))).toBe('invalid-signature');
    const unsecured = { ...presentation, verifiableCredential: [credential] };
    await expect(issueVpSdJwt({ presentation: unsecured, signer: holder.signer })).rejects.toMatchObject({
      code: 'invalid-presentation',
    });
  });
});

describe('vp+cose (VC-JOSE-COSE §3.3.2)', () => {
  it('round trip: typ application/vp+cose, base64 data: URL, the three credential formats verified', async () => {
    const { holder, resolveKey, presentation } = await setup();
    const cose = await issueVpCose({ presentation, signer: holder.signer, ...challenge });
    const decoded = decodeCoseSign1(parseVpCoseDataUrl(vpCoseDataUrl(cose)));
    expect(decoded.protectedHeader.get(16)).toBe('application/vp+cose');
    expect(decoded.protectedHeader.get(3)).toBe('application/vp');
    const verified = await verifyVpCose(cose, { resolveKey, ...challenge });
    expect(verified.holder).toBe(HOLDER);
    expect(verified.kid).toBe(HOLDER_KID);
    expect(verified.credentials.map((entry) => entry.issuer)).toEqual([ISSUER, ISSUER, ISSUER]);
  });

  it('refuses tampering, a wrong holder key, and a challenge or domain mismatch', async () => {
    const { holder, other, resolveKey, presentation } = await setup();
    const cose = await issueVpCose({ presentation, signer: holder.signer, ...challenge });
    const tampered = Uint8Array.from(cose);
    const at = Buffer.from(tampered).indexOf('n-123');
    tampered[at + 4] = '9'.charCodeAt(0);
    expect(await failure(verifyVpCose(tampered, { resolveKey }))).toBe('invalid-signature');
    const byOther = await issueVpCose({ presentation, signer: other.signer });
    expect(await failure(verifyVpCose(byOther, { resolveKey }))).toBe('invalid-signature');
    expect(await failure(verifyVpCose(cose, { resolveKey, nonce: 'n-999' }))).toBe('nonce-mismatch');
    expect(await failure(verifyVpCose(cose, { resolveKey, audience: 'https://evil.example' }))).toBe(
      'audience-mismatch',
    );
    const vcCose = await issueVcCose({ credential, signer: holder.signer });
    expect(await failure(verifyVpCose(vcCose, { resolveKey }))).toBe('invalid-media-type');
  });

  it('vp+jwt verifies enveloped vc+sd-jwt and vc+cose itself', async () => {
    const { holder, resolveKey, presentation } = await setup();
    const vpJwt = await issueVpJwt({ presentation, signer: holder.signer });
    expect((await verifyVpJwt(vpJwt, { resolveKey })).credentials).toHaveLength(3);
  });
});

describe('W3C vc-jose-cose-test-suite presentations (SD-JWT, COSE)', () => {
  const suite = JSON.parse(
    readFileSync(new URL('./vectors/jose-vc-jose-cose-test-suite.json', import.meta.url), 'utf8'),
  ) as { keys: Record<string, JWK & { kid: string }> };
  const byKid = (kid: string) => Object.values(suite.keys).find((jwk) => jwk.kid === kid) as JWK;
  const resolveKey: ResolveKey = async (kid) => Object.values(suite.keys).find((jwk) => jwk.kid === kid);

  it('22: verifies presentation-sdjwt-selective (ES384): holder disclosed, its vc+sd-jwt verified', async () => {
    const verified = await verifyVpSdJwt(presentationSdJwtSelective, { resolveKey });
    expect(verified.holder).toBe('https://example.issuer/vc-jose-cose');
    expect(verified.credentials[0]?.credentialSubject).toMatchObject({ firstName: 'Jane', lastName: 'Doe' });
  });

  it('25, 26: refuses presentation-sdjwt-bad-media-type and -bad-credential', async () => {
    expect(await failure(verifyVpSdJwt(presentationSdJwtBadMediaType, { resolveKey }))).toBe(
      'invalid-media-type',
    );
    expect(await failure(verifyVpSdJwt(presentationSdJwtBadCredential, { resolveKey }))).toBe(
      'invalid-media-type',
    );
  });

  it('31: the signature of presentation-cose-single (ES384) verifies; §4.3 refuses its thumbprint kid without iss', async () => {
    const cose = Buffer.from(presentationCoseSingle, 'base64');
    await verifyCoseSign1Signature(
      decodeCoseSign1(cose),
      byKid('96qBnDpvS6x8YSCH_xmnLlXZMkDhHBr8lj99u5aog7s'),
    );
    expect(await failure(verifyVpCoseHolder(cose, { resolveKey }))).toBe('malformed');
  });

  it('34, 35: refuses presentation-cose-bad-media-type and -bad-credential', async () => {
    const badMediaType = Buffer.from(presentationCoseBadMediaType, 'base64');
    expect(await failure(verifyVpCose(badMediaType, { resolveKey }))).toBe('invalid-media-type');
    const badCredential = Buffer.from(presentationCoseBadCredential, 'base64');
    expect(await failure(verifyVpCose(badCredential, { resolveKey }))).toBe('malformed');
  });
});
