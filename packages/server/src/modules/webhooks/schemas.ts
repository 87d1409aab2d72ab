import { Type } from 'typebox';
import { PageQuery, pageOf } from '../../http/pagination.js';
import { ProjectId } from '../tenancy/schemas.js';
import { EVENT_FILTER_PATTERN, EVENT_TYPE_PATTERN } from './event-types.js';

const EndpointId = Type.String({ pattern: '^whe_[0-9a-f]{32}$', description: 'Webhook endpoint id.' });
const MessageId = Type.String({
  pattern: '^msg_[0-9a-f]{32}$',
  description: 'Message id: one event for one endpoint.',
});
const EventId = Type.String({
  pattern: '^evt_[0-9a-f]{32}$',
  description: 'Event id, sent as `webhook-id`: the same on every attempt and for every endpoint.',
});
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

const Url = Type.String({
  minLength: 1,
  maxLength: 2000,
  description:
    'Where events are POSTed: https, to a public address (a name that resolves to a private, loopback or ' +
    'link-local address fails at delivery). Hosts the operator trusts may be private or plain http.',
});
const Description = Type.String({ maxLength: 500 });
const EventTypes = Type.Array(
  Type.String({
    pattern: EVENT_FILTER_PATTERN,
    maxLength: 100,
    description: 'An event type (`verification.approved`) or a prefix wildcard (`verification.*`).',
  }),
  { maxItems: 50, description: 'Which events the endpoint receives; empty: all of them.' },
);
const RateLimit = Type.Integer({
  minimum: 1,
  maximum: 10_000,
  description: 'Deliveries per second to this endpoint, below the project\u2019s limit.',
});
const Signing = Type.Enum(['v1', 'v1a'] as const, {
  description:
    'v1: HMAC-SHA256 with a `whsec_` secret (what Standard Webhooks libraries verify); v1a: Ed25519, ' +
    'verified with the `whpk_` public key.',
});

export const ProjectParams = Type.Object({ projectId: ProjectId });
export const EndpointParams = Type.Object({ projectId: ProjectId, endpointId: EndpointId });
export const MessageParams = Type.Object({
  projectId: ProjectId,
  endpointId: EndpointId,
  messageId: MessageId,
});

export const CreateEndpoint = Type.Object(
  {
    url: Url,
    description: Type.Optional(Description),
    eventTypes: Type.Optional(EventTypes),
    signing: Type.Optional(Signing),
    rateLimit: Type.Optional(RateLimit),
  },
  { additionalProperties: false },
);

export const UpdateEndpoint = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    eventTypes: Type.Optional(EventTypes),
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'false disables the endpoint and cancels its pending messages; true enables it again (new ' +
          'events only: replay canceled messages one by one).',
      }),
    ),
    rateLimit: Type.Optional(Type.Union([RateLimit, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const RotateSecret = Type.Object(
  {
    overlapSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 24 * 3600,
        default: 24 * 3600,
        description: 'How long the old key keeps signing next to the new one (default 24 h; 0: stop now).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Endpoint = Type.Object({
  id: EndpointId,
  projectId: ProjectId,
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  eventTypes: Type.Array(Type.String()),
  signing: Signing,
  publicKey: Type.Union([Type.String(), Type.Null()], {
    description: 'v1a: the Ed25519 public key receivers verify with (`whpk_` + base64); null for v1.',
  }),
  rateLimit: Type.Union([Type.Integer(), Type.Null()]),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.Enum(['manual', 'gone', 'failing'] as const), Type.Null()], {
    description:
      'manual: disabled through the API; gone: the endpoint answered 410; failing: no delivery succeeded ' +
      'for 5 days.',
  }),
  failingSince: Type.Union([Timestamp, Type.Null()], {
    description: 'When the current run of failed attempts began; null while deliveries succeed.',
  }),
  previousKeyExpiresAt: Type.Union([Timestamp, Type.Null()], {
    description: 'During a rotation overlap: until when the old key still signs next to the new one.',
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const EndpointWithSecret = Type.Object({
  ...Endpoint.properties,
  secret: Type.Optional(
    Type.String({ description: 'v1: the signing secret (`whsec_` + base64 of 32 bytes). Shown only now.' }),
  ),
});

export const EndpointList = pageOf(Endpoint);

const Status = Type.Enum(['pending', 'delivering', 'succeeded', 'failed', 'canceled'] as const);

export const Message = Type.Object({
  id: MessageId,
  eventId: EventId,
  eventType: Type.String({ pattern: EVENT_TYPE_PATTERN }),
  endpointId: EndpointId,
  status: Status,
  attemptCount: Type.Integer(),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()], { description: 'When it is tried next, if pending.' }),
  lastAttemptAt: NullableTimestamp,
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});

export const Attempt = Type.Object({
  number: Type.Integer(),
  at: Timestamp,
  statusCode: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The HTTP status; null when no answer came (see error).',
  }),
  durationMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()], { description: 'The retry this attempt scheduled.' }),
});

export const MessageDetail = Type.Object({
  ...Message.properties,
  payload: Type.Unknown({ description: 'The body as sent; null once the event is past retention.' }),
  attempts: Type.Array(Attempt, { description: 'Newest first, at most 100.' }),
});

export const MessageList = pageOf(Message);

export const MessageQuery = Type.Object(
  { ...PageQuery.properties, status: Type.Optional(Status) },
  { additionalProperties: false },
);

export const TestSent = Type.Object({ eventId: EventId, messageId: MessageId });
