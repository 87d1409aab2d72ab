import { escapeHtml } from '../../http/pages/html.js';
import type { MailMessage } from './mailer.js';

const MINUTES = 10;

function htmlOf(paragraphs: string[], link?: { href: string; label: string }): string {
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
    subject: `Your sign-in code: ${code}`,
    text: `${lines.join('\n\n')}\n\n${link}\n\n${tail}\n`,
    html: htmlOf([...lines, tail], { href: link, label: 'Sign in' }),
  };
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
    subject: `Verify your email: ${code}`,
    text: `${lines.join('\n\n')}\n\n${link}\n\n${tail}\n`,
    html: htmlOf([...lines, tail], { href: link, label: 'Verify my email' }),
  };
}
