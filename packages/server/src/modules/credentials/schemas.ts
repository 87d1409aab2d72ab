import { Type } from 'typebox';
import { ProblemSchema } from '../../http/openapi.js';
import { IssuerId, STATUS_PURPOSES } from '../issuers/schemas.js';
import { ProjectId } from '../tenancy/schemas.js';

export const DATA_INTEGRITY_SUITES = [
  'eddsa-rdfc-2022',
  'eddsa-jcs-2022',
  'ecdsa-rdfc-2019',
  'ecdsa-sd-2023',
  'bbs-2023',
] as const;
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
            Type.Enum(['application/vc+jwt', 'application/vc+sd-jwt', 'application/vc+cose'], {
              description:
                'Secure with VC-JOSE-COSE instead, as an EnvelopedVerifiableCredential: the issuer must have ' +
                'the suite of that name (`vc+jwt`, `vc+sd-jwt`, `vc+cose`).',
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
            Type.Array(Type.String({ pattern: '^(/([^~/]|~[01])*)*$', maxLength: 1024 }), {
              maxItems: 256,
              description:
                'ecdsa-sd-2023 and bbs-2023: JSON Pointers (RFC 6901) to what every derived credential must ' +
                'disclose, e.g. `["/issuer"]`; each must select a value of the credential. The other suites ' +
                'disclose the whole credential, so every pointer is satisfied and they ignore them.',
            }),
          ),
          selectivePointers: Type.Optional(
            Type.Array(Type.String({ pattern: '^(/([^~/]|~[01])*)*$', maxLength: 1024 }), {
              maxItems: 256,
              description:
                'application/vc+sd-jwt only: JSON Pointers (RFC 6901) to the claims issued as selectively ' +
                'disclosable, e.g. `["/credentialSubject/birthDate"]` (the VC-API name for selectively ' +
                'disclosed pointers). `@context`, `type`, `issuer`, the validity and status properties stay ' +
                'always disclosed (VC-JOSE-COSE §3.2.1).',
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
      'The secured credential: with a Data Integrity `proof`, or for VC-JOSE-COSE an ' +
      '`EnvelopedVerifiableCredential` whose `id` is `data:application/vc+jwt,<JWS>`, ' +
      '`data:application/vc+sd-jwt,<SD-JWT>` or `data:application/vc+cose;base64,<COSE_Sign1>`.',
  }),
});

const Checks = Type.Array(Type.Enum(CHECKS));

/** The `checks` a VC-API client may ask for; every check always runs. */
const RequestedChecks = Type.Array(
  Type.Enum(['proof', 'data-model', 'json-ld', 'validity-period', 'status', 'credentialStatus']),
  { maxItems: 16, description: 'Checks to run; every one of them always runs.' },
);

const challenge = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description });

export const VerifyCredentialRequest = Type.Object(
  {
    verifiableCredential: Type.Unknown({
      description:
        'A Data Integrity secured credential, or an EnvelopedVerifiableCredential (vc+jwt, vc+sd-jwt, vc+cose).',
    }),
    options: Type.Optional(
      Type.Object(
        {
          checks: Type.Optional(RequestedChecks),
          challenge: Type.Optional(
            challenge('When given, every Data Integrity proof must carry this `challenge`.'),
          ),
          domain: Type.Optional(
            challenge('When given, every Data Integrity proof must carry this `domain` (or list it).'),
          ),
          expectedProofPurpose: Type.Optional(
            Type.Enum(['assertionMethod', 'authentication'], {
              description: 'The proof purpose every proof must have (default `assertionMethod`).',
            }),
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
    verifiablePresentation: Type.Unknown({
      description:
        'A presentation: with a Data Integrity proof, without a proof (only when no `challenge` or ' +
        '`domain` is expected), or an EnvelopedVerifiablePresentation (`data:application/vp+jwt,<JWS>`, ' +
        '`data:application/vp+sd-jwt,<SD-JWT>`, `data:application/vp+cose;base64,<COSE_Sign1>`). ' +
        'Its credentials may be Data Integrity secured or EnvelopedVerifiableCredentials (vc+jwt, vc+sd-jwt, ' +
        'vc+cose).',
    }),
    options: Type.Object(
      {
        challenge: Type.Optional(
          challenge(
            "The proof's expected `challenge` (a vp+jwt's `nonce`). When given, the presentation must be " +
              'signed with it; without it, nothing stops a replayed presentation.',
          ),
        ),
        domain: Type.Optional(
          challenge("The proof's expected `domain` (a vp+jwt's `aud`); when given, a proof is required."),
        ),
        checks: Type.Optional(RequestedChecks),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const HolderParams = Type.Object({ projectId: ProjectId });

// RFC 6901; the derive request's pointers select what the holder discloses.
const JsonPointer = Type.String({ pattern: '^(/([^~/]|~[01])*)*$', maxLength: 1024 });

export const DeriveRequest = Type.Object(
  {
    verifiableCredential: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'A credential with an `ecdsa-sd-2023` or `bbs-2023` base proof, as its issuer secured it.',
      },
    ),
    options: Type.Optional(
      Type.Object(
        {
          selectivePointers: Type.Optional(
            Type.Array(JsonPointer, {
              maxItems: 256,
              description:
                "JSON Pointers to disclose besides the issuer's mandatory ones, e.g. `/credentialSubject/name`.",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const DeriveResponse = Type.Object({
  verifiableCredential: Type.Unknown({
    description: 'The credential disclosing only the selected statements, with a derived proof.',
  }),
});

/** Data Integrity suites that sign presentations (the selective-disclosure suites secure credentials only). */
export const PRESENTATION_SUITES = ['eddsa-rdfc-2022', 'eddsa-jcs-2022', 'ecdsa-rdfc-2019'] as const;
export const PRESENTATION_FORMATS = [
  'application/vp+jwt',
  'application/vp+sd-jwt',
  'application/vp+cose',
] as const;

export const ProveRequest = Type.Object(
  {
    presentation: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          "A presentation (VC Data Model 2.0; 1.1 accepted for Data Integrity). `holder` is set to the holder's " +
          'DID when absent and must equal it when present. For a VC-JOSE-COSE format its credentials must be ' +
          'EnvelopedVerifiableCredentials.',
      },
    ),
    options: Type.Object(
      {
        holder: IssuerId,
        challenge: challenge(
          "The verifier's challenge (a vp+jwt's `nonce`); required, so the proof cannot be replayed.",
        ),
        domain: Type.Optional(challenge("The verifier's domain (a vp+jwt's `aud`).")),
        cryptosuite: Type.Optional(
          Type.Enum(PRESENTATION_SUITES, { description: "A Data Integrity suite among the holder's." }),
        ),
        format: Type.Optional(
          Type.Enum(PRESENTATION_FORMATS, {
            description:
              'Secure with VC-JOSE-COSE instead: an EnvelopedVerifiablePresentation (vp+jwt, vp+sd-jwt, or ' +
              'vp+cose as base64).',
          }),
        ),
        created: Type.Optional(
          Type.String({ format: 'date-time', description: "Data Integrity: the proof's `created`." }),
        ),
      },
      {
        additionalProperties: false,
        description:
          "`holder`: the id of the project's issuer whose DID signs, with proofPurpose `authentication`. " +
          "Default securing: the holder's first suite that signs presentations (its `vc+jwt` meaning vp+jwt).",
      },
    ),
  },
  { additionalProperties: false },
);

export const ProveResponse = Type.Object({
  verifiablePresentation: Type.Unknown({
    description:
      'The signed presentation: with a Data Integrity `authentication` proof, or for a VC-JOSE-COSE format an ' +
      '`EnvelopedVerifiablePresentation` whose `id` is `data:application/vp+jwt,<JWS>`, ' +
      '`data:application/vp+sd-jwt,<SD-JWT>` or `data:application/vp+cose;base64,<COSE_Sign1>`.',
  }),
});

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
    status: Type.Boolean({ description: 'true: set, i.e. the value is not 0 (revoked, suspended).' }),
    statusSize: Type.Integer({
      minimum: 1,
      description: 'Bits of the entry (its `statusSize`, 1 if absent).',
    }),
    statusValue: Type.Integer({ minimum: 0, description: 'The value of those bits in the status list.' }),
    statusMessage: Type.Optional(
      Type.String({
        description:
          "The message the entry's `statusMessage` gives that value (multi-bit entries always have one; " +
          '"set"/"unset" for a single-bit `message` entry without one).',
      }),
    ),
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
