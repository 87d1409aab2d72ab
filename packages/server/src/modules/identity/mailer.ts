import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpConfig } from '../../config.js';

/** One message: a plain-text body and a simple HTML rendering of it, no images, no tracking. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends mail through the configured SMTP server over one pooled transport. */
export class Mailer {
  private readonly transport: Transporter;

  constructor(
    private readonly config: SmtpConfig,
    /** Told about a failed send; the message it gets names neither the recipient nor the content. */
    private readonly onError: (error: Error) => void,
  ) {
    this.transport = nodemailer.createTransport({
      url: config.url,
      pool: true,
      maxConnections: 2,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      // nodemailer's own logger would print recipients.
      logger: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  /**
   * Queues a message and returns at once: the HTTP answer never waits for SMTP, and the caller's timing
   * is the same whether a message was sent or not.
   */
  send(message: MailMessage): void {
    this.transport
      .sendMail({ from: this.config.from, ...message })
      .catch((error: Error) =>
        this.onError(new Error(`smtp send failed: ${error.name}: ${safeReason(error)}`)),
      );
  }

  close(): void {
    this.transport.close();
  }
}

/** The SMTP error code/response without anything from the message (nodemailer may echo the recipient). */
function safeReason(error: Error & { code?: string; responseCode?: number }): string {
  return [error.code, error.responseCode].filter((part) => part !== undefined).join(' ') || 'unknown';
}
