import { ed25519 } from '@noble/curves/ed25519.js';
import { bufferOf, bytesOf, lazyNative, type NodeCrypto } from '../backends/node-crypto.js';
import { type Sodium, sodium } from '../backends/sodium.js';
import type { KeyPair } from '../types.js';
import { defineScheme } from './define.js';

// RFC 8032 raw formats: the secret key is the 32-byte seed, the public key the 32-byte encoded point A.
const lengths = { publicKeyLength: 32, secretKeyLength: 32, signatureLength: 64 } as const;

// Canonical encoding of a curve point (RFC 8032 §5.1.3); zip215: false matches OpenSSL.
const isValidPublicKey = (publicKey: Uint8Array) => ed25519.utils.isValidPublicKey(publicKey, false);

/**
 * Noble Ed25519 with `zip215: false`: RFC 8032 / FIPS 186-5 verification, the rules OpenSSL applies, so
 * both backends accept and reject the same signatures.
 */
export const nobleEd25519 = defineScheme({
  algorithm: 'Ed25519',
  backend: 'noble',
  ...lengths,
  generateKeyPair: () => ed25519.keygen(),
  publicKeyFromSecretKey: (secretKey) => ed25519.getPublicKey(secretKey),
  sign: (secretKey, message) => ed25519.sign(message, secretKey),
  verify: (publicKey, message, signature) => ed25519.verify(signature, message, publicKey, { zip215: false }),
  isValidPublicKey,
});

/** Ed25519 on libsodium: the 64-byte secret key it signs with is the seed followed by the public key. */
export function sodiumEd25519(libsodium: Sodium, crypto: NodeCrypto) {
  const expand = (seed: Uint8Array) => {
    const publicKey = new Uint8Array(32);
    const secretKey = new Uint8Array(64);
    libsodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
    return { publicKey, secretKey };
  };
  const signWith = (expanded: Uint8Array, message: Uint8Array) => {
    const signature = new Uint8Array(64);
    libsodium.crypto_sign_detached(signature, message, expanded);
    return signature;
  };
  return defineScheme({
    algorithm: 'Ed25519',
    backend: 'native',
    ...lengths,
    generateKeyPair: () => nodeGenerateKeyPair(crypto),
    publicKeyFromSecretKey: (seed) => expand(seed).publicKey,
    sign(seed, message) {
      const { secretKey } = expand(seed);
      try {
        return signWith(secretKey, message);
      } finally {
        secretKey.fill(0);
      }
    },
    signer(seed) {
      const { secretKey } = expand(seed);
      return (message) => signWith(secretKey, message);
    },
    // libsodium is stricter than RFC 8032 alone: it also refuses small-order public keys and R values,
    // and non-canonical key encodings. Signatures made by any conforming signer are unaffected.
    verify: (publicKey, message, signature) =>
      libsodium.crypto_sign_verify_detached(signature, message, publicKey),
    isValidPublicKey,
  });
}

function nodeGenerateKeyPair(crypto: NodeCrypto): KeyPair {
  const pair = crypto.generateKeyPairSync('ed25519');
  return {
    secretKey: bytesOf(pair.privateKey.export({ format: 'raw-private' })),
    publicKey: bytesOf(pair.publicKey.export({ format: 'raw-public' })),
  };
}

/** Ed25519 on node:crypto (OpenSSL): where libsodium cannot load. */
export function opensslEd25519(crypto: NodeCrypto) {
  const privateKey = (secretKey: Uint8Array) =>
    crypto.createPrivateKey({
      key: bufferOf(secretKey),
      format: 'raw-private',
      asymmetricKeyType: 'ed25519',
    });
  return defineScheme({
    algorithm: 'Ed25519',
    backend: 'native',
    ...lengths,
    generateKeyPair: () => nodeGenerateKeyPair(crypto),
    publicKeyFromSecretKey: (secretKey) =>
      bytesOf(crypto.createPublicKey(privateKey(secretKey)).export({ format: 'raw-public' })),
    sign: (secretKey, message) => bytesOf(crypto.sign(null, message, privateKey(secretKey))),
    signer(secretKey) {
      const key = privateKey(secretKey);
      return (message) => bytesOf(crypto.sign(null, message, key));
    },
    verify(publicKey, message, signature) {
      const key = crypto.createPublicKey({
        key: bufferOf(publicKey),
        format: 'raw-public',
        asymmetricKeyType: 'ed25519',
      });
      return crypto.verify(null, message, key, signature);
    },
    isValidPublicKey,
  });
}

/** Native Ed25519: libsodium where it loads (faster), else node:crypto (OpenSSL). */
export const nativeEd25519 = lazyNative(
  'ed25519',
  (crypto) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const message = new Uint8Array(1);
    if (!crypto.verify(null, message, publicKey, crypto.sign(null, message, privateKey))) throw new Error();
  },
  (crypto) => {
    const libsodium = sodium();
    return libsodium ? sodiumEd25519(libsodium, crypto) : opensslEd25519(crypto);
  },
);
