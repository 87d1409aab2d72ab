import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';

const cert = new URL('./fixtures/localhost.crt', import.meta.url).pathname;
const key = new URL('./fixtures/localhost.key', import.meta.url).pathname;

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(cert) }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS', () => {
  it('serves HTTPS directly with PERSONA_TLS_CERT and PERSONA_TLS_KEY, and not plain HTTP', async () => {
    const server = await startTestServer({ PERSONA_TLS_CERT: cert, PERSONA_TLS_KEY: key });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await get(`${server.url}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' });
      await expect(fetch(`${server.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });
});
