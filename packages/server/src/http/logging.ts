import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';
import type { Config } from '../config.js';

/**
 * pino options: JSON lines, request logs without query strings (they may carry codes or tokens later),
 * and redaction of anything secret that might still end up in a log object.
 */
export function loggerOptions(level: Config['logLevel']): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        'res.headers["set-cookie"]',
        '*.secret',
        '*.password',
        '*.token',
        '*.bootstrapKey',
        '*.metricsToken',
        'config.bootstrapKey',
        'config.metricsToken',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url.split('?')[0],
        remoteAddress: request.ip,
      }),
    },
  };
}
