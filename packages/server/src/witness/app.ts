import type { Duplex } from 'node:stream';
import {
  checkAddCheckpoint,
  LedgerError,
  type NoteSigner,
  parseAddCheckpoint,
  parseCheckpoint,
  parseNote,
  signatureLines,
} from '@personachain/ledger';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { loggerOptions } from '../http/logging.js';
import type { WitnessConfig } from './config.js';
import type { WitnessStateStore } from './state.js';

const TEXT = 'text/plain; charset=utf-8';
/**
 * A request is an old-size line, at most 63 proof lines (45 bytes each) and a checkpoint note with at
 * most 100 signature lines; 64 KiB holds the largest plausible one with room to spare.
 */
export const WITNESS_BODY_LIMIT = 65_536;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The witness's HTTP interface (c2sp.org/tlog-witness): `POST /add-checkpoint` only. Answers are plain
 * text as the spec has them: cosignature lines on 200, a reason line on errors, and on 409 the latest
 * cosigned size as `text/x.tlog.size`.
 */
export function buildWitnessApp(
  config: Pick<WitnessConfig, 'logs' | 'logLevel'>,
  deps: { signer: NoteSigner; state: WitnessStateStore },
): FastifyInstance {
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit: WITNESS_BODY_LIMIT,
    frameworkErrors: (_error, _request, reply) => plain(reply, 400, 'bad request'),
    clientErrorHandler,
  });

  // The body is text whatever Content-Type the client sends (the spec names none); invalid UTF-8 is 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, utf8.decode(body as Buffer));
    } catch {
      done(Object.assign(new Error('the body is not UTF-8 text'), { statusCode: 400 }), undefined);
    }
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return plain(reply, status, 'internal error');
    }
    return plain(reply, status, error.message);
  });
  app.setNotFoundHandler((request, reply) =>
    plain(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  app.post('/add-checkpoint', async (request, reply) => {
    if (typeof request.body !== 'string')
      return plain(reply, 400, 'the body must be an add-checkpoint request');
    let req: ReturnType<typeof parseAddCheckpoint>;
    let origin: string;
    try {
      req = parseAddCheckpoint(request.body);
      // Only to find the log's keys and state: nothing of the note is trusted before checkAddCheckpoint.
      origin = parseCheckpoint(parseNote(req.note).text).origin;
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      return plain(reply, 400, error.message);
    }
    const log = config.logs.get(origin);
    for (;;) {
      const current = log ? deps.state.get(origin) : undefined;
      const decision = await checkAddCheckpoint(current, req, log?.verifiers);
      if (!decision.ok) {
        const context = { origin, old: req.oldSize, status: decision.status, reason: decision.reason };
        // A signed checkpoint that is inconsistent with one cosigned before may be evidence of a log
        // misbehaving (the spec suggests keeping it): log the note, which is public data.
        if (decision.status === 422)
          request.log.warn({ ...context, note: req.note }, 'add-checkpoint refused');
        else request.log.info(context, 'add-checkpoint refused');
        if (decision.body !== undefined) {
          return reply
            .code(decision.status)
            .type(decision.contentType ?? TEXT)
            .send(decision.body);
        }
        return plain(reply, decision.status, decision.reason);
      }
      const { size, root } = decision.checkpoint;
      // Persisted before answering; if another request moved the state since `current` was read, decide
      // again on the new state (which then answers 409), never overwrite it.
      if (deps.state.compareAndSet(origin, current, { size, root }, req.note)) {
        request.log.info({ origin, old: req.oldSize, size }, 'checkpoint cosigned');
        return reply.type(TEXT).send(await signatureLines(decision.text, [deps.signer]));
      }
    }
  });

  return app;
}

function plain(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type(TEXT).send(`${message}\n`);
}

/** HTTP that never became a request (bad framing, oversized headers): a plain-text 400/431. */
function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = 'the request could not be parsed as HTTP/1.1\n';
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
