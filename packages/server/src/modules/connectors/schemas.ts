import { type Static, Type } from 'typebox';
import { ProblemSchema } from '../../http/openapi.js';
import { PageQuery } from '../../http/pagination.js';
import { IssueRequest } from '../credentials/schemas.js';
import { IssuerId } from '../issuers/schemas.js';
import { ProjectId } from '../tenancy/schemas.js';

export const ConnectorId = Type.String({ pattern: '^con_[0-9a-f]{32}$', description: 'Connector id.' });
export const ProjectParams = Type.Object({ projectId: ProjectId });
export const ConnectorParams = Type.Object({ projectId: ProjectId, connectorId: ConnectorId });
export const ConnectorPageQuery = PageQuery;

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH'] as const;
export const RUN_KINDS = ['test', 'issue', 'check', 'health'] as const;
export const FAILURE_REASONS = [
  'connector_error',
  'connector_timeout',
  'rate_limited',
  'quota_exceeded',
  'rule_failed',
  'mapping_failed',
  'input_invalid',
] as const;

/** Problems of runs carry why the run failed (and the API's status) besides the standard members. */
const ConnectorProblem = Type.Object(
  {
    ...ProblemSchema.properties,
    reason: Type.Optional(Type.Enum(FAILURE_REASONS, { description: 'Why the connector run failed.' })),
    upstreamStatus: Type.Optional(
      Type.Union([Type.Integer(), Type.Null()], { description: "The API's HTTP status, if it answered." }),
    ),
    code: Type.Optional(Type.String({ description: 'Issuing: why the credential was rejected.' })),
  },
  { description: 'RFC 9457 problem details (application/problem+json) with the failed run’s reason' },
);
export const ConnectorProblemResponses = { '4xx': ConnectorProblem, '5xx': ConnectorProblem };

const Template = (description: string, maxLength: number) =>
  Type.String({ minLength: 1, maxLength, description });

const Header = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Header name, e.g. `X-RapidAPI-Key`.' }),
    value: Template(
      'Header value template: `{{secrets.name}}` and `{{input.path}}` are inserted as is (CR/LF refused).',
      4096,
    ),
  },
  { additionalProperties: false },
);

const SecretName = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$' };

const JsonObject = (description: string) =>
  Type.Record(Type.String(), Type.Unknown(), { description, maxProperties: 100 });

/** What every configuration field is; creation and update differ only in what is required and nullable. */
const fields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  method: Type.Enum(METHODS, { description: 'HTTP method of the request (default GET).' }),
  urlTemplate: Template(
    'The API URL. Its scheme and host are fixed (https, a public host, or one the operator trusts); ' +
      'placeholders may appear in the path and query, where their values are percent-encoded.',
    2048,
  ),
  headers: Type.Array(Header, { maxItems: 30 }),
  bodyTemplate: Type.Unknown({
    description:
      'JSON body (POST/PUT/PATCH): a string that is exactly one placeholder takes the JSON value it names; ' +
      'placeholders inside longer strings are inserted as text. Object keys are literal.',
  }),
  secrets: Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 4096 }), {
    propertyNames: SecretName,
    maxProperties: 20,
    description:
      'Write-only values that templates reference as `{{secrets.name}}`; stored encrypted, never returned.',
  }),
  mapping: Type.String({
    minLength: 1,
    maxLength: 10_000,
    description:
      'JSONata expression evaluated on `{status, body}` of the response (with `$input` bound) giving the ' +
      'claims: a JSON object. Absent: no claims.',
  }),
  successRule: Type.String({
    minLength: 1,
    maxLength: 10_000,
    description:
      'JSONata expression on `{status, body}` (with `$input`) that must be `true`. Default: a 2xx status.',
  }),
  credential: Type.Object(
    {
      issuerId: Type.Optional(IssuerId),
      type: Type.String({
        pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$',
        description: 'The credential type besides VerifiableCredential, e.g. `PhoneVerificationCredential`.',
      }),
    },
    { additionalProperties: false, description: 'What `issue` issues; issuerId is the default issuer.' },
  ),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, description: 'Per request (default 10000).' }),
  rateLimit: Type.Object(
    {
      perSecond: Type.Number({ exclusiveMinimum: 0, maximum: 1000 }),
      burst: Type.Integer({ minimum: 1, maximum: 1000 }),
    },
    { additionalProperties: false, description: 'Token bucket per connector (default 10/s, burst 20).' },
  ),
  quota: Type.Object(
    {
      perDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000 })),
      perMonth: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000 })),
    },
    {
      additionalProperties: false,
      description: 'Requests per UTC day and month; every outbound request counts.',
    },
  ),
  healthCheck: Type.Object(
    {
      method: Type.Optional(Type.Enum(['GET', 'HEAD'] as const, { description: 'Default GET.' })),
      urlTemplate: Template('A URL of the same origin; it may reference secrets, not input.', 2048),
      expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'Default 200.' })),
    },
    {
      additionalProperties: false,
      description: "A request that tells whether the API is up (sent with the connector's headers).",
    },
  ),
  sampleInput: JsonObject(
    'Input for a health check that runs the main request (when no healthCheck is set).',
  ),
};

export const CreateConnector = Type.Object(
  {
    name: fields.name,
    method: Type.Optional(fields.method),
    urlTemplate: fields.urlTemplate,
    headers: Type.Optional(fields.headers),
    bodyTemplate: Type.Optional(fields.bodyTemplate),
    secrets: Type.Optional(fields.secrets),
    mapping: Type.Optional(fields.mapping),
    successRule: Type.Optional(fields.successRule),
    credential: Type.Optional(fields.credential),
    timeoutMs: Type.Optional(fields.timeoutMs),
    rateLimit: Type.Optional(fields.rateLimit),
    quota: Type.Optional(fields.quota),
    healthCheck: Type.Optional(fields.healthCheck),
    sampleInput: Type.Optional(fields.sampleInput),
  },
  { additionalProperties: false },
);
export type CreateConnector = Static<typeof CreateConnector>;

const nullable = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) =>
  Type.Optional(Type.Union([schema, Type.Null()]));

export const UpdateConnector = Type.Object(
  {
    name: Type.Optional(fields.name),
    method: Type.Optional(fields.method),
    urlTemplate: Type.Optional(fields.urlTemplate),
    headers: Type.Optional(fields.headers),
    bodyTemplate: Type.Optional(fields.bodyTemplate),
    secrets: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()]), {
        propertyNames: SecretName,
        maxProperties: 20,
        description: 'Merged into the secrets: a value sets one, null removes it.',
      }),
    ),
    mapping: nullable(fields.mapping),
    successRule: nullable(fields.successRule),
    credential: nullable(fields.credential),
    timeoutMs: Type.Optional(fields.timeoutMs),
    rateLimit: Type.Optional(fields.rateLimit),
    quota: Type.Optional(fields.quota),
    healthCheck: nullable(fields.healthCheck),
    sampleInput: nullable(fields.sampleInput),
  },
  {
    additionalProperties: false,
    description: 'Fields to change; null removes an optional one. `bodyTemplate: null` removes the body.',
  },
);
export type UpdateConnector = Static<typeof UpdateConnector>;

const Health = Type.Object({
  status: Type.Enum(['unknown', 'healthy', 'unhealthy'] as const),
  checkedAt: Type.Union([Type.String(), Type.Null()]),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the last check failed.' }),
  consecutiveFailures: Type.Integer(),
});

export const Connector = Type.Object({
  id: ConnectorId,
  projectId: ProjectId,
  name: Type.String(),
  method: Type.Enum(METHODS),
  urlTemplate: Type.String(),
  headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
  bodyTemplate: Type.Optional(Type.Unknown()),
  secrets: Type.Array(Type.String(), { description: 'The secrets’ names; their values are never returned.' }),
  mapping: Type.Optional(Type.String()),
  successRule: Type.Optional(Type.String()),
  credential: Type.Optional(fields.credential),
  timeoutMs: Type.Integer(),
  rateLimit: fields.rateLimit,
  quota: fields.quota,
  healthCheck: Type.Optional(
    Type.Object({
      method: Type.Enum(['GET', 'HEAD'] as const),
      urlTemplate: Type.String(),
      expectStatus: Type.Integer(),
    }),
  ),
  sampleInput: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  health: Health,
  usage: Type.Object(
    { today: Type.Integer(), thisMonth: Type.Integer() },
    { description: 'Outbound requests counted against the quota in the current UTC day and month.' },
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const ConnectorList = Type.Object({
  data: Type.Array(Connector),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const Input = JsonObject('The values `{{input.…}}` placeholders read.');

export const RunRequest = Type.Object({ input: Input }, { additionalProperties: false });

export const RunResult = Type.Object({
  success: Type.Boolean(),
  statusCode: Type.Union([Type.Integer(), Type.Null()], {
    description: "The API's HTTP status; null if none.",
  }),
  durationMs: Type.Integer(),
  claims: Type.Record(Type.String(), Type.Unknown(), {
    description: 'What the mapping produced ({} on failure).',
  }),
  reason: Type.Optional(Type.Enum(FAILURE_REASONS)),
  detail: Type.Optional(Type.String({ description: 'What failed (never secrets or input values).' })),
});

export const IssueFromConnector = Type.Object(
  {
    input: Input,
    subjectId: Type.Optional(
      Type.String({
        maxLength: 2048,
        pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s]+$',
        description: "The credential subject's id (a DID or another URI).",
      }),
    ),
    issuerId: Type.Optional(IssuerId),
    options: IssueRequest.properties.options,
  },
  { additionalProperties: false },
);
export type IssueFromConnector = Static<typeof IssueFromConnector>;

export const IssuedFromConnector = Type.Object({
  verifiableCredential: Type.Unknown(),
  claims: Type.Record(Type.String(), Type.Unknown()),
});

export const Run = Type.Object({
  at: Type.String(),
  kind: Type.Enum(RUN_KINDS),
  success: Type.Boolean(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  reason: Type.Union([Type.Enum(FAILURE_REASONS), Type.Null()]),
  detail: Type.Union([Type.String(), Type.Null()]),
});

export const RunList = Type.Object({
  data: Type.Array(Run),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
