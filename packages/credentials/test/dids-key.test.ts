import { readFileSync } from 'node:fs';
import * as DidKey from '@digitalbazaar/did-method-key';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  encodePublicKeyMultibase,
  exportJwk,
  type KeyAlgorithm,
  keyAgreement,
  signatureScheme,
} from '@personachain/crypto';
import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { createDidKey, createDidResolver, DidError, decodeDidKey, didKeyDocument } from '../src/index.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/did-key.json', import.meta.url), 'utf8'));

function didKeyError(did: string, options = {}): string | undefined {
  try {
    didKeyDocument(did, options);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(DidError);
    return (error as DidError).code;
  }
}

describe('did:key vectors (did:key spec v0.7, did-key test suite)', () => {
  for (const vector of vectors.valid as Array<{
    algorithm: KeyAlgorithm;
    did: string;
    keyAgreement?: string;
  }>) {
    it(`${vector.algorithm} ${vector.did.slice(0, 24)}…`, () => {
      const { algorithm, publicKey, multibase } = decodeDidKey(vector.did);
      expect(algorithm).toBe(vector.algorithm);
      expect(createDidKey(algorithm, publicKey)).toBe(vector.did);
      const document = didKeyDocument(vector.did);
      const vmId = `${vector.did}#${multibase}`;
      expect(document['@context']).toEqual([
        'https://www.w3.org/ns/did/v1',
        'https://w3id.org/security/multikey/v1',
      ]);
      expect(document.verificationMethod).toEqual([
        { id: vmId, type: 'Multikey', controller: vector.did, publicKeyMultibase: multibase },
      ]);
      for (const relationship of [
        'authentication',
        'assertionMethod',
        'capabilityInvocation',
        'capabilityDelegation',
      ]) {
        expect(document[relationship]).toEqual([vmId]);
      }
      if (algorithm === 'Ed25519') {
        expect(document.keyAgreement).toHaveLength(1);
        if (vector.keyAgreement) {
          expect(document.keyAgreement?.[0]).toEqual({
            id: `${vector.did}#${vector.keyAgreement}`,
            type: 'Multikey',
            controller: vector.did,
            publicKeyMultibase: vector.keyAgreement,
          });
        }
      } else {
        expect(document.keyAgreement).toBeUndefined();
      }
    });
  }

  it('reproduces the spec example document for Ed25519 with X25519 exactly', () => {
    expect(didKeyDocument(vectors.specExampleDocument.id)).toEqual(vectors.specExampleDocument);
  });

  it('the derived X25519 key agrees with the Ed25519 secret key converted the same way (RFC 7748 §4.1)', async () => {
    // X25519(sk_x, pk_peer) computed from both sides must match when pk_x is our derived public key.
    const ed = signatureScheme('Ed25519');
    const { publicKey, secretKey } = await ed.generateKeyPair();
    const did = createDidKey('Ed25519', publicKey);
    const derived = didKeyDocument(did).keyAgreement?.[0] as { publicKeyMultibase: string };
    const x = keyAgreement('X25519');
    const peer = await x.generateKeyPair();
    const ourSecret = ed25519.utils.toMontgomerySecret(secretKey);
    const derivedPublic = base58.decode(derived.publicKeyMultibase.slice(1)).slice(2);
    expect(await x.deriveSharedSecret(peer.secretKey, derivedPublic)).toEqual(
      await x.deriveSharedSecret(ourSecret, peer.publicKey),
    );
  });

  for (const vector of vectors.invalid as Array<{ did: string; error: string }>) {
    it(`resolving ${vector.did.slice(0, 40)} → ${vector.error}`, async () => {
      const result = await createDidResolver().resolve(vector.did);
      expect(result.didResolutionMetadata.error).toBe(vector.error);
      expect(result.didDocument).toBeNull();
    });
  }
});

// w3c-ccg/did-method-key test-vectors/nist-curves.json @1d340287: P-521 did:keys and their public JWKs.
const p521Vectors = [
  {
    did: 'did:key:z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7',
    x: 'ASUHPMyichQ0QbHZ9ofNx_l4y7luncn5feKLo3OpJ2nSbZoC7mffolj5uy7s6KSKXFmnNWxGJ42IOrjZ47qqwqyS',
    y: 'AW9ziIC4ZQQVSNmLlp59yYKrjRY0_VqO-GOIYQ9tYpPraBKUloEId6cI_vynCzlZWZtWpgOM3HPhYEgawQ703RjC',
  },
  {
    did: 'did:key:z2J9gcGdb2nEyMDmzQYv2QZQcM1vXktvy1Pw4MduSWxGabLZ9XESSWLQgbuPhwnXN7zP7HpTzWqrMTzaY5zWe6hpzJ2jnw4f',
    x: 'AQgyFy6EwH3_u_KXPw8aTXTY7WSVytmbuJeFpq4U6LipxtSmBJe_jjRzms9qubnwm_fGoHMQlvQ1vzS2YLusR2V0',
    y: 'Ab06MCcgoG7dM2I-VppdLV1k3lDoeHMvyYqHVfP05Ep2O7Zu0Qwd6IVzfZi9K0KMDud22wdnGUpUtFukZo0EeO15',
  },
];

describe('did:key P-521 (multicodec p521-pub 0x1202)', () => {
  for (const vector of p521Vectors) {
    it(`${vector.did.slice(0, 24)}… decodes to the published key and resolves to a Multikey document`, async () => {
      const { algorithm, publicKey, multibase } = decodeDidKey(vector.did);
      expect(algorithm).toBe('P-521');
      expect(publicKey).toHaveLength(67);
      expect(createDidKey('P-521', publicKey)).toBe(vector.did);
      expect(exportJwk('P-521', publicKey)).toEqual({ kty: 'EC', crv: 'P-521', x: vector.x, y: vector.y });
      const { didDocument } = await createDidResolver().resolve(vector.did);
      const vmId = `${vector.did}#${multibase}`;
      expect(didDocument?.verificationMethod).toEqual([
        { id: vmId, type: 'Multikey', controller: vector.did, publicKeyMultibase: multibase },
      ]);
      expect(didDocument?.assertionMethod).toEqual([vmId]);
      expect(didDocument?.keyAgreement).toBeUndefined();
    });
  }

  it('a generated P-521 key round-trips through its did:key', async () => {
    const { publicKey } = await signatureScheme('P-521').generateKeyPair();
    const did = createDidKey('P-521', publicKey);
    expect(did.startsWith('did:key:z2J9')).toBe(true);
    expect(decodeDidKey(did)).toMatchObject({ algorithm: 'P-521', publicKey });
  });

  it('66 or 68 bytes → invalidPublicKeyLength; 67 bytes that are no point → invalidPublicKey', () => {
    const withHeader = (key: Uint8Array) =>
      `did:key:z${base58.encode(Uint8Array.from([0x82, 0x24, ...key]))}`;
    const { publicKey } = decodeDidKey(p521Vectors[0]?.did as string);
    expect(didKeyError(withHeader(publicKey.slice(0, 66)))).toBe('invalidPublicKeyLength');
    expect(didKeyError(withHeader(Uint8Array.from([...publicKey, 0])))).toBe('invalidPublicKeyLength');
    expect(didKeyError(withHeader(Uint8Array.from([0x04, ...publicKey.slice(1)])))).toBe('invalidPublicKey');
    // x = 2^521 − 1 is not below the field prime p = 2^521 − 1.
    expect(didKeyError(withHeader(Uint8Array.from([0x02, 0x01, ...new Uint8Array(65).fill(0xff)])))).toBe(
      'invalidPublicKey',
    );
  });
});

describe('did:key malformed values', () => {
  const ed = 'z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b';
  const withHeader = (header: number[], key: Uint8Array) =>
    `did:key:z${base58.encode(Uint8Array.from([...header, ...key]))}`;

  it('bad multibase prefix or alphabet → invalidDid', () => {
    expect(didKeyError(`did:key:${ed.slice(1)}`)).toBe('invalidDid');
    expect(didKeyError(`did:key:u${ed.slice(1)}`)).toBe('invalidDid');
    expect(didKeyError('did:key:z6Mk0OIl')).toBe('invalidDid'); // 0, O, I, l are not base58btc
    expect(didKeyError(`did:key:z${'2'.repeat(300)}`)).toBe('invalidDid');
  });

  it('unknown or non-minimal multicodec → invalidDid', () => {
    expect(didKeyError(withHeader([0x12, 0x20], new Uint8Array(32)))).toBe('invalidDid'); // sha2-256 multihash
    expect(didKeyError(withHeader([0xec, 0x01], new Uint8Array(32).fill(9)))).toBe('invalidDid'); // x25519-pub
    expect(didKeyError(withHeader([0xed, 0x81, 0x00], new Uint8Array(32)))).toBe('invalidDid'); // non-minimal varint
  });

  it('wrong key length → invalidPublicKeyLength', () => {
    const key = decodeDidKey(`did:key:${ed}`).publicKey;
    expect(didKeyError(withHeader([0xed, 0x01], key.slice(0, 31)))).toBe('invalidPublicKeyLength');
    expect(didKeyError(withHeader([0xed, 0x01], Uint8Array.from([...key, 0])))).toBe(
      'invalidPublicKeyLength',
    );
    expect(didKeyError(withHeader([0x80, 0x24], new Uint8Array(32)))).toBe('invalidPublicKeyLength'); // P-256 wants 33
  });

  it('bytes that are not a point → invalidPublicKey', () => {
    expect(didKeyError(withHeader([0x80, 0x24], Uint8Array.from([0x04, ...new Uint8Array(32)])))).toBe(
      'invalidPublicKey',
    );
    expect(
      didKeyError(withHeader([0xe7, 0x01], Uint8Array.from([0x02, ...new Uint8Array(32).fill(0xff)]))),
    ).toBe('invalidPublicKey');
    expect(didKeyError(withHeader([0xeb, 0x01], new Uint8Array(96)))).toBe('invalidPublicKey');
  });

  it('version: did:key:1:… is accepted, non-positive versions are invalidDid', () => {
    const did = `did:key:1:${ed}`;
    expect(didKeyDocument(did).id).toBe(did);
    expect(didKeyError(`did:key:0:${ed}`)).toBe('invalidDid');
    expect(didKeyError(`did:key:01:${ed}`)).toBe('invalidDid');
    expect(didKeyError(`did:key:1:2:${ed}`)).toBe('invalidDid');
  });

  it('publicKeyFormat: unknown → unsupportedPublicKeyType, Ed25519VerificationKey2018 → invalidPublicKeyType', () => {
    const did = `did:key:${ed}`;
    expect(didKeyError(did, { publicKeyFormat: 'unknown' })).toBe('unsupportedPublicKeyType');
    expect(didKeyError(did, { publicKeyFormat: 'Ed25519VerificationKey2018' })).toBe('invalidPublicKeyType');
    expect(
      didKeyError(did, {
        publicKeyFormat: 'Ed25519VerificationKey2018',
        enableExperimentalPublicKeyTypes: true,
      }),
    ).toBe('unsupportedPublicKeyType');
    expect(didKeyError(did, { publicKeyFormat: 'Multikey' })).toBeUndefined();
  });

  it('the resolver passes query-string style options to did:key', async () => {
    const resolver = createDidResolver();
    const did = `did:key:${ed}`;
    const bad = await resolver.resolve(did, {
      publicKeyFormat: 'Ed25519VerificationKey2018',
      enableExperimentalPublicKeyTypes: 'false',
    });
    expect(bad.didResolutionMetadata.error).toBe('invalidPublicKeyType');
    const noDerivation = await resolver.resolve(did, { enableEncryptionKeyDerivation: 'false' });
    expect(noDerivation.didDocument?.keyAgreement).toBeUndefined();
    const wrongType = await resolver.resolve(did, { enableExperimentalPublicKeyTypes: 'yes' });
    expect(wrongType.didResolutionMetadata.error).toBe('invalidOptions');
  });

  it('createDidKey refuses algorithms did:key is not produced for here', async () => {
    const { publicKey } = await signatureScheme('ML-DSA-44').generateKeyPair();
    expect(() => createDidKey('ML-DSA-44', publicKey)).toThrow(DidError);
  });
});

describe('cross-check with @digitalbazaar/did-method-key', () => {
  const driver = DidKey.driver();
  driver.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from });
  driver.use({ multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from });

  for (const algorithm of ['Ed25519', 'P-256'] as const) {
    it(`${algorithm}: same DID, same document (did-method-key derives no keyAgreement for Multikey)`, async () => {
      for (let round = 0; round < 3; round++) {
        const { publicKey } = await signatureScheme(algorithm).generateKeyPair();
        const did = createDidKey(algorithm, publicKey);
        expect(did.slice(8)).toBe(encodePublicKeyMultibase(algorithm, publicKey));
        const theirs = await driver.get({ did });
        const ours = didKeyDocument(did, { enableEncryptionKeyDerivation: false });
        expect(ours).toEqual(theirs);
        const vmId = `${did}#${did.slice(8)}`;
        expect((await createDidResolver().dereference(vmId)).contentStream).toEqual(
          await driver.get({ url: vmId }),
        );
      }
    });
  }

  it('the *-multikey libraries import our dereferenced verification methods', async () => {
    for (const [algorithm, library] of [
      ['Ed25519', Ed25519Multikey],
      ['P-256', EcdsaMultikey],
    ] as const) {
      const { publicKey } = await signatureScheme(algorithm).generateKeyPair();
      const did = createDidKey(algorithm, publicKey);
      const { contentStream } = await createDidResolver().dereference(`${did}#${did.slice(8)}`);
      const key = await library.from(contentStream);
      expect(key.publicKeyMultibase).toBe(did.slice(8));
      expect(key.controller).toBe(did);
    }
  });

  it('a did:key from @digitalbazaar/ed25519-multikey resolves here', async () => {
    const keyPair = await Ed25519Multikey.generate();
    const did = `did:key:${keyPair.publicKeyMultibase}`;
    const { didDocument } = await createDidResolver().resolve(did);
    expect(didDocument?.verificationMethod?.[0]?.publicKeyMultibase).toBe(keyPair.publicKeyMultibase);
  });
});
