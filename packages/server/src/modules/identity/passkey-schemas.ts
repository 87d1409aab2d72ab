import { type Static, Type } from 'typebox';
import { ProjectId } from '../tenancy/schemas.js';
import { PASSWORD_MAX_LENGTH } from './password-policy.js';
import { UserId } from './schemas.js';

const Timestamp = Type.String({ format: 'date-time' });
/** Base64url as WebAuthn's JSON encodings use it; the bound keeps a hostile body small. */
const B64u = (maxLength: number) => Type.String({ pattern: '^[A-Za-z0-9_-]*$', maxLength });

export const PasskeyId = Type.String({ pattern: '^pky_[0-9a-f]{32}$', description: 'Passkey id.' });
export const OwnPasskeyParams = Type.Object({ projectId: ProjectId, passkeyId: PasskeyId });
export const UserPasskeyParams = Type.Object({ projectId: ProjectId, userId: UserId, passkeyId: PasskeyId });

const PasskeyName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '\\S',
  description: 'A name its owner recognizes it by, e.g. "Laptop".',
});

export const Passkey = Type.Object({
  id: PasskeyId,
  name: Type.String(),
  deviceType: Type.Union([Type.Literal('singleDevice'), Type.Literal('multiDevice')], {
    description: 'multiDevice: a synced passkey.',
  }),
  backedUp: Type.Boolean(),
  aaguid: Type.String({ description: 'The authenticator model (all zeros when it does not say).' }),
  transports: Type.Array(Type.String()),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
});
export type PasskeyView = Static<typeof Passkey>;
export const PasskeyList = Type.Object({ items: Type.Array(Passkey) });

/** PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON, to pass to the browser as they are. */
export const CreationOptions = Type.Object(
  { challenge: Type.String(), rp: Type.Object({}, { additionalProperties: true }) },
  {
    additionalProperties: true,
    description: 'WebAuthn PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create().',
  },
);
export const RequestOptions = Type.Object(
  { challenge: Type.String() },
  {
    additionalProperties: true,
    description: 'WebAuthn PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get().',
  },
);

const ClientExtensionResults = Type.Object({}, { additionalProperties: true, maxProperties: 16 });
const Transport = Type.Union([
  Type.Literal('ble'),
  Type.Literal('cable'),
  Type.Literal('hybrid'),
  Type.Literal('internal'),
  Type.Literal('nfc'),
  Type.Literal('smart-card'),
  Type.Literal('usb'),
]);
const Attachment = Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]);

/** RegistrationResponseJSON (PublicKeyCredential.toJSON() of a created credential). */
export const RegistrationResponse = Type.Object({
  id: B64u(1366),
  rawId: B64u(1366),
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: ClientExtensionResults,
  response: Type.Object(
    {
      clientDataJSON: B64u(4096),
      attestationObject: B64u(32768),
      transports: Type.Optional(Type.Array(Transport, { maxItems: 8 })),
      authenticatorData: Type.Optional(B64u(16384)),
      publicKey: Type.Optional(B64u(8192)),
      publicKeyAlgorithm: Type.Optional(Type.Integer()),
    },
    { additionalProperties: false },
  ),
});

/** AuthenticationResponseJSON (PublicKeyCredential.toJSON() of an assertion). */
export const AuthenticationResponse = Type.Object({
  id: B64u(1366),
  rawId: B64u(1366),
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: ClientExtensionResults,
  response: Type.Object(
    {
      clientDataJSON: B64u(4096),
      authenticatorData: B64u(16384),
      // ML-DSA-65 (COSE -49, in the library's default algorithms) signs with 3,309 bytes.
      signature: B64u(8192),
      userHandle: Type.Optional(B64u(128)),
    },
    { additionalProperties: false },
  ),
});

export const RegisterPasskey = Type.Object(
  { name: PasskeyName, response: RegistrationResponse },
  { additionalProperties: false },
);
export const RenamePasskey = Type.Object({ name: PasskeyName }, { additionalProperties: false });
export const PasskeySignIn = Type.Object(
  { response: AuthenticationResponse },
  { additionalProperties: false },
);

/**
 * Proof of the user, again, within a session: the password, or a TOTP code for a user with TOTP. Adding a
 * passkey needs a session authenticated within the last minutes.
 */
export const Reauthenticate = Type.Union(
  [
    Type.Object(
      { password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 2 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      { code: Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code of the app.' }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'Exactly one of password and code.' },
);
export type ReauthenticateBody = Static<typeof Reauthenticate>;
export const Reauthenticated = Type.Object({
  amr: Type.Array(Type.String()),
  authTime: Type.String({
    format: 'date-time',
    description: 'The session is recent until 10 minutes after this.',
  }),
});

/** `?removePasskeys=`: whether a reset or "sign out everywhere" removes the user's passkeys too. */
export const RemovePasskeysQuery = (description: string) =>
  Type.Object(
    { removePasskeys: Type.Optional(Type.Boolean({ description })) },
    { additionalProperties: false },
  );
