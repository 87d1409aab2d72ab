import { x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { bufferOf, bytesOf, lazyNative } from '../backends/node-crypto.js';
import { type Implementations, selectBackend } from '../backends/select.js';
import { guard, publicKeyOf, requireKeyLength, requireSecretKey } from '../checks.js';
import { CryptoError } from '../errors.js';
import type { Backend, KeyAgreement, KeyAgreementAlgorithm, KeyPair } from '../types.js';

/**
 * Raw formats: X25519 keys are the 32-byte strings of RFC 7748; ECDH keys are the big-endian scalar and
 * the compressed SEC1 point, and the shared secret is the x-coordinate (SEC 1 §3.3.1), as WebCrypto and
 * OpenSSL return it.
 */
interface AgreementCore {
  algorithm: KeyAgreementAlgorithm;
  backend: Backend;
  secretKeyLength: number;
  publicKeyLength: number;
  generateKeyPair(): KeyPair;
  publicKeyFromSecretKey(secretKey: Uint8Array): Uint8Array;
  deriveSharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
  isValidSecretKey?(secretKey: Uint8Array): boolean;
}

function isAllZero(bytes: Uint8Array): boolean {
  let accumulator = 0;
  for (const byte of bytes) accumulator |= byte;
  return accumulator === 0;
}

function defineAgreement(core: AgreementCore): KeyAgreement {
  return {
    algorithm: core.algorithm,
    backend: core.backend,
    async generateKeyPair() {
      return core.generateKeyPair();
    },
    async publicKeyFromSecretKey(secretKey) {
      return publicKeyOf(core, secretKey);
    },
    async deriveSharedSecret(secretKey, peerPublicKey) {
      requireSecretKey(core, secretKey);
      requireKeyLength(peerPublicKey, core.publicKeyLength, `${core.algorithm} public key`);
      const shared = guard('invalid-key', `${core.algorithm} peer public key rejected`, () =>
        core.deriveSharedSecret(secretKey, peerPublicKey),
      );
      // RFC 7748 §6.1: a low-order peer key yields the all-zero secret; refuse it on both backends alike.
      if (isAllZero(shared))
        throw new CryptoError('invalid-key', `${core.algorithm} peer public key has low order`);
      return shared;
    },
  };
}

const nobleX25519 = defineAgreement({
  algorithm: 'X25519',
  backend: 'noble',
  secretKeyLength: 32,
  publicKeyLength: 32,
  generateKeyPair: () => x25519.keygen(),
  publicKeyFromSecretKey: (secretKey) => x25519.getPublicKey(secretKey),
  deriveSharedSecret: (secretKey, peerPublicKey) => x25519.getSharedSecret(secretKey, peerPublicKey),
});

const nobleEcdh = (algorithm: 'P-256' | 'P-384', curve: typeof p256, length: number) =>
  defineAgreement({
    algorithm,
    backend: 'noble',
    secretKeyLength: length,
    publicKeyLength: length + 1,
    generateKeyPair() {
      const secretKey = curve.utils.randomSecretKey();
      return { secretKey, publicKey: curve.getPublicKey(secretKey, true) };
    },
    publicKeyFromSecretKey: (secretKey) => curve.getPublicKey(secretKey, true),
    // noble returns the shared point; the secret is its x-coordinate.
    deriveSharedSecret: (secretKey, peer) => curve.getSharedSecret(secretKey, peer, true).slice(1),
    isValidSecretKey: (secretKey) => curve.utils.isValidSecretKey(secretKey),
  });

const nativeAgreement = (
  algorithm: KeyAgreementAlgorithm,
  keyType: { asymmetricKeyType: 'x25519' } | { asymmetricKeyType: 'ec'; namedCurve: string },
  length: number,
  noble: typeof p256 | undefined,
) =>
  lazyNative(
    `agreement-${algorithm}`,
    (crypto) => {
      const generate = () =>
        keyType.asymmetricKeyType === 'x25519'
          ? crypto.generateKeyPairSync('x25519')
          : crypto.generateKeyPairSync('ec', { namedCurve: keyType.namedCurve });
      const a = generate();
      const b = generate();
      crypto.diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    },
    (crypto) => {
      const generate = () =>
        keyType.asymmetricKeyType === 'x25519'
          ? crypto.generateKeyPairSync('x25519')
          : crypto.generateKeyPairSync('ec', { namedCurve: keyType.namedCurve });
      const privateKey = (secretKey: Uint8Array) =>
        crypto.createPrivateKey({ key: bufferOf(secretKey), format: 'raw-private', ...keyType });
      // EC public keys travel compressed (typings lack the `type` option Node 24 accepts).
      const exportOptions = (
        noble ? { format: 'raw-public', type: 'compressed' } : { format: 'raw-public' }
      ) as {
        format: 'raw-public';
      };
      return defineAgreement({
        algorithm,
        backend: 'native',
        secretKeyLength: length,
        publicKeyLength: noble ? length + 1 : length,
        generateKeyPair() {
          const pair = generate();
          return {
            secretKey: bytesOf(pair.privateKey.export({ format: 'raw-private' })),
            publicKey: bytesOf(pair.publicKey.export(exportOptions)),
          };
        },
        publicKeyFromSecretKey: (secretKey) =>
          bytesOf(crypto.createPublicKey(privateKey(secretKey)).export(exportOptions)),
        deriveSharedSecret: (secretKey, peerPublicKey) =>
          bytesOf(
            crypto.diffieHellman({
              privateKey: privateKey(secretKey),
              publicKey: crypto.createPublicKey({
                key: bufferOf(peerPublicKey),
                format: 'raw-public',
                ...keyType,
              }),
            }),
          ),
        ...(noble
          ? { isValidSecretKey: (secretKey: Uint8Array) => noble.utils.isValidSecretKey(secretKey) }
          : {}),
      });
    },
  );

const agreements: Record<KeyAgreementAlgorithm, Implementations<KeyAgreement>> = {
  X25519: {
    noble: nobleX25519,
    native: nativeAgreement('X25519', { asymmetricKeyType: 'x25519' }, 32, undefined),
  },
  'P-256': {
    noble: nobleEcdh('P-256', p256, 32),
    native: nativeAgreement('P-256', { asymmetricKeyType: 'ec', namedCurve: 'P-256' }, 32, p256),
  },
  'P-384': {
    noble: nobleEcdh('P-384', p384, 48),
    native: nativeAgreement('P-384', { asymmetricKeyType: 'ec', namedCurve: 'P-384' }, 48, p384),
  },
};

export const keyAgreementAlgorithms = Object.keys(agreements) as KeyAgreementAlgorithm[];

/** The key agreement for `algorithm`; backend selection as for `signatureScheme`. */
export function keyAgreement(algorithm: KeyAgreementAlgorithm, backend: Backend = 'native'): KeyAgreement {
  return selectBackend(agreements, 'key agreement algorithm', algorithm, backend);
}
