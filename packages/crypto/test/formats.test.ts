import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  decodePublicKeyMultibase,
  decodeSecretKeyMultibase,
  encodePublicKeyMultibase,
  encodeSecretKeyMultibase,
  exportJwk,
  importJwk,
  type Jwk,
  jwkThumbprint,
  type KeyAlgorithm,
  kemScheme,
  keyAgreement,
  signatureScheme,
} from '../src/index.js';
import { hex } from './helpers.js';

async function keyPairOf(algorithm: KeyAlgorithm) {
  if (algorithm === 'X25519') return keyAgreement('X25519').generateKeyPair();
  if (algorithm === 'ML-KEM-768' || algorithm === 'ML-KEM-1024')
    return kemScheme(algorithm).generateKeyPair();
  return signatureScheme(algorithm).generateKeyPair();
}

// Multikey prefixes every implementation shows for these codes (varint of the multicodec, base58btc).
const prefixes: Array<[KeyAlgorithm, string]> = [
  ['Ed25519', 'z6Mk'],
  ['X25519', 'z6LS'],
  ['P-256', 'zDn'],
  ['P-384', 'z82'],
  ['P-521', 'z2J9'],
  ['secp256k1', 'zQ3s'],
  ['BLS12-381-G2', 'zUC'], // zUC6 when the key's first byte is 0x80, else zUC7
];

describe('Multikey', () => {
  it.each(prefixes)(
    'encodes %s public keys with the registered prefix and round-trips them',
    async (algorithm, prefix) => {
      const { publicKey } = await keyPairOf(algorithm);
      const multibase = encodePublicKeyMultibase(algorithm, publicKey);
      expect(multibase.startsWith(prefix)).toBe(true);
      expect(decodePublicKeyMultibase(multibase)).toEqual({ algorithm, publicKey });
    },
  );

  const withCodes: KeyAlgorithm[] = [
    'Ed25519',
    'X25519',
    'P-256',
    'P-384',
    'P-521',
    'secp256k1',
    'BLS12-381-G2',
    'ML-DSA-44',
    'ML-DSA-65',
    'SLH-DSA-SHA2-128s',
  ];
  it.each(withCodes)('round-trips %s public and secret keys', async (algorithm) => {
    const { publicKey, secretKey } = await keyPairOf(algorithm);
    expect(
      decodePublicKeyMultibase(encodePublicKeyMultibase(algorithm, publicKey), algorithm).publicKey,
    ).toEqual(publicKey);
    expect(
      decodeSecretKeyMultibase(encodeSecretKeyMultibase(algorithm, secretKey), algorithm).secretKey,
    ).toEqual(secretKey);
  });

  it('refuses ML-DSA-87 public keys, which exceed the base58 size cap, but keeps its seed', async () => {
    const { publicKey, secretKey } = await keyPairOf('ML-DSA-87');
    expect(() => encodePublicKeyMultibase('ML-DSA-87', publicKey)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
    expect(decodeSecretKeyMultibase(encodeSecretKeyMultibase('ML-DSA-87', secretKey)).secretKey).toEqual(
      secretKey,
    );
  });

  it.each(['ML-KEM-768', 'ML-KEM-1024'] as const)('round-trips %s public keys', async (algorithm) => {
    const { publicKey, secretKey } = await keyPairOf(algorithm);
    expect(decodePublicKeyMultibase(encodePublicKeyMultibase(algorithm, publicKey))).toEqual({
      algorithm,
      publicKey,
    });
    // The multicodec table has no code for the 64-byte ML-KEM seed.
    expect(() => encodeSecretKeyMultibase(algorithm, secretKey)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });

  it('decodes published did:key / Multikey values', () => {
    // did:key spec examples (Ed25519, P-256, P-384, secp256k1), as used by Digital Bazaar's test suites, and
    // the P-521 one of w3c-ccg/did-method-key test-vectors/nist-curves.json.
    const published: Array<[string, KeyAlgorithm]> = [
      ['z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', 'Ed25519'],
      ['zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169', 'P-256'],
      ['z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9', 'P-384'],
      ['zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme', 'secp256k1'],
      [
        'z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7',
        'P-521',
      ],
    ];
    for (const [multibase, algorithm] of published) {
      const decoded = decodePublicKeyMultibase(multibase);
      expect(decoded.algorithm).toBe(algorithm);
      expect(encodePublicKeyMultibase(algorithm, decoded.publicKey)).toBe(multibase);
    }
  });

  it('matches a published Multikey ↔ JWK pair', () => {
    const { algorithm, publicKey } = decodePublicKeyMultibase(
      'zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv',
    );
    expect(exportJwk(algorithm, publicKey)).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: 'igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns',
      y: 'efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM',
    });
  });

  it('rejects wrong prefixes, lengths, encodings and points with invalid-key', async () => {
    const { publicKey } = await keyPairOf('Ed25519');
    const valid = encodePublicKeyMultibase('Ed25519', publicKey);
    const bytes = base58.decode(valid.slice(1));
    const reencode = (modified: Uint8Array) => `z${base58.encode(modified)}`;
    const rejected = [
      `u${valid.slice(1)}`, // not base58btc
      'z0OIl', // characters outside the base58 alphabet
      reencode(bytes.slice(0, -1)), // 31-byte key
      reencode(Uint8Array.from([...bytes, 0])), // 33-byte key
      reencode(Uint8Array.from([0xee, 0x01, ...bytes.slice(2)])), // bls12_381-g1g2-pub: not a type we read
      reencode(Uint8Array.from([0xed, 0x81, 0x00, ...bytes.slice(2)])), // non-minimal varint
      encodePublicKeyMultibase('X25519', new Uint8Array(32)).replace(/^z/, 'z'), // valid, but not Ed25519
    ];
    for (const multibase of rejected.slice(0, -1)) {
      expect(() => decodePublicKeyMultibase(multibase)).toThrow(
        expect.objectContaining({ code: 'invalid-key' }),
      );
    }
    expect(() => decodePublicKeyMultibase(rejected.at(-1) as string, 'Ed25519')).toThrow(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    // 32 bytes that are no Ed25519 point (y = 2), and a P-256 "point" with a bad prefix byte.
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expect(() => encodePublicKeyMultibase('Ed25519', notAPoint)).toThrow(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    expect(() => decodePublicKeyMultibase(reencode(Uint8Array.from([0xed, 0x01, ...notAPoint])))).toThrow(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    expect(() => encodePublicKeyMultibase('P-256', new Uint8Array(33).fill(0xff))).toThrow(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    // A secret-key multibase is not a public key, and vice versa.
    const { secretKey } = await keyPairOf('Ed25519');
    expect(() => decodePublicKeyMultibase(encodeSecretKeyMultibase('Ed25519', secretKey))).toThrow(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    expect(() => decodeSecretKeyMultibase(valid)).toThrow(expect.objectContaining({ code: 'invalid-key' }));
    expect(() => encodePublicKeyMultibase('Falcon-512', new Uint8Array(897))).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });
});

describe('JWK', () => {
  // RFC 8037 Appendix A.1–A.3: the RFC 8032 TEST 1 key as an OKP JWK and its RFC 7638 thumbprint.
  const rfc8037: Jwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
    x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  };

  it('reads and writes the RFC 8037 Ed25519 key and reproduces its thumbprint', async () => {
    const imported = await importJwk(rfc8037);
    expect(imported.algorithm).toBe('Ed25519');
    expect(imported.secretKey).toEqual(
      hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
    );
    expect(imported.publicKey).toEqual(
      hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'),
    );
    expect(exportJwk('Ed25519', imported.publicKey, imported.secretKey)).toEqual(rfc8037);
    expect(jwkThumbprint(rfc8037)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    // Private and optional members do not change the thumbprint.
    expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: rfc8037.x as string, kid: 'k1' })).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
  });

  const jwkAlgorithms = [
    'Ed25519',
    'X25519',
    'P-256',
    'P-384',
    'P-521',
    'secp256k1',
    'ML-DSA-44',
    'ML-DSA-65',
    'ML-DSA-87',
  ] as const;
  it.each(jwkAlgorithms)('round-trips %s key pairs', async (algorithm) => {
    const { publicKey, secretKey } = await keyPairOf(algorithm);
    const jwk = exportJwk(algorithm, publicKey, secretKey);
    expect(await importJwk(jwk)).toEqual({ algorithm, publicKey, secretKey });
    const publicJwk = exportJwk(algorithm, publicKey);
    expect(publicJwk.d ?? publicJwk.priv).toBeUndefined();
    expect(await importJwk(publicJwk)).toEqual({ algorithm, publicKey });
    expect(jwkThumbprint(publicJwk)).toBe(jwkThumbprint(jwk));
  });

  // w3c-ccg/did-method-key test-vectors/nist-curves.json: a P-521 key pair as JWK and its did:key.
  const p521Vector = {
    multibase:
      'z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7',
    jwk: {
      kty: 'EC',
      crv: 'P-521',
      x: 'ASUHPMyichQ0QbHZ9ofNx_l4y7luncn5feKLo3OpJ2nSbZoC7mffolj5uy7s6KSKXFmnNWxGJ42IOrjZ47qqwqyS',
      y: 'AW9ziIC4ZQQVSNmLlp59yYKrjRY0_VqO-GOIYQ9tYpPraBKUloEId6cI_vynCzlZWZtWpgOM3HPhYEgawQ703RjC',
      d: 'AHwRaNaGs0jkj_pT6PK2aHep7dJK-yxyoL2bIfVRAceq1baxoiFDo3W14c8E2YZn1k5S53r4a11flhQdaB5guJ_X',
    } as Jwk,
  };

  it('reads the published P-521 JWK, whose public key is the published did:key Multikey', async () => {
    const imported = await importJwk(p521Vector.jwk);
    expect(imported.algorithm).toBe('P-521');
    expect(imported.secretKey).toHaveLength(66);
    expect(encodePublicKeyMultibase('P-521', imported.publicKey)).toBe(p521Vector.multibase);
    expect(exportJwk('P-521', imported.publicKey, imported.secretKey)).toEqual(p521Vector.jwk);
    const { d: _d, ...publicJwk } = p521Vector.jwk;
    expect(exportJwk('P-521', decodePublicKeyMultibase(p521Vector.multibase).publicKey)).toEqual(publicJwk);
  });

  it('refuses P-521 coordinates and scalars that are not 66 bytes (RFC 7518 §6.2.1.2, §6.2.2.1)', async () => {
    const { x, y, d } = p521Vector.jwk as { x: string; y: string; d: string };
    const shortened = (member: string) =>
      Buffer.from(Buffer.from(member, 'base64url').subarray(1)).toString('base64url');
    await expect(importJwk({ ...p521Vector.jwk, x: shortened(x) })).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(importJwk({ ...p521Vector.jwk, y: shortened(y) })).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(importJwk({ ...p521Vector.jwk, d: shortened(d) })).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });

  it('writes ML-DSA keys as AKP with the seed as priv, the form Node 24 reads', async () => {
    const { publicKey, secretKey } = await keyPairOf('ML-DSA-65');
    const jwk = exportJwk('ML-DSA-65', publicKey, secretKey);
    expect(jwk).toMatchObject({ kty: 'AKP', alg: 'ML-DSA-65' });
    const crypto = globalThis.process.getBuiltinModule('node:crypto');
    const keyObject = crypto.createPrivateKey({
      key: jwk as import('node:crypto').JsonWebKey,
      format: 'jwk',
    });
    expect(keyObject.asymmetricKeyType).toBe('ml-dsa-65');
    expect(new Uint8Array(crypto.createPublicKey(keyObject).export({ format: 'raw-public' }))).toEqual(
      publicKey,
    );
  });

  it('rejects malformed JWKs with typed errors', async () => {
    const { publicKey, secretKey } = await keyPairOf('P-256');
    const jwk = exportJwk('P-256', publicKey, secretKey);
    const other = await keyPairOf('P-256');
    await expect(importJwk({ ...jwk, x: (jwk.x as string).slice(2) })).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(importJwk({ ...jwk, y: jwk.x })).rejects.toMatchObject({ code: 'invalid-key' }); // off the curve
    await expect(
      importJwk({ ...jwk, d: exportJwk('P-256', other.publicKey, other.secretKey).d }),
    ).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(importJwk({ ...jwk, d: '!!' })).rejects.toMatchObject({ code: 'invalid-key' });
    await expect(importJwk({ kty: 'EC', crv: 'P-256', x: jwk.x })).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(importJwk({ kty: 'EC', crv: 'P-192', x: jwk.x, y: jwk.y })).rejects.toMatchObject({
      code: 'unsupported-algorithm',
    });
    await expect(importJwk({ kty: 'RSA' } as unknown as Jwk)).rejects.toMatchObject({
      code: 'unsupported-algorithm',
    });
    await expect(importJwk({ kty: 'AKP', alg: 'ML-DSA-44', pub: 'AAAA' })).rejects.toMatchObject({
      code: 'invalid-key',
    });
    expect(() => exportJwk('BLS12-381-G2', new Uint8Array(96))).toThrow(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    const bls = await keyPairOf('BLS12-381-G2');
    expect(() => exportJwk('BLS12-381-G2', bls.publicKey)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });
});
