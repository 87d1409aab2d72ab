import { randomBytes } from '@personachain/crypto';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { migrate, openStore } from './store/database.js';

/** The OpenAPI document as the routes declare it, independent of where a server runs. */
export async function openApiDocument(): Promise<unknown> {
  const config = loadConfig({
    PERSONA_PUBLIC_URL: 'http://localhost:8080',
    PERSONA_LOG_LEVEL: 'silent',
    // A throwaway key for a throwaway in-memory database: no key file is written anywhere.
    PERSONA_MASTER_KEY: Buffer.from(randomBytes(32)).toString('base64url'),
  });
  const store = openStore('sqlite::memory:');
  await migrate(store);
  const { app } = await buildApp(config, store);
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}
