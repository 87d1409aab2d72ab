import type { SessionContext } from '@personachain/sdk';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** What the application asserts about the member for the session a command opens. */
export interface SessionContextOptions {
  amr: string[];
  mfa?: boolean;
  authenticatedAt?: string;
  deviceFingerprint?: string;
  ip?: string;
}

export const SESSION_CONTEXT_HELP = `
Session context (what the application, holder of the API key, asserts about the member):
  --amr        how the member authenticated, RFC 8176 values (default: pwd, the keyring passphrase)
  --mfa        the member also passed a second factor (adds mfa to --amr)
  --authenticated-at  when (default: now)
  --device-fingerprint  the device fingerprint hash registered with \`persona vault devices add\`
                        (default: PERSONA_DEVICE_FINGERPRINT; none: the device counts as unknown)
  --ip         the member's address (default: the address the server sees)
The vault's trust template scores this context; refused requests print the decision.`;

/** Adds the session-context options to a command that acts as a vault member. */
export function withSessionContext(command: Command): Command {
  return command
    .addOption(
      new Option('--amr <methods>', 'RFC 8176 authentication methods, comma-separated')
        .argParser(parseMethods)
        .default(['pwd'], 'pwd'),
    )
    .option('--mfa', 'the member passed multi-factor authentication (adds mfa)')
    .addOption(
      new Option(
        '--authenticated-at <time>',
        'when the member authenticated (RFC 3339; default: now)',
      ).argParser(parseTime),
    )
    .addOption(
      new Option('--device-fingerprint <hash>', "the hash of the member's device fingerprint")
        .env('PERSONA_DEVICE_FINGERPRINT')
        .argParser(parseFingerprint),
    )
    .addOption(new Option('--ip <address>', "the member's IP address (default: the one the server sees)"))
    .addHelpText('after', SESSION_CONTEXT_HELP);
}

export function sessionContext(options: SessionContextOptions): SessionContext {
  const methods = [...options.amr];
  if (options.mfa && !methods.includes('mfa')) methods.push('mfa');
  return {
    authentication: { methods, authenticatedAt: options.authenticatedAt ?? new Date().toISOString() },
    ...(options.deviceFingerprint === undefined ? {} : { deviceFingerprint: options.deviceFingerprint }),
    ...(options.ip === undefined ? {} : { ip: options.ip }),
  };
}

function parseMethods(value: string): string[] {
  const methods = value
    .split(',')
    .map((method) => method.trim())
    .filter((method) => method !== '');
  if (
    methods.length === 0 ||
    methods.length > 16 ||
    !methods.every((method) => /^[a-z0-9_-]{1,32}$/i.test(method))
  ) {
    throw new InvalidArgumentError('Expected RFC 8176 amr values separated by commas, e.g. pwd,otp.');
  }
  return [...new Set(methods)];
}

function parseTime(value: string): string {
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(time)) {
    throw new InvalidArgumentError('Expected an RFC 3339 time such as 2025-01-31T09:30:00Z.');
  }
  return new Date(time).toISOString();
}

function parseFingerprint(value: string): string {
  if (value.length === 0 || value.length > 128) {
    throw new InvalidArgumentError('Expected 1 to 128 characters.');
  }
  return value;
}
