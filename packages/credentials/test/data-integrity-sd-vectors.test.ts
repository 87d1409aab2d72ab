import { readFileSync } from 'node:fs';
import { decodeSecretKeyMultibase, encodePublicKeyMultibase, signatureScheme } from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import { createBbsSigner, deriveCredential, verifyCredential } from '../src/index.js';
import { documentLoader } from './data-integrity-sd-helpers.js';

type Json = Record<string, unknown>;
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
const ecdsa = read('di-sd-ecdsa.json');
const bbs = read('di-sd-bbs.json');
const hex = (value: string) => Uint8Array.from(Buffer.from(value, 'hex'));
const ISSUER = 'https://vc.example/windsurf/racecommittee';

/**
 * The vectors' issuer is an https URL that does not control their did:key: the proof verifies, the issuer
 * binding does not, which is the only error.
 */
async function expectOnlyIssuerMismatch(credential: Json, presentationHeader?: Uint8Array) {
  const result = await verifyCredential({
    credential,
    documentLoader,
    ...(presentationHeader === undefined ? {} : { presentationHeader }),
  });
  expect(result.errors.map((e) => e.code)).toEqual(['issuer-mismatch']);
  expect(result.errors[0]?.message).toContain(ISSUER);
}

describe('vc-di-ecdsa ecdsa-sd-2023 test vectors', () => {
  it('the published derived proof verifies, and fails once a disclosed value changes', async () => {
    await expectOnlyIssuerMismatch(ecdsa.derived);
    const tampered = structuredClone(ecdsa.derived);
    tampered.credentialSubject.sails[0].year = 2024;
    const result = await verifyCredential({ credential: tampered, documentLoader });
    expect(result.errors.map((e) => e.code)).toContain('invalid-signature');
  });

  it('deriving from the published base proof reproduces the published derived credential byte for byte', async () => {
    const derived = await deriveCredential({
      credential: ecdsa.signedBase,
      selectivePointers: ecdsa.selectivePointers,
      documentLoader,
    });
    expect(JSON.stringify(derived)).toBe(JSON.stringify(ecdsa.derived));
  });

  it('the published base proof is refused by verifiers', async () => {
    const result = await verifyCredential({ credential: ecdsa.signedBase, documentLoader });
    expect(result.errors.map((e) => e.code)).toEqual(['derived-proof-required']);
  });

  it('the key material is the verification method of the proofs', async () => {
    const { baseKeyPair } = ecdsa.keyMaterial;
    const { secretKey } = decodeSecretKeyMultibase(baseKeyPair.privateKeyMultibase, 'P-256');
    const publicKey = await signatureScheme('P-256').publicKeyFromSecretKey(secretKey);
    expect(encodePublicKeyMultibase('P-256', publicKey)).toBe(baseKeyPair.publicKeyMultibase);
    expect(ecdsa.derived.proof.verificationMethod).toBe(
      `did:key:${baseKeyPair.publicKeyMultibase}#${baseKeyPair.publicKeyMultibase}`,
    );
  });
});

describe('vc-di-bbs bbs-2023 test vectors', () => {
  const presentationHeader = hex(bbs.presentationHeaderHex);

  it('the published derived proof verifies with its presentation header, not with another', async () => {
    await expectOnlyIssuerMismatch(bbs.derived, presentationHeader);
    const other = await verifyCredential({
      credential: bbs.derived,
      documentLoader,
      presentationHeader: hex('00'),
    });
    expect(other.errors.map((e) => e.code)).toEqual(['presentation-header-mismatch']);
    const tampered = structuredClone(bbs.derived);
    tampered.credentialSubject.boards[1].brand = 'Naish';
    const result = await verifyCredential({ credential: tampered, documentLoader });
    expect(result.errors.map((e) => e.code)).toContain('invalid-signature');
  });

  it('deriving from the published base proof discloses the published document, with a proof that verifies', async () => {
    const derived = await deriveCredential({
      credential: bbs.signedBase,
      selectivePointers: bbs.selectivePointers,
      documentLoader,
      presentationHeader,
    });
    const { proof, ...document } = derived;
    const { proof: publishedProof, ...publishedDocument } = bbs.derived;
    expect(JSON.stringify(document)).toBe(JSON.stringify(publishedDocument));
    // Same proof options; the BBS proof itself is randomized.
    expect({ ...(proof as Json), proofValue: undefined }).toEqual({
      ...publishedProof,
      proofValue: undefined,
    });
    await expectOnlyIssuerMismatch(derived, presentationHeader);
  });

  it('the key material is the did:key of the proofs, and createBbsSigner derives its public key', async () => {
    const { publicKeyHex, privateKeyHex } = bbs.keyMaterial;
    const multibase = encodePublicKeyMultibase('BLS12-381-G2', hex(publicKeyHex));
    expect(bbs.derived.proof.verificationMethod).toBe(`did:key:${multibase}#${multibase}`);
    const signer = await createBbsSigner({
      id: `did:key:${multibase}#${multibase}`,
      secretKey: hex(privateKeyHex),
    });
    expect(Buffer.from(signer.publicKey).toString('hex')).toBe(publicKeyHex);
  });
});
