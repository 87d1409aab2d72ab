import { escapeHtml } from '../../http/pages/html.js';
import type { MailMessage } from './mailer.js';

const MINUTES = 10;

/** The HTML rendering of a message: its paragraphs, then an optional link. */
export function htmlOf(paragraphs: string[], link?: { href: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('');
  const button = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : '';
  return `<!doctype html><html><body>${body}${button}</body></html>`;
}

/** The sign-in code and its magic link. */
export function signInMessage(to: string, code: string, link: string): MailMessage {
  const lines = [
    `Your sign-in code is ${code}.`,
    `It expires in ${MINUTES} minutes and works once. You can also open this link to sign in:`,
  ];
  const tail = 'If you did not ask to sign in, ignore this message; nobody can sign in without the code.';
  return {
    to,
    subject: 'Your sign-in code',
    text: `${lines.join('\n\n')}\n\n${link}\n\n${tail}\n`,
    html: htmlOf([...lines, tail], { href: link, label: 'Sign in' }),
  };
}

/** Adaptive MFA's second factor after a password: the code only, never a link that could replace it. */
export function secondFactorMessage(to: string, code: string): MailMessage {
  const lines = [
    `Your confirmation code is ${code}.`,
    `Someone signed in to your account with its password and we need to confirm it's you. The code expires in ${MINUTES} minutes and works once.`,
    'If it was not you, do not share the code, and change your password: whoever signed in knows it.',
  ];
  return { to, subject: 'Confirm your sign-in', text: `${lines.join('\n\n')}\n`, html: htmlOf(lines) };
}

/** To the owner of an address someone tried to register again with. */
export function registrationAttemptMessage(to: string, signInUrl: string): MailMessage {
  const lines = [
    'Someone tried to create an account with your email address, which already has one.',
    'If it was you, sign in instead (you can ask for an emailed sign-in code there). If not, ignore this message: nothing was changed.',
  ];
  return {
    to,
    subject: 'Someone tried to register with your address',
    text: `${lines.join('\n\n')}\n\n${signInUrl}\n`,
    html: htmlOf(lines, { href: signInUrl, label: 'Sign in' }),
  };
}

/** The code that proves the user reads this mailbox. */
export function verifyEmailMessage(to: string, code: string, link: string): MailMessage {
  const lines = [
    `Your email verification code is ${code}.`,
    `It expires in ${MINUTES} minutes and works once. You can also open this link:`,
  ];
  const tail = 'If you did not ask for this, ignore this message.';
  return {
    to,
    // Never the code: subjects show on lock screens and in previews.
    subject: 'Verify your email',
    text: `${lines.join('\n\n')}\n\n${link}\n\n${tail}\n`,
    html: htmlOf([...lines, tail], { href: link, label: 'Verify my email' }),
  };
}

/** The code that confirms a self-registration; confirming also asks for the password chosen then. */
export function confirmRegistrationMessage(to: string, code: string, link: string): MailMessage {
  const lines = [
    'An account was created with this address.',
    `To finish registering, confirm with the code ${code} and the password you chose. It expires in ${MINUTES} minutes and works once. You can also open this link:`,
  ];
  const tail =
    "If this wasn't you, ignore this email: the account stays unusable and is deleted after a day.";
  return {
    to,
    subject: 'Confirm your new account',
    text: `${lines.join('\n\n')}\n\n${link}\n\n${tail}\n`,
    html: htmlOf([...lines, tail], { href: link, label: 'Confirm my account' }),
  };
}
