/**
 * The HTTP plumbing the Onfido and Sumsub fakes share: a node:http server on 127.0.0.1:0 that records every
 * call, lets a vendor handler answer it (or leave it hanging, to exercise timeouts), and posts signed
 * webhooks to a target.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body (JSON or multipart). */
  body: Buffer;
}

/** An answer: JSON with a status, or `hang` to never answer (the connection is dropped at close()). */
export type VendorReply = { status: number; json: unknown } | 'hang';

export type FailMode = 'error500' | 'hang' | 'unsupported' | 'unauthorized' | 'rate_limited';

export interface VendorServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startVendorServer(
  handler: (request: RecordedRequest) => VendorReply | Promise<VendorReply>,
): Promise<VendorServer> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      Promise.resolve()
        .then(() => handler(recorded))
        .then(
          (reply) => {
            if (reply === 'hang') {
              hanging.add(res);
              res.on('close', () => hanging.delete(res));
              return;
            }
            const body = JSON.stringify(reply.json);
            res.writeHead(reply.status, { 'content-type': 'application/json' }).end(body);
          },
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Parses a multipart body the way the vendor's server would. */
export async function parseMultipart(request: RecordedRequest): Promise<FormData> {
  const contentType = String(request.headers['content-type'] ?? '');
  return new Response(new Uint8Array(request.body), { headers: { 'content-type': contentType } }).formData();
}

export function parseJson(request: RecordedRequest): Record<string, unknown> {
  try {
    const value = JSON.parse(request.body.toString('utf8'));
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

/** A webhook exactly as sent: the raw body and the headers (so it can be sent again as a duplicate). */
export interface WebhookDelivery {
  body: string;
  headers: Record<string, string>;
}

export interface WebhookResult {
  status: number;
  text: string;
  delivery: WebhookDelivery;
}

export async function postWebhook(targetUrl: string, delivery: WebhookDelivery): Promise<WebhookResult> {
  const response = await fetch(targetUrl, { method: 'POST', headers: delivery.headers, body: delivery.body });
  return { status: response.status, text: await response.text(), delivery };
}

/** A one-shot failure, optionally only for requests whose path contains `pathIncludes`. */
export interface PendingFailure {
  mode: FailMode;
  pathIncludes?: string;
}

/** Takes the first pending failure that applies to this request (each fires once). */
export function takeFailure(pending: PendingFailure[], request: RecordedRequest): FailMode | undefined {
  const index = pending.findIndex(
    (failure) => !failure.pathIncludes || request.path.includes(failure.pathIncludes),
  );
  if (index < 0) return undefined;
  const [failure] = pending.splice(index, 1);
  return failure?.mode;
}
