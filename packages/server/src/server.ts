import { buildApp, type PlatformOptions } from './app.js';
import type { Config } from './config.js';
import { closeOnSignals } from './shutdown.js';
import { migrate, openStore } from './store/database.js';

export interface RunningServer {
  /** Where the server listens, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The admin key generated on the first start of an empty database; null otherwise. */
  bootstrapKey: string | null;
  close(): Promise<void>;
}

/** Opens the store, applies migrations, bootstraps the first admin key, and listens. */
export async function startServer(config: Config, options: PlatformOptions = {}): Promise<RunningServer> {
  const store = openStore(config.databaseUrl);
  try {
    await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  const { app, tenancy } = await buildApp(config, store, options);
  try {
    const { generatedSecret } = await tenancy.bootstrap(config.bootstrapKey);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return {
      url: `${config.tls ? 'https' : 'http'}://${host}:${port}`,
      bootstrapKey: generatedSecret,
      close: () => app.close(),
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** Applies pending migrations and returns their names. */
export async function migrateDatabase(config: Config): Promise<{ applied: string[] }> {
  const store = openStore(config.databaseUrl);
  try {
    return { applied: await migrate(store) };
  } finally {
    await store.close();
  }
}

/**
 * Runs the platform until SIGTERM or SIGINT, then stops accepting connections, lets in-flight requests
 * finish and closes the database — or exits non-zero if that takes longer than the shutdown timeout.
 * The signal handlers are in place before startup begins, so an early signal is never lost.
 */
export async function runServer(config: Config, options: PlatformOptions = {}): Promise<void> {
  const starting = startServer(config, options);
  closeOnSignals(starting, config.shutdownTimeoutMs, 'persona');

  const server = await starting;
  if (server.bootstrapKey) {
    // Shown once, on the terminal only (never through the logger): it is the only copy.
    process.stdout.write(
      `\n  Platform admin API key (shown once, store it now):\n\n    ${server.bootstrapKey}\n\n` +
        '  Use it as "Authorization: Bearer <key>". Set PERSONA_BOOTSTRAP_KEY to choose it yourself.\n\n',
    );
  }
}
