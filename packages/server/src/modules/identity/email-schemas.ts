import { Type } from 'typebox';

const Email = Type.String({ format: 'email', maxLength: 254, description: 'The account’s email address.' });
const EmailCode = Type.String({ pattern: '^[0-9]{8}$', description: 'The 8-digit code from the email.' });

export const EmailStart = Type.Object({ email: Email }, { additionalProperties: false });
export const EmailVerify = Type.Object({ email: Email, code: EmailCode }, { additionalProperties: false });
export const EmailCodeBody = Type.Object({ code: EmailCode }, { additionalProperties: false });
/** Confirming a registration proves the mailbox (code) and that the confirmer chose the password. */
export const RegistrationConfirm = Type.Object(
  {
    email: Email,
    code: EmailCode,
    password: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'The password chosen when registering.',
    }),
  },
  { additionalProperties: false },
);

/** The one answer to a code request, whether or not a message went out. */
export const EMAIL_ACCEPTED = {
  status: 'accepted',
  detail: 'If an active account uses this address, a code and a sign-in link are on their way.',
} as const;
export const EmailAccepted = Type.Object({
  status: Type.Literal('accepted'),
  detail: Type.String(),
});
/** The one answer to a registration that verifies email, whether the address was new or taken. */
export const REGISTRATION_ACCEPTED = {
  status: 'accepted',
  detail: 'Check your email: confirm the address with the code or link we sent to finish registering.',
} as const;
export const RegistrationAccepted = Type.Object(
  { status: Type.Literal('accepted'), detail: Type.String() },
  { description: 'Registration with email verification: the same answer for a new or a taken address.' },
);
export const EmailVerified = Type.Object({ status: Type.Literal('verified') });
export const EmailSent = Type.Object({ status: Type.Literal('sent') });
