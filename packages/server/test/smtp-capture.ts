import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message the capture received: its envelope recipients and its raw text, transfer encoding undone. */
export interface CapturedMail {
  to: string[];
  raw: string;
  subject: string;
  /** What the reader sees: the raw text without the headers, MIME boundaries and part headers. */
  text: string;
}

/** Undoes quoted-printable soft line breaks and escapes (enough for the ASCII bodies we send). */
function decodeQuotedPrintable(text: string): string {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * The message's content lines. Headers, boundaries and part headers carry generated ids (Message-ID, the
 * MIME boundary) in which any run of digits may appear, so assertions about what a message says use this.
 */
function contentOf(raw: string): string {
  const lines = raw.split(/\r?\n/);
  const body = lines.slice(lines.indexOf('') + 1);
  return body
    .filter((line) => !line.startsWith('--') && !/^(Content-[A-Za-z-]+|MIME-Version):/i.test(line))
    .join('\n');
}

/**
 * A real SMTP server on 127.0.0.1 (a free port, no TLS, no auth) keeping every message it receives, for
 * tests of the mail the server sends.
 */
export class SmtpCapture {
  readonly messages: CapturedMail[] = [];
  private waiters: Array<() => void> = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = decodeQuotedPrintable(Buffer.concat(chunks).toString('utf8'));
        this.messages.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '',
          text: contentOf(raw),
        });
        for (const wake of this.waiters.splice(0)) wake();
        callback();
      });
    },
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  /** The messages to `address`, waiting until there are at least `count` (or failing after 5 s). */
  async mailTo(address: string, count = 1): Promise<CapturedMail[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = this.messages.filter((message) => message.to.includes(address));
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`no mail to ${address} (have ${found.length})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The code and the magic link token of a sign-in or verification message (the code is in the body only). */
export function codeAndLink(mail: CapturedMail): { code: string; token: string } {
  const code = /\bcode (?:is )?(\d{8})\b/.exec(mail.raw)?.[1];
  const token = /token=(pml_[A-Za-z0-9_-]+)/.exec(mail.raw)?.[1];
  if (!code || !token) throw new Error(`no code or link in: ${mail.subject}`);
  return { code, token };
}
