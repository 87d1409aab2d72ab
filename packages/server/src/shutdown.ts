/**
 * On SIGTERM or SIGINT, closes what `starting` resolves to (stop accepting, let in-flight requests finish,
 * close the database), then exits 0 (130 after SIGINT) — or exits 1 if that takes longer than `timeoutMs`
 * or fails. Install it before startup awaits anything, so an early signal is never lost.
 */
export function closeOnSignals(
  starting: Promise<{ close(): Promise<void> }>,
  timeoutMs: number,
  program: string,
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      process.stderr.write(`${program}: shutdown took longer than ${timeoutMs} ms; exiting\n`);
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    starting
      .then((running) => running.close())
      .then(
        () => {
          clearTimeout(deadline);
          process.exitCode = signal === 'SIGINT' ? 130 : 0;
        },
        (error: unknown) => {
          process.stderr.write(`${program}: error during shutdown: ${(error as Error).message}\n`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
