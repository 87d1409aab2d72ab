import {
  deriveKeyEncryptionKey,
  encodePublicKeyMultibase,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
} from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import {
  createKeyStoreBbsSigner,
  createKeyStoreSigner,
  deriveCredential,
  issueCredential,
  verifyCredential,
} from '../src/index.js';
import {
  documentLoader,
  expectCredentialError,
  MANDATORY,
  sdCredential,
} from './data-integrity-sd-helpers.js';

function keyStore() {
  return new LocalKeyStore({
    kek: deriveKeyEncryptionKey(randomBytes(32)),
    repository: new MemoryKeyRepository(),
  });
}

/** A did:key issuer whose BLS12-381 G2 key lives in a KeyStore. */
async function keyStoreIssuer(keys = keyStore()) {
  const key = await keys.createKey({ algorithm: 'BLS12-381-G2', purpose: 'issuer:bbs' });
  const multibase = encodePublicKeyMultibase('BLS12-381-G2', key.publicKey);
  const did = `did:key:${multibase}`;
  return { keys, key, did, verificationMethod: `${did}#${multibase}` };
}

describe('createKeyStoreBbsSigner', () => {
  it('signs a bbs-2023 base proof in the KeyStore that the holder derives from and verifiers accept', async () => {
    const { keys, key, did, verificationMethod } = await keyStoreIssuer();
    expect(did).toMatch(/^did:key:zUC[67]/);
    const signer = await createKeyStoreBbsSigner({ keyStore: keys, keyId: key.id, verificationMethod });
    expect(signer.publicKey).toEqual(key.publicKey);
    const base = await issueCredential({
      credential: sdCredential(did),
      suite: 'bbs-2023',
      signer,
      documentLoader,
      options: { mandatoryPointers: MANDATORY },
    });
    expect(base.proof).toMatchObject({ cryptosuite: 'bbs-2023', verificationMethod });
    // A base proof is for the holder only.
    expect((await verifyCredential({ credential: base, documentLoader })).verified).toBe(false);

    const derived = await deriveCredential({
      credential: base,
      selectivePointers: ['/credentialSubject/address/locality'],
      documentLoader,
    });
    const subject = derived.credentialSubject as Record<string, unknown>;
    expect(subject.address).toEqual({ locality: 'Köln' });
    expect(subject.name).toBeUndefined();
    const result = await verifyCredential({ credential: derived, documentLoader });
    expect(result.errors).toEqual([]);
    expect(result.verified).toBe(true);

    const tampered = structuredClone(derived);
    (tampered.credentialSubject as { address: { locality: string } }).address.locality = 'Bonn';
    expect((await verifyCredential({ credential: tampered, documentLoader })).verified).toBe(false);
  });

  it('signs through multisign only: an opaque single message has no header and messages to sign', async () => {
    const { keys, key, verificationMethod } = await keyStoreIssuer();
    const signer = await createKeyStoreBbsSigner({ keyStore: keys, keyId: key.id, verificationMethod });
    const input = { header: new Uint8Array([1, 2, 3]), messages: [new Uint8Array([4]), new Uint8Array([5])] };
    expect((await signer.multisign(input)).length).toBe(80);
    await expect(signer.sign({ data: new Uint8Array(1) })).rejects.toMatchObject({ code: 'invalid-signer' });
  });

  it('refuses a KeyStore key that is not BLS12-381 G2, and a single-message signer for one that is', async () => {
    const keys = keyStore();
    const ed = await keys.createKey({ algorithm: 'Ed25519', purpose: 'issuer:ed' });
    const edMultibase = encodePublicKeyMultibase('Ed25519', ed.publicKey);
    await expectCredentialError(
      createKeyStoreBbsSigner({
        keyStore: keys,
        keyId: ed.id,
        verificationMethod: `did:key:${edMultibase}#${edMultibase}`,
      }),
      'invalid-signer',
    );
    const { key, verificationMethod } = await keyStoreIssuer(keys);
    await expectCredentialError(
      createKeyStoreSigner({ keyStore: keys, keyId: key.id, verificationMethod }),
      'invalid-signer',
    );
    await expectCredentialError(
      createKeyStoreBbsSigner({ keyStore: keys, keyId: key.id, verificationMethod: 'not a URL' }),
      'invalid-signer',
    );
  });

  it('reports a retired key as a signing failure', async () => {
    const { keys, key, did, verificationMethod } = await keyStoreIssuer();
    const signer = await createKeyStoreBbsSigner({ keyStore: keys, keyId: key.id, verificationMethod });
    await keys.retireKey(key.id);
    await expectCredentialError(
      issueCredential({ credential: sdCredential(did), suite: 'bbs-2023', signer, documentLoader }),
      'signing-failed',
    );
  });
});
