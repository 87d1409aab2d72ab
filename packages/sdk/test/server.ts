import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';

/** did:web issuers are named after this (https with a domain name); `localFetch` maps it to the test server. */
export const PUBLIC_URL = 'https://persona.test:8443';
export const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;

export interface TestServer {
  url: string;
  /** A fetch that sends requests for PUBLIC_URL to the local server (nothing leaves 127.0.0.1). */
  localFetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

/** The real server on an ephemeral 127.0.0.1 port with a fresh SQLite database. */
export async function startTestServer(): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'persona-sdk-'));
  const server: RunningServer = await startServer(
    loadConfig({
      PERSONA_DATA_DIR: dataDir,
      PERSONA_HOST: '127.0.0.1',
      PERSONA_PORT: '0',
      PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
      PERSONA_LOG_LEVEL: 'silent',
      PERSONA_PUBLIC_URL: PUBLIC_URL,
    }),
  );
  const localFetch: typeof globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(`${PUBLIC_URL}/`)) throw new Error(`the test fetch refuses ${url}`);
    return globalThis.fetch(`${server.url}${url.slice(PUBLIC_URL.length)}`, init);
  };
  return {
    url: server.url,
    localFetch,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An unsigned credential naming `issuer` (the issuer's DID), with a fresh id. */
export function exampleCredential(issuer: string): Record<string, unknown> {
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'ExampleDegreeCredential'],
    issuer,
    credentialSubject: { id: 'did:example:alice', name: 'Alice Example', degree: 'BSc' },
  };
}
