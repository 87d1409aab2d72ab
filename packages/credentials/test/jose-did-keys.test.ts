import { encodePublicKeyMultibase, signatureScheme } from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import { createDidKey } from '../src/dids/did-key.js';
import { createDidResolver, type DidResolutionResult } from '../src/dids/resolver.js';
import { CredentialError } from '../src/errors.js';
import { assertionKeyResolver, didKeyResolver } from '../src/jose/did-keys.js';

const DID = 'did:example:signer';

/** A DID document whose one key is listed under `assertionMethod` only. */
async function resolverOfAssertionOnlyDid() {
  const { publicKey } = await signatureScheme('Ed25519').generateKeyPair();
  const method = {
    id: `${DID}#key-1`,
    type: 'Multikey',
    controller: DID,
    publicKeyMultibase: encodePublicKeyMultibase('Ed25519', publicKey),
  };
  const result: DidResolutionResult = {
    didDocument: { id: DID, verificationMethod: [method], assertionMethod: ['#key-1'] },
    didResolutionMetadata: {},
    didDocumentMetadata: {},
  };
  return async () => result;
}

describe('JWS keys from DID documents', () => {
  it('takes a credential issuer key from assertionMethod, the same JWK object every time', async () => {
    const resolveKey = assertionKeyResolver(await resolverOfAssertionOnlyDid());
    const first = await resolveKey('#key-1', DID);
    expect(first).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    // jose caches the imported key per JWK object: the resolver must hand out one object per key.
    expect(await resolveKey(`${DID}#key-1`, DID)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('refuses a presentation holder key that the DID lists only under assertionMethod', async () => {
    const resolveKey = didKeyResolver(await resolverOfAssertionOnlyDid(), 'authentication');
    const error = await resolveKey('#key-1', DID).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as CredentialError).code).toBe('unauthorized-verification-method');
    expect((error as CredentialError).message).toContain('"authentication"');
  });

  it('converts a P-521 did:key Multikey to the ES512 JWK (crv P-521, 66-byte coordinates)', async () => {
    const { publicKey } = await signatureScheme('P-521').generateKeyPair();
    const did = createDidKey('P-521', publicKey);
    const resolveKey = assertionKeyResolver((value) => createDidResolver().resolve(value));
    const jwk = await resolveKey(`#${did.slice('did:key:'.length)}`, did);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-521' });
    expect(Buffer.from(jwk?.x as string, 'base64url')).toHaveLength(66);
    expect(Buffer.from(jwk?.y as string, 'base64url')).toHaveLength(66);
  });

  it('refuses a key of another DID', async () => {
    const resolveKey = assertionKeyResolver(await resolverOfAssertionOnlyDid());
    const error = await resolveKey('did:example:other#key-1', DID).catch((caught: unknown) => caught);
    expect((error as CredentialError).code).toBe('issuer-mismatch');
  });
});
