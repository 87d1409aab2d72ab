/** An error the CLI reports as `persona: <message>` (plus indented detail lines) before exiting. */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    /** 1 when the request or operation failed, 2 when the command line or configuration is wrong. */
    readonly exitCode: 1 | 2 = 1,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The command line or environment is wrong: nothing was sent anywhere. */
export function usageError(message: string, details: readonly string[] = []): CliError {
  return new CliError(message, 2, details);
}
