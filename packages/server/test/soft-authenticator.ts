import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A test-only WebAuthn authenticator in software: ES256 keys from node:crypto, 'none' attestation,
 * resident credentials, and authenticator data with the UP/UV (and, for a synced passkey, BE/BS) flags and
 * a signature counter that the tests can steer. It plays the browser's part as well (clientDataJSON with the origin).
 */

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
/** Backup eligible and backed up: a synced passkey (WebAuthn L3 §6.1.3). */
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function syncFlags(credential: SoftCredential): number {
  return credential.synced ? FLAG_BE | FLAG_BS : 0;
}

interface SoftCredential {
  id: Buffer;
  rpId: string;
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
  /** A synced passkey: its authenticator data carries the BE and BS flags. */
  synced: boolean;
}

export interface CeremonyOverrides {
  /** The origin the "browser" reports; the one given to the constructor by default. */
  origin?: string;
  /** The RP ID whose hash the authenticator data carries; the options' by default. */
  rpId?: string;
  /** User verification performed (the UV flag). */
  userVerified?: boolean;
  /** Sign with this counter instead of the next one. */
  counter?: number;
  /** Registration: create a synced passkey (backup eligible and backed up) rather than a device-bound one. */
  synced?: boolean;
}

export interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
  excludeCredentials?: { id: string }[];
}

export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(private readonly origin: string) {}

  /** navigator.credentials.create() + toJSON(): a RegistrationResponseJSON. */
  create(options: CreationOptionsJSON, overrides: CeremonyOverrides = {}) {
    const rpId = overrides.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
    const excluded = new Set((options.excludeCredentials ?? []).map((entry) => entry.id));
    if (this.credentials.some((credential) => excluded.has(b64u(credential.id)))) {
      throw new Error('InvalidStateError: the authenticator already holds an excluded credential');
    }
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const coseKey = new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x as string, 'base64url')],
      [-3, Buffer.from(jwk.y as string, 'base64url')],
    ]);
    const credential: SoftCredential = {
      id: randomBytes(16),
      rpId,
      userHandle: options.user.id,
      privateKey,
      counter: overrides.counter ?? 0,
      synced: overrides.synced ?? false,
    };
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([
        FLAG_UP | FLAG_AT | (overrides.userVerified === false ? 0 : FLAG_UV) | syncFlags(credential),
      ]),
      u32(credential.counter),
      Buffer.alloc(16), // aaguid: none
      idLength,
      credential.id,
      Buffer.from(isoCBOR.encode(coseKey)),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, never>>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    this.credentials.push(credential);
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: this.clientData('webauthn.create', options.challenge, overrides),
        attestationObject: b64u(attestationObject),
        transports: ['internal' as const],
      },
    };
  }

  /** navigator.credentials.get() + toJSON() with a resident credential: an AuthenticationResponseJSON. */
  get(options: RequestOptionsJSON, overrides: CeremonyOverrides & { credential?: number } = {}) {
    const credential = this.credentials[overrides.credential ?? 0];
    if (!credential) throw new Error('NotAllowedError: no credential');
    credential.counter = overrides.counter ?? credential.counter + 1;
    const authData = Buffer.concat([
      sha256(overrides.rpId ?? options.rpId ?? credential.rpId),
      Buffer.from([FLAG_UP | (overrides.userVerified === false ? 0 : FLAG_UV) | syncFlags(credential)]),
      u32(credential.counter),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]),
      credential.privateKey,
    );
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON,
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: credential.userHandle,
      },
    };
  }

  private clientData(type: string, challenge: string, overrides: CeremonyOverrides): string {
    const json = JSON.stringify({
      type,
      challenge,
      origin: overrides.origin ?? this.origin,
      crossOrigin: false,
    });
    return b64u(Buffer.from(json));
  }
}
