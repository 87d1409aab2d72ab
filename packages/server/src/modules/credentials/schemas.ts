import { Type } from 'typebox';
import { ProblemSchema } from '../../http/openapi.js';
import { IssuerId, STATUS_PURPOSES } from '../issuers/schemas.js';
import { ProjectId } from '../tenancy/schemas.js';

export const DATA_INTEGRITY_SUITES = ['eddsa-rdfc-2022', 'eddsa-jcs-2022', 'ecdsa-rdfc-2019'] as const;
/** What a verification runs, in order; all of them, always. */
export const CHECKS = ['data-model', 'json-ld', 'proof', 'validity-period', 'status', 'credentials'] as const;

export const IssuerParams = Type.Object({ issuerId: IssuerId });
export const VerifierParams = Type.Object({ projectId: ProjectId });

export const IssueRequest = Type.Object(
  {
    credential: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'A VC Data Model 2.0 credential (VC 1.1 accepted for Data Integrity); `issuer` is set to the ' +
          "issuer's DID when absent and must equal it when present.",
      },
    ),
    options: Type.Optional(
      Type.Object(
        {
          cryptosuite: Type.Optional(
            Type.Enum(DATA_INTEGRITY_SUITES, { description: "A Data Integrity suite among the issuer's." }),
          ),
          format: Type.Optional(
            Type.Literal('application/vc+jwt', {
              description: 'Secure with VC-JOSE-COSE instead (the issuer must have `vc+jwt`).',
            }),
          ),
          created: Type.Optional(Type.String({ format: 'date-time', description: "The proof's `created`." })),
          credentialStatus: Type.Optional(
            Type.Object(
              {
                type: Type.Literal('BitstringStatusListEntry'),
                statusPurpose: Type.Enum(STATUS_PURPOSES),
              },
              {
                additionalProperties: false,
                description:
                  "Add a Bitstring Status List entry of this purpose (instead of the issuer's `statusPurposes`); " +
                  'ignored when the credential carries its own `credentialStatus`.',
              },
            ),
          ),
          mandatoryPointers: Type.Optional(
            Type.Array(Type.String({ pattern: '^(/([^~/]|~[01])*)*$' }), {
              description:
                'JSON Pointers that must always be disclosed (selective-disclosure suites); the suites ' +
                'available now disclose the whole credential, so every pointer is satisfied.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: "Default: the issuer's first suite.",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const IssueResponse = Type.Object({
  verifiableCredential: Type.Unknown({
    description:
      'The secured credential: with a Data Integrity `proof`, or for vc+jwt an ' +
      '`EnvelopedVerifiableCredential` whose `id` is `data:application/vc+jwt,<JWS>`.',
  }),
});

const Checks = Type.Array(Type.Enum(CHECKS));

export const VerifyCredentialRequest = Type.Object(
  {
    verifiableCredential: Type.Unknown({
      description: 'A Data Integrity secured credential, or an EnvelopedVerifiableCredential (vc+jwt).',
    }),
    options: Type.Optional(
      Type.Object(
        {
          checks: Type.Optional(
            Type.Array(
              Type.Enum(['proof', 'data-model', 'json-ld', 'validity-period', 'status', 'credentialStatus']),
              {
                description: 'Checks to run; every one of them always runs.',
              },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const VerifyPresentationRequest = Type.Object(
  {
    verifiablePresentation: Type.Unknown({ description: 'A Data Integrity secured presentation.' }),
    options: Type.Object(
      {
        challenge: Type.String({
          minLength: 1,
          maxLength: 1024,
          description: "The proof's expected `challenge`.",
        }),
        domain: Type.Optional(
          Type.String({ minLength: 1, maxLength: 1024, description: "The proof's expected `domain`." }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const VerificationError = Type.Object({
  code: Type.String({ description: 'Why, e.g. `invalid-signature`, `expired`, `challenge-mismatch`.' }),
  message: Type.String(),
  path: Type.Optional(Type.String({ description: 'JSON Pointer into the credential or presentation.' })),
});

const CredentialResult = Type.Object({
  verified: Type.Boolean(),
  checks: Checks,
  errors: Type.Array(VerificationError),
});

/** The status of each Bitstring Status List entry of a verified credential. */
export const CredentialStatusResults = Type.Array(
  Type.Object({
    path: Type.String({ description: 'JSON Pointer of the entry, e.g. `/credentialStatus/0`.' }),
    statusPurpose: Type.String(),
    statusListCredential: Type.String(),
    statusListIndex: Type.String(),
    status: Type.Boolean({ description: 'true: set (revoked, suspended).' }),
  }),
);

export const VerifyCredentialResponse = Type.Object({
  verified: Type.Literal(true),
  checks: Checks,
  credentialStatus: Type.Optional(CredentialStatusResults),
});

export const VerifyPresentationResponse = Type.Object({
  verified: Type.Literal(true),
  checks: Checks,
  credentialResults: Type.Array(CredentialResult),
});

/**
 * Problem details of the VC-API routes: field errors (`in`, `pointer`, `detail`) for bad input, the
 * library error `code` of a credential that cannot be issued, and for one that does not verify
 * `verified: false` with the reasons as `errors: [{ code, message, path }]`.
 */
const CredentialProblem = Type.Object(
  {
    ...ProblemSchema.properties,
    code: Type.Optional(Type.String({ description: 'Issuing: the reason, e.g. `unknown-context`.' })),
    verified: Type.Optional(Type.Literal(false)),
    checks: Type.Optional(Checks),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          in: Type.Optional(Type.String()),
          pointer: Type.Optional(Type.String()),
          detail: Type.Optional(Type.String()),
          code: Type.Optional(Type.String()),
          message: Type.Optional(Type.String()),
          path: Type.Optional(Type.String()),
        }),
      ),
    ),
    credentialResults: Type.Optional(Type.Array(CredentialResult)),
    credentialStatus: Type.Optional(CredentialStatusResults),
  },
  { description: 'RFC 9457 problem details (application/problem+json) with VC-API extension members' },
);

export const CredentialProblemResponses = { '4xx': CredentialProblem, '5xx': CredentialProblem };
