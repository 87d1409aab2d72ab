/**
 * A fake RapidAPI-hosted phone validation API (the shape of Veriphone's `GET /verify?phone=`, as served
 * through RapidAPI: `X-RapidAPI-Key` and `X-RapidAPI-Host` headers, 403 for a bad key), plus endpoints
 * that misbehave: one that hangs, one that redirects, one with an oversized body, one with a string that
 * makes a careless regular expression backtrack forever.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const RAPIDAPI_KEY = 'rk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
export const RAPIDAPI_HOST = 'veriphone.p.rapidapi.com';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeApi {
  /** http://127.0.0.1:<port> */
  origin: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** Veriphone's answer: valid when the number has 10 to 15 digits (a fake's rule, not E.164's). */
function verify(phone: string) {
  const digits = phone.replace(/\D/g, '');
  const valid = digits.length >= 10 && digits.length <= 15;
  return {
    status: 'success',
    phone,
    phone_valid: valid,
    phone_type: valid ? 'mobile' : '',
    phone_region: valid ? 'New York' : '',
    country: valid ? 'United States' : '',
    country_code: valid ? 'US' : '',
    country_prefix: valid ? '1' : '',
    international_number: valid
      ? `+${digits.slice(0, 1)} ${digits.slice(1, 4)}-${digits.slice(4, 7)}-${digits.slice(7)}`
      : '',
    local_number: valid ? `(${digits.slice(1, 4)}) ${digits.slice(4, 7)}-${digits.slice(7)}` : '',
    e164: valid ? `+${digits}` : '',
    carrier: valid ? 'Acme Mobile' : '',
  };
}

export async function startFakeApi(): Promise<FakeApi> {
  const requests: SeenRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(seen);
      const url = new URL(seen.path, 'http://fake');
      switch (url.pathname) {
        case '/verify': {
          if (
            req.headers['x-rapidapi-key'] !== RAPIDAPI_KEY ||
            req.headers['x-rapidapi-host'] !== RAPIDAPI_HOST
          ) {
            return json(res, 403, { message: 'You are not subscribed to this API.' });
          }
          const phone = url.searchParams.get('phone');
          if (!phone) return json(res, 400, { status: 'error', message: 'phone is required' });
          return json(res, 200, verify(phone));
        }
        case '/echo':
          return json(res, 200, { method: seen.method, body: seen.body ? JSON.parse(seen.body) : null });
        case '/health':
          return json(res, 200, { status: 'ok' });
        case '/hang':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        case '/redirect':
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
          return;
        case '/big':
          return json(res, 200, { padding: 'x'.repeat(2 * 1024 * 1024) });
        case '/text':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('OK 42');
          return;
        case '/backtrack':
          return json(res, 200, { s: `${'a'.repeat(40)}b` });
        default:
          return json(res, 404, { message: 'Endpoint does not exist' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
