import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { openStore } from './store/database.js';

/** The OpenAPI document as the routes declare it, independent of where a server runs. */
export async function openApiDocument(): Promise<unknown> {
  const config = loadConfig({ PERSONA_PUBLIC_URL: 'http://localhost:8080', PERSONA_LOG_LEVEL: 'silent' });
  const { app } = await buildApp(config, openStore('sqlite::memory:'));
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}
