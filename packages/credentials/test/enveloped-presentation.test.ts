import { base64 } from '@scure/base';
import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { HEADER, signCoseSign1 } from '../src/cose/cose-sign1.js';
import {
  CredentialError,
  envelopedPresentationClaims,
  issueVpCose,
  issueVpJwt,
  issueVpSdJwt,
  VP_COSE_DATA_URL,
  VP_SD_JWT_DATA_URL,
  vpCoseDataUrl,
} from '../src/index.js';
import { signCompactJws } from '../src/jose/compact.js';
import { key } from './jose-helpers.js';

const HOLDER = 'did:example:holder';
const HOLDER_KID = `${HOLDER}#key-1`;
const VP_JWT_DATA_URL = 'data:application/vp+jwt,';
const presentation = {
  '@context': ['https://www.w3.org/ns/credentials/v2'],
  type: ['VerifiablePresentation'],
  holder: HOLDER,
};
const challenge = { nonce: 'n-123', audience: 'https://verifier.example' };

/** The CredentialError code envelopedPresentationClaims throws for `id` (and that it throws one at all). */
function refusal(id: unknown): string {
  try {
    envelopedPresentationClaims(id);
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialError);
    return (error as CredentialError).code;
  }
  throw new Error(`${String(id)} was read`);
}

const holderKey = () => key('Ed25519', HOLDER_KID);

describe('envelopedPresentationClaims', () => {
  it('reads a vp+jwt payload: the presentation, nonce and aud', async () => {
    const { signer } = await holderKey();
    const jws = await issueVpJwt({ presentation, signer, ...challenge });
    expect(envelopedPresentationClaims(`${VP_JWT_DATA_URL}${jws}`)).toMatchObject({
      ...presentation,
      nonce: challenge.nonce,
      aud: challenge.audience,
    });
  });

  it('reads a vp+sd-jwt’s issuer-signed payload, never a claim from a Disclosure', async () => {
    const { signer } = await holderKey();
    const sdJwt = await issueVpSdJwt({ presentation, signer, ...challenge });
    expect(envelopedPresentationClaims(`${VP_SD_JWT_DATA_URL}${sdJwt}`)).toMatchObject({
      ...presentation,
      nonce: challenge.nonce,
      aud: challenge.audience,
    });
    const withheld = await issueVpSdJwt({ presentation, signer, disclosable: ['/holder'], ...challenge });
    expect(withheld.split('~')).toHaveLength(3);
    const claims = envelopedPresentationClaims(`${VP_SD_JWT_DATA_URL}${withheld}`);
    expect(claims.holder).toBeUndefined();
    expect(claims._sd).toHaveLength(1);
    expect(claims.nonce).toBe(challenge.nonce);
  });

  it('reads a vp+cose payload: the presentation, nonce and aud', async () => {
    const { signer } = await holderKey();
    const cose = await issueVpCose({ presentation, signer, ...challenge });
    expect(envelopedPresentationClaims(vpCoseDataUrl(cose))).toEqual({
      ...presentation,
      nonce: challenge.nonce,
      aud: challenge.audience,
    });
  });

  it('refuses an id that is not a vp+jwt, vp+sd-jwt or vp+cose data: URL', async () => {
    const { signer } = await holderKey();
    const jws = await issueVpJwt({ presentation, signer });
    expect(refusal(undefined)).toBe('malformed');
    expect(refusal({ id: `${VP_JWT_DATA_URL}${jws}` })).toBe('malformed');
    expect(refusal(`data:application/vp,${JSON.stringify(presentation)}`)).toBe('malformed');
    expect(refusal(`data:application/vc+jwt,${jws}`)).toBe('malformed');
    expect(refusal(`data:application/vp+cose,${jws}`)).toBe('malformed');
  });

  it('refuses a malformed or mistyped vp+jwt', async () => {
    const { signer } = await holderKey();
    const jws = await issueVpJwt({ presentation, signer });
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    expect(refusal(VP_JWT_DATA_URL)).toBe('malformed');
    expect(refusal(`${VP_JWT_DATA_URL}${header}.${payload}`)).toBe('malformed');
    expect(refusal(`${VP_JWT_DATA_URL}${header}.%%%.${signature}`)).toBe('malformed');
    const notAnObject = Buffer.from('["holder"]').toString('base64url');
    expect(refusal(`${VP_JWT_DATA_URL}${header}.${notAnObject}.${signature}`)).toBe('malformed');
    const unsigned = Buffer.from(JSON.stringify({ alg: 'none', typ: 'vp+jwt' })).toString('base64url');
    expect(refusal(`${VP_JWT_DATA_URL}${unsigned}.${payload}.${signature}`)).toBe('unsupported-alg');
    const credentialTyped = await signCompactJws({ typ: 'vc+jwt' }, presentation, signer);
    expect(refusal(`${VP_JWT_DATA_URL}${credentialTyped}`)).toBe('invalid-media-type');
  });

  it('refuses a malformed or mistyped vp+sd-jwt', async () => {
    const { signer } = await holderKey();
    const jws = await issueVpJwt({ presentation, signer });
    const sdJwt = await issueVpSdJwt({ presentation, signer });
    expect(refusal(`${VP_SD_JWT_DATA_URL}${sdJwt.slice(0, -1)}`)).toBe('malformed');
    expect(refusal(`${VP_SD_JWT_DATA_URL}~`)).toBe('malformed');
    expect(refusal(`${VP_SD_JWT_DATA_URL}not.a-jwt.at-all~`)).toBe('malformed');
    expect(refusal(`${VP_SD_JWT_DATA_URL}${jws}~`)).toBe('invalid-media-type');
  });

  it('refuses a malformed or mistyped vp+cose', async () => {
    const { signer } = await holderKey();
    const typed = new Map<number, unknown>([[HEADER.typ, 'application/vp+cose']]);
    const notJson = await signCoseSign1(typed, new TextEncoder().encode('holder'), signer);
    const credentialTyped = await signCoseSign1(
      new Map<number, unknown>([[HEADER.typ, 'application/vc+cose']]),
      new TextEncoder().encode(JSON.stringify(presentation)),
      signer,
    );
    expect(refusal(VP_COSE_DATA_URL)).toBe('malformed');
    expect(refusal(`${VP_COSE_DATA_URL}not base64!`)).toBe('malformed');
    expect(refusal(`${VP_COSE_DATA_URL}${base64.encode(new Uint8Array([0xff, 0x00]))}`)).toBe('malformed');
    expect(refusal(`${VP_COSE_DATA_URL}${base64.encode(encode(['not', 'a', 'COSE_Sign1']))}`)).toBe(
      'malformed',
    );
    expect(refusal(vpCoseDataUrl(notJson))).toBe('malformed');
    expect(refusal(vpCoseDataUrl(credentialTyped))).toBe('invalid-media-type');
  });
});
