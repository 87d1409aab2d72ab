import { ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { bufferOf, bytesOf, lazyNative } from '../backends/node-crypto.js';
import { type Implementations, selectBackend } from '../backends/select.js';
import { guard, requireKeyLength } from '../checks.js';
import { CryptoError } from '../errors.js';
import { randomBytes } from '../random.js';
import type { Backend, Encapsulation, KemAlgorithm, KemScheme, KeyPair } from '../types.js';

/**
 * ML-KEM (FIPS 203). The secret key is the 64-byte seed d ‖ z (the form FIPS 203 §7.1 / OpenSSL `raw-seed`
 * keep; the 2,400/3,168-byte decapsulation key is derived per call). Shared secrets are 32 bytes.
 */
const parameters = {
  'ML-KEM-768': { noble: ml_kem768, nodeName: 'ml-kem-768', publicKeyLength: 1184, ciphertextLength: 1088 },
  'ML-KEM-1024': {
    noble: ml_kem1024,
    nodeName: 'ml-kem-1024',
    publicKeyLength: 1568,
    ciphertextLength: 1568,
  },
} as const;

const SEED_LENGTH = 64;

interface KemCore {
  generateKeyPair(): KeyPair;
  publicKeyFromSecretKey(seed: Uint8Array): Uint8Array;
  encapsulate(publicKey: Uint8Array): Encapsulation;
  decapsulate(seed: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

function defineKem(algorithm: KemAlgorithm, backend: Backend, core: KemCore): KemScheme {
  const { publicKeyLength, ciphertextLength } = parameters[algorithm];
  return {
    algorithm,
    backend,
    async generateKeyPair() {
      return core.generateKeyPair();
    },
    async publicKeyFromSecretKey(secretKey) {
      requireKeyLength(secretKey, SEED_LENGTH, `${algorithm} secret key`);
      return guard('invalid-key', `${algorithm} secret key rejected`, () =>
        core.publicKeyFromSecretKey(secretKey),
      );
    },
    async encapsulate(publicKey) {
      requireKeyLength(publicKey, publicKeyLength, `${algorithm} public key`);
      // Both libraries run the FIPS 203 §7.2 modulus check and throw for a key that fails it.
      return guard('invalid-key', `${algorithm} public key rejected`, () => core.encapsulate(publicKey));
    },
    async decapsulate(secretKey, ciphertext) {
      requireKeyLength(secretKey, SEED_LENGTH, `${algorithm} secret key`);
      if (!(ciphertext instanceof Uint8Array) || ciphertext.length !== ciphertextLength) {
        throw new CryptoError('malformed-input', `${algorithm} ciphertext must be ${ciphertextLength} bytes`);
      }
      return guard('decryption-failed', `${algorithm} decapsulation failed`, () =>
        core.decapsulate(secretKey, ciphertext),
      );
    },
  };
}

function nobleKem(algorithm: KemAlgorithm): KemScheme {
  const { noble } = parameters[algorithm];
  return defineKem(algorithm, 'noble', {
    generateKeyPair() {
      const seed = randomBytes(SEED_LENGTH);
      return { secretKey: seed, publicKey: noble.keygen(seed).publicKey };
    },
    publicKeyFromSecretKey: (seed) => noble.keygen(seed).publicKey,
    encapsulate(publicKey) {
      const { cipherText, sharedSecret } = noble.encapsulate(publicKey);
      return { ciphertext: cipherText, sharedSecret };
    },
    decapsulate: (seed, ciphertext) => noble.decapsulate(ciphertext, noble.keygen(seed).secretKey),
  });
}

function nativeKem(algorithm: KemAlgorithm) {
  const { nodeName } = parameters[algorithm];
  const keyType = { asymmetricKeyType: nodeName } as { asymmetricKeyType: 'ml-kem-768' };
  return lazyNative(
    nodeName,
    (crypto) => {
      const { privateKey, publicKey } = crypto.generateKeyPairSync(nodeName as 'ml-kem-768');
      const { sharedKey, ciphertext } = crypto.encapsulate(publicKey);
      if (!crypto.decapsulate(privateKey, ciphertext).equals(sharedKey))
        throw new Error('ML-KEM self-test failed');
      privateKey.export({ format: 'raw-seed' });
    },
    (crypto) => {
      const privateKey = (seed: Uint8Array) =>
        crypto.createPrivateKey({ key: bufferOf(seed), format: 'raw-seed', ...keyType });
      return defineKem(algorithm, 'native', {
        generateKeyPair() {
          const pair = crypto.generateKeyPairSync(nodeName as 'ml-kem-768');
          return {
            secretKey: bytesOf(pair.privateKey.export({ format: 'raw-seed' })),
            publicKey: bytesOf(pair.publicKey.export({ format: 'raw-public' })),
          };
        },
        publicKeyFromSecretKey: (seed) =>
          bytesOf(crypto.createPublicKey(privateKey(seed)).export({ format: 'raw-public' })),
        encapsulate(publicKey) {
          const key = crypto.createPublicKey({ key: bufferOf(publicKey), format: 'raw-public', ...keyType });
          const { sharedKey, ciphertext } = crypto.encapsulate(key);
          return { sharedSecret: bytesOf(sharedKey), ciphertext: bytesOf(ciphertext) };
        },
        decapsulate: (seed, ciphertext) =>
          bytesOf(crypto.decapsulate(privateKey(seed), bufferOf(ciphertext))),
      });
    },
  );
}

const kems: Record<KemAlgorithm, Implementations<KemScheme>> = {
  'ML-KEM-768': { noble: nobleKem('ML-KEM-768'), native: nativeKem('ML-KEM-768') },
  'ML-KEM-1024': { noble: nobleKem('ML-KEM-1024'), native: nativeKem('ML-KEM-1024') },
};

export const kemAlgorithms = Object.keys(kems) as KemAlgorithm[];

/** The KEM for `algorithm`; backend selection as for `signatureScheme`. */
export function kemScheme(algorithm: KemAlgorithm, backend: Backend = 'native'): KemScheme {
  return selectBackend(kems, 'KEM', algorithm, backend);
}
