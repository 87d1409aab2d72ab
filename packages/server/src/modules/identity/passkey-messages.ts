import { htmlOf } from './email-messages.js';
import type { MailMessage } from './mailer.js';

/**
 * To the user, after a passkey was added to their account: a stolen session that adds the attacker's
 * passkey is then noticed. It names neither the passkey (its name is chosen by whoever added it, so it
 * could carry a phisher's text) nor anything else the adder controls.
 */
export function passkeyAddedMessage(
  to: string,
  details: { projectName: string; at: string; synced: boolean; accountUrl: string },
): MailMessage {
  const lines = [
    `A passkey was added to your ${details.projectName} account on ${details.at} (UTC).`,
    details.synced
      ? 'It is a synced passkey: it can sign in from every device its password manager syncs to.'
      : 'It is a passkey bound to one device.',
    'If it was you, there is nothing to do. If not, open your account now, remove the passkey, change your password and sign out everywhere:',
  ];
  return {
    to,
    subject: 'A passkey was added to your account',
    text: `${lines.join('\n\n')}\n\n${details.accountUrl}\n`,
    html: htmlOf(lines, { href: details.accountUrl, label: 'Open my account' }),
  };
}
