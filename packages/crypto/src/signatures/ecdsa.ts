import type { KeyObject } from 'node:crypto';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bufferOf, bytesOf, lazyNative } from '../backends/node-crypto.js';
import type { SignatureScheme } from '../types.js';
import { defineScheme } from './define.js';

/**
 * ECDSA with the raw formats Multikey and JOSE use: the secret key is the big-endian scalar, the public key
 * the compressed SEC1 point, the signature IEEE P1363 `r || s`; the message is hashed with SHA-256
 * (P-256, secp256k1), SHA-384 (P-384) or SHA-512 (P-521, as JOSE ES512 pairs them: RFC 7518 §3.4). P-521
 * scalars and coordinates are 66 bytes (521 bits rounded up), so its signature is 132 bytes. Verification accepts high-S signatures on every curve (OpenSSL
 * produces them); secp256k1 signing always returns low-S, on both backends, as Bitcoin/Ethereum expect.
 */
type EcdsaAlgorithm = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';

interface Curve {
  noble: ECDSA;
  nodeCurve: string;
  hash: 'sha256' | 'sha384' | 'sha512';
  scalarLength: number;
  lowS: boolean;
}

const curves: Record<EcdsaAlgorithm, Curve> = {
  'P-256': { noble: p256, nodeCurve: 'P-256', hash: 'sha256', scalarLength: 32, lowS: false },
  'P-384': { noble: p384, nodeCurve: 'P-384', hash: 'sha384', scalarLength: 48, lowS: false },
  'P-521': { noble: p521, nodeCurve: 'P-521', hash: 'sha512', scalarLength: 66, lowS: false },
  secp256k1: { noble: secp256k1, nodeCurve: 'secp256k1', hash: 'sha256', scalarLength: 32, lowS: true },
};

function lengthsOf(curve: Curve) {
  return {
    secretKeyLength: curve.scalarLength,
    publicKeyLength: curve.scalarLength + 1,
    signatureLength: 2 * curve.scalarLength,
  };
}

function nobleEcdsa(algorithm: EcdsaAlgorithm): SignatureScheme {
  const curve = curves[algorithm];
  const { noble } = curve;
  return defineScheme({
    algorithm,
    backend: 'noble',
    ...lengthsOf(curve),
    generateKeyPair() {
      const secretKey = noble.utils.randomSecretKey();
      return { secretKey, publicKey: noble.getPublicKey(secretKey, true) };
    },
    publicKeyFromSecretKey: (secretKey) => noble.getPublicKey(secretKey, true),
    sign: (secretKey, message) => noble.sign(message, secretKey, { lowS: curve.lowS, format: 'compact' }),
    verify: (publicKey, message, signature) =>
      noble.verify(signature, message, publicKey, { lowS: false, format: 'compact' }),
    isValidPublicKey: (publicKey) => noble.utils.isValidPublicKey(publicKey, true),
    isValidSecretKey: (secretKey) => noble.utils.isValidSecretKey(secretKey),
  });
}

export const nobleP256 = nobleEcdsa('P-256');
export const nobleP384 = nobleEcdsa('P-384');
export const nobleP521 = nobleEcdsa('P-521');
export const nobleSecp256k1 = nobleEcdsa('secp256k1');

function nativeEcdsa(algorithm: EcdsaAlgorithm) {
  const curve = curves[algorithm];
  const { noble } = curve;
  return lazyNative(
    `ecdsa-${algorithm}`,
    (crypto) => {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: curve.nodeCurve });
      const message = new Uint8Array(1);
      const signature = crypto.sign(curve.hash, message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      if (!crypto.verify(curve.hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
        throw new Error('ECDSA self-test failed');
      }
    },
    (crypto) => {
      const ecKey = { asymmetricKeyType: 'ec', namedCurve: curve.nodeCurve } as const;
      const privateKey = (secretKey: Uint8Array) =>
        crypto.createPrivateKey({ key: bufferOf(secretKey), format: 'raw-private', ...ecKey });
      // Node 24 takes `type: 'compressed'` for EC raw-public exports (its typings do not list it yet); a
      // runtime that ignores it returns the 65-byte point, which noble then compresses.
      const compressedPublicKey = (key: KeyObject) => {
        const point = bytesOf(
          key.export({ format: 'raw-public', type: 'compressed' } as { format: 'raw-public' }),
        );
        return point.length === curve.scalarLength + 1 ? point : noble.Point.fromBytes(point).toBytes(true);
      };
      const signWith = (key: KeyObject, message: Uint8Array) => {
        const signature = bytesOf(crypto.sign(curve.hash, message, { key, dsaEncoding: 'ieee-p1363' }));
        if (!curve.lowS) return signature;
        // OpenSSL does not normalise s; the low-S form (n − s) is the same signature, accepted everywhere.
        const parsed = noble.Signature.fromBytes(signature, 'compact');
        if (!parsed.hasHighS()) return signature;
        return new noble.Signature(parsed.r, noble.Point.Fn.ORDER - parsed.s).toBytes('compact');
      };
      return defineScheme({
        algorithm,
        backend: 'native',
        ...lengthsOf(curve),
        generateKeyPair() {
          const pair = crypto.generateKeyPairSync('ec', { namedCurve: curve.nodeCurve });
          return {
            secretKey: bytesOf(pair.privateKey.export({ format: 'raw-private' })),
            publicKey: compressedPublicKey(pair.publicKey),
          };
        },
        publicKeyFromSecretKey: (secretKey) =>
          compressedPublicKey(crypto.createPublicKey(privateKey(secretKey))),
        sign: (secretKey, message) => signWith(privateKey(secretKey), message),
        signer(secretKey) {
          const key = privateKey(secretKey);
          return (message) => signWith(key, message);
        },
        verify(publicKey, message, signature) {
          const key = crypto.createPublicKey({ key: bufferOf(publicKey), format: 'raw-public', ...ecKey });
          return crypto.verify(curve.hash, message, { key, dsaEncoding: 'ieee-p1363' }, signature);
        },
        isValidPublicKey: (publicKey) => noble.utils.isValidPublicKey(publicKey, true),
        isValidSecretKey: (secretKey) => noble.utils.isValidSecretKey(secretKey),
      });
    },
  );
}

export const nativeP256 = nativeEcdsa('P-256');
export const nativeP384 = nativeEcdsa('P-384');
export const nativeP521 = nativeEcdsa('P-521');
export const nativeSecp256k1 = nativeEcdsa('secp256k1');
