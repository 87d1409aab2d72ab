import { type Static, Type } from 'typebox';
import { ProblemSchema } from '../../http/openapi.js';
import { Name, ProjectId } from '../tenancy/schemas.js';
import { PASSWORD_MAX_LENGTH } from './password-policy.js';

const Timestamp = Type.String({ format: 'date-time' });

/** Problems of the identity API carry a stable machine-readable `code` (and a lockout's wait). */
const IdentityProblem = Type.Object(
  {
    ...ProblemSchema.properties,
    code: Type.Optional(
      Type.String({
        description:
          'invalid_credentials, account_disabled, locked, invalid_code, invalid_challenge, password_too_short, ' +
          'password_too_long, password_common, password_contains_identifier',
      }),
    ),
    retryAfterSeconds: Type.Optional(Type.Integer({ description: 'With `locked`: when to try again.' })),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);
export const IdentityProblemResponses = { '4xx': IdentityProblem, '5xx': ProblemSchema };

export const UserId = Type.String({ pattern: '^usr_[0-9a-f]{32}$', description: 'End-user id.' });
export const SessionId = Type.String({ pattern: '^ses_[0-9a-f]{32}$', description: 'Session id.' });

const Username = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._-]+$',
  description: 'Letters, digits, dot, underscore and dash; unique per project, compared without case.',
});
const Email = Type.String({
  format: 'email',
  maxLength: 254,
  description: 'Unique per project, compared without case.',
});
// The real limit is in code points (password-policy.ts); 4 bytes each bounds the UTF-16 length.
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 2 });
const Identifier = Type.String({ minLength: 1, maxLength: 254, description: 'Username or email.' });
const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code of the app.' });
const RecoveryCode = Type.String({ minLength: 16, maxLength: 40, description: 'A one-time recovery code.' });

export const User = Type.Object({
  id: UserId,
  projectId: ProjectId,
  username: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  emailVerified: Type.Boolean(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('pending')], {
    description: 'pending: self-registered, cannot sign in until the emailed code or link is confirmed.',
  }),
  totpEnabled: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type UserView = Static<typeof User>;

export const CreateUser = Type.Object(
  {
    username: Type.Optional(Username),
    email: Type.Optional(Email),
    emailVerified: Type.Optional(Type.Boolean()),
    displayName: Type.Optional(Name),
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);
export type CreateUserInput = Static<typeof CreateUser>;

export const UpdateUser = Type.Object(
  {
    displayName: Type.Optional(Type.Union([Name, Type.Null()])),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    emailVerified: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserInput = Static<typeof UpdateUser>;

export const UserQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page.' }),
    cursor: Type.Optional(
      Type.String({ maxLength: 200, description: 'The `nextCursor` of the previous page.' }),
    ),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'Email prefix.' })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Username prefix.' })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  },
  { additionalProperties: false },
);

export const Session = Type.Object({
  id: SessionId,
  userId: UserId,
  amr: Type.Array(Type.String(), { description: 'How it authenticated (RFC 8176): pwd, otp, mfa.' }),
  authTime: Timestamp,
  lastSeenAt: Timestamp,
  idleExpiresAt: Timestamp,
  expiresAt: Timestamp,
  createdAt: Timestamp,
  current: Type.Optional(Type.Boolean({ description: 'The session this request was made with.' })),
});
export type SessionView = Static<typeof Session>;

const RiskWeight = Type.Integer({ minimum: 0, maximum: 100 });

/** Adaptive MFA's tuning; read only when `mfa` is adaptive. */
export const RiskPolicy = Type.Object(
  {
    threshold: Type.Integer({
      minimum: 1,
      maximum: 100,
      description: 'The risk score (0–100) from which a sign-in needs a second factor. Default 50.',
    }),
    weights: Type.Optional(
      Type.Object(
        {
          new_device: Type.Optional(RiskWeight),
          new_address: Type.Optional(RiskWeight),
          new_country: Type.Optional(RiskWeight),
          impossible_travel: Type.Optional(RiskWeight),
          velocity: Type.Optional(RiskWeight),
          failed_attempts: Type.Optional(RiskWeight),
        },
        {
          additionalProperties: false,
          description:
            'Points each signal adds, overriding the defaults (new_device 30, new_address 10, new_country 30, ' +
            'impossible_travel 60, velocity 20, failed_attempts 20); 0 ignores a signal.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RiskPolicyValue = Static<typeof RiskPolicy>;

/** The threshold when an adaptive policy gives none. */
export const DEFAULT_RISK_THRESHOLD = 50;

export const SignIn = Type.Object({
  at: Timestamp,
  country: Type.Union([Type.String(), Type.Null()], {
    description: 'ISO 3166-1 alpha-2 country of the address, or null when it could not be located.',
  }),
  newDevice: Type.Boolean({ description: 'No earlier remembered sign-in came from this browser.' }),
  newAddress: Type.Boolean({ description: 'No earlier remembered sign-in came from this address.' }),
});
export const SignInList = Type.Object({
  data: Type.Array(SignIn, {
    description: 'Newest first: the last 50 completed sign-ins within 90 days (adaptive MFA projects only).',
  }),
});

export const IdentityPolicy = Type.Object(
  {
    registration: Type.Boolean({
      description: 'Whether anyone may register through the end-user API. Off by default.',
    }),
    registrationVerifiesEmail: Type.Optional(
      Type.Boolean({
        description:
          'Self-registration needs an email, answers 202 whether or not it is taken, and creates the user ' +
          'pending until the emailed code or link is confirmed (needs SMTP). Omitted: false.',
      }),
    ),
    emailSignIn: Type.Optional(
      Type.Boolean({
        description:
          'Users whose email is verified may sign in with an emailed one-time code or link instead of a ' +
          'password (needs SMTP); the sign-in pages offer it only when on. Omitted: false.',
      }),
    ),
    password: Type.Object(
      {
        minLength: Type.Integer({ minimum: 8, maximum: 64, description: 'Default 12.' }),
        forbidCommon: Type.Boolean({
          description: 'Refuse the most common breached passwords. Default true.',
        }),
      },
      { additionalProperties: false },
    ),
    mfa: Type.Union([Type.Literal('optional'), Type.Literal('required'), Type.Literal('adaptive')], {
      description:
        'required: every user must sign in with TOTP (and enroll at their next sign-in). adaptive: each ' +
        'password or emailed-code sign-in is scored for risk; at or above `risk.threshold` it needs a ' +
        'second factor (TOTP or a recovery code), and is refused when the user has none. Default optional.',
    }),
    risk: Type.Optional(RiskPolicy),
    sessions: Type.Object(
      {
        idleTimeoutSeconds: Type.Integer({ minimum: 60, maximum: 2_592_000, description: 'Default 12 h.' }),
        absoluteTimeoutSeconds: Type.Integer({
          minimum: 300,
          maximum: 31_536_000,
          description: 'Default 7 d.',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type IdentityPolicyValue = Static<typeof IdentityPolicy>;

export const DEFAULT_POLICY: IdentityPolicyValue = {
  registration: false,
  registrationVerifiesEmail: false,
  emailSignIn: false,
  password: { minLength: 12, forbidCommon: true },
  mfa: 'optional',
  sessions: { idleTimeoutSeconds: 12 * 3600, absoluteTimeoutSeconds: 7 * 86_400 },
};

export const UserParams = Type.Object({ projectId: ProjectId, userId: UserId });
export const UserSessionParams = Type.Object({ projectId: ProjectId, userId: UserId, sessionId: SessionId });
export const OwnSessionParams = Type.Object({ projectId: ProjectId, sessionId: SessionId });

// ---- end-user API ----
export const Register = Type.Object(
  {
    username: Type.Optional(Username),
    email: Type.Optional(Email),
    displayName: Type.Optional(Name),
    password: Password,
  },
  { additionalProperties: false },
);
export const Login = Type.Object(
  { identifier: Identifier, password: Password },
  { additionalProperties: false },
);
export const LoginSecondFactor = Type.Object(
  {
    challenge: Type.String({ minLength: 1, maxLength: 100 }),
    code: Type.Optional(TotpCode),
    recoveryCode: Type.Optional(RecoveryCode),
    emailCode: Type.Optional(
      Type.String({
        pattern: '^[0-9]{8}$',
        description: 'The 8-digit code emailed for the challenge, when its methods list email_code.',
      }),
    ),
  },
  { additionalProperties: false },
);
export const SignedIn = Type.Object({
  status: Type.Literal('signed_in'),
  session: Session,
  token: Type.String({ description: 'The session token; also set as the HttpOnly cookie.' }),
  mfaEnrollmentRequired: Type.Boolean({
    description: 'The project requires TOTP: until it is enrolled, the session may only enroll it.',
  }),
});
export const MfaRequired = Type.Object({
  status: Type.Literal('mfa_required'),
  challenge: Type.String({
    description:
      'Send it with a TOTP code, a recovery code or the emailed code (as its methods allow) to ' +
      '/auth/login/totp within 5 minutes.',
  }),
  methods: Type.Array(
    Type.Union([Type.Literal('totp'), Type.Literal('recovery_code'), Type.Literal('email_code')]),
    {
      description: 'totp and recovery_code, or email_code: a code was just emailed to the verified address.',
    },
  ),
  reason: Type.Optional(
    Type.String({
      description:
        'Why a second factor is asked for, when adaptive MFA asked for it; for the user, no numbers.',
    }),
  ),
});
export const ChangePassword = Type.Object(
  { currentPassword: Password, newPassword: Password },
  { additionalProperties: false },
);
export const SetPassword = Type.Object(
  {
    password: Password,
    removePasskeys: Type.Optional(
      Type.Boolean({
        description:
          "Also remove the user's passkeys (a suspected account takeover: a planted passkey would still sign in). Default false.",
      }),
    ),
  },
  { additionalProperties: false, description: 'The new password; checked against the password policy.' },
);
export const TotpEnrollment = Type.Object({
  otpauthUri: Type.String({ description: 'For a QR code. Shown only here.' }),
  secret: Type.String({ description: 'The same secret in base32, to type in.' }),
});
export const TotpCodeBody = Type.Object({ code: TotpCode }, { additionalProperties: false });
export const RecoveryCodes = Type.Object({
  recoveryCodes: Type.Array(Type.String(), { description: 'Each works once. Shown only here.' }),
});
export const RevokedCount = Type.Object({ revoked: Type.Integer() });
