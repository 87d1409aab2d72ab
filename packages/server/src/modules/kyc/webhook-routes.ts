import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { ProblemResponses } from '../../http/openapi.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import type { KycInbox } from './inbox.js';
import { WebhookParams } from './schemas.js';

/** Vendors' webhooks are small JSON documents. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * Inbound webhooks of verification providers, one URL per provider configuration. The signature is checked
 * on the raw bytes, so this scope keeps JSON bodies as bytes instead of parsing them.
 */
export const kycWebhookRoutes: FastifyPluginAsyncTypebox<{
  inbox: KycInbox;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { inbox, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'verification-webhooks');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );

  app.post(
    '/v1/verification-webhooks/:providerId',
    {
      schema: {
        tags: ['verifications'],
        summary: 'Receives a verification provider’s webhooks (signed by the provider; no API key)',
        description:
          'Verified on the raw body with the configuration’s webhook secret; 200 once recorded (a repeated ' +
          'delivery is acknowledged and dropped), 401 when the signature does not verify.',
        params: WebhookParams,
        response: {
          200: Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => {
      const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
      const { duplicate } = await inbox.receive(request.params.providerId, body, request.headers);
      return { received: true, duplicate };
    },
  );
};
