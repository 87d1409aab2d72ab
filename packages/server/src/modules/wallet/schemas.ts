import { Type } from 'typebox';
import {
  CredentialProblemResponses,
  IssueRequest,
  PRESENTATION_FORMATS,
  ProveResponse,
} from '../credentials/schemas.js';
import { UserId } from '../identity/schemas.js';
import { IssuerId } from '../issuers/schemas.js';
import { ProjectId } from '../tenancy/schemas.js';

const Timestamp = Type.String({ format: 'date-time' });

/**
 * Problems of the wallet routes: the VC-API's (a presentation or credential that does not verify carries
 * `verified: false` and its reasons) with the wallet's own `code`s.
 */
const WalletProblem = Type.Object(
  {
    ...CredentialProblemResponses['4xx'].properties,
    code: Type.Optional(
      Type.String({
        description:
          'invalid_challenge, did_taken, too_many_dids, subject_not_linked, wallet_full; when issuing, the ' +
          'library reason, e.g. `unknown-context`.',
      }),
    ),
  },
  { description: 'RFC 9457 problem details (application/problem+json) with VC-API extension members' },
);
export const WalletProblemResponses = { '4xx': WalletProblem, '5xx': WalletProblem };
const Did = Type.String({ minLength: 8, maxLength: 2048, pattern: '^did:[a-z0-9]+:', description: 'A DID.' });
const Nonce = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description });

export const DidParams = Type.Object({ projectId: ProjectId, did: Did });
export const HeldCredentialParams = Type.Object({
  projectId: ProjectId,
  credentialId: Type.String({ pattern: '^ucr_[0-9a-f]{32}$', description: 'A wallet credential id.' }),
});

export const DidChallenge = Type.Object({
  challenge: Type.String({
    description:
      'Single use: the DID Auth presentation’s proof `challenge` (the signed `nonce` of a vp+jwt, vp+sd-jwt or vp+cose).',
  }),
  domain: Type.String({
    description:
      'The presentation’s proof `domain` (the signed `aud` of a vp+jwt, vp+sd-jwt or vp+cose): the platform’s public origin.',
  }),
  expiresAt: Timestamp,
});

export const LinkDid = Type.Union([
  Type.Object(
    {
      presentation: Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            'DID Auth: a presentation whose `holder` is the DID to link, signed (a Data Integrity proof with ' +
            'proofPurpose `authentication`, or an EnvelopedVerifiablePresentation: vp+jwt, vp+sd-jwt or vp+cose) ' +
            'by a key the DID lists under `authentication`, with the challenge and domain given by ' +
            '`/account/dids/challenge`.',
        },
      ),
    },
    { additionalProperties: false, title: 'Prove a DID' },
  ),
  Type.Object(
    {
      method: Type.Literal('did:key', {
        description: 'Create an Ed25519 did:key whose key the platform holds for the user (custodial).',
      }),
    },
    { additionalProperties: false, title: 'Create a custodial did:key' },
  ),
]);

export const LinkedDid = Type.Object({
  did: Did,
  custody: Type.Union([Type.Literal('self'), Type.Literal('platform')], {
    description:
      '`self`: linked by DID Auth; `platform`: a did:key whose key the platform holds for the user.',
  }),
  linkedAt: Timestamp,
});
export const LinkedDids = Type.Object({ items: Type.Array(LinkedDid) });

export const UserPresentationRequest = Type.Object(
  {
    presentation: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'A presentation; `holder` is set to the signing DID when absent and must equal it when present. ' +
          'For a VC-JOSE-COSE format its credentials must be EnvelopedVerifiableCredentials.',
      },
    ),
    options: Type.Object(
      {
        holder: Type.Optional(
          Type.String({ maxLength: 2048, description: 'Which custodial DID signs; default the first.' }),
        ),
        challenge: Nonce(
          "The verifier's challenge (the proof's `challenge`; a vp+jwt/vp+sd-jwt/vp+cose `nonce`).",
        ),
        domain: Type.Optional(Nonce("The verifier's domain (the proof's `domain`; a VC-JOSE-COSE `aud`).")),
        cryptosuite: Type.Optional(
          Type.Enum(['eddsa-rdfc-2022', 'eddsa-jcs-2022'], { description: 'Default eddsa-rdfc-2022.' }),
        ),
        format: Type.Optional(
          Type.Enum(PRESENTATION_FORMATS, {
            description:
              'Secure with VC-JOSE-COSE instead, as the VC-API holder does: an EnvelopedVerifiablePresentation ' +
              '(vp+jwt, vp+sd-jwt, or vp+cose as base64) signed by the custodial Ed25519 key.',
          }),
        ),
        created: Type.Optional(Timestamp),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** The same answer as the VC-API holder's (`ProveResponse`), with status 200. */
export const SignedPresentation = ProveResponse;

export const StoreCredential = Type.Object(
  {
    verifiableCredential: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'A secured credential (Data Integrity or an EnvelopedVerifiableCredential) that verifies, status ' +
          'included, and whose every `credentialSubject.id` is one of the user’s DIDs. At most 64 KiB.',
      },
    ),
  },
  { additionalProperties: false },
);

export const HeldCredential = Type.Object({
  id: Type.String(),
  types: Type.Array(Type.String()),
  issuer: Type.String(),
  validFrom: Type.Union([Type.String(), Type.Null()]),
  validUntil: Type.Union([Type.String(), Type.Null()]),
  storedAt: Timestamp,
});
export const HeldCredentials = Type.Object({ items: Type.Array(HeldCredential) });
export const HeldCredentialWithContent = Type.Object({
  ...HeldCredential.properties,
  verifiableCredential: Type.Unknown(),
});

export const UserParams = Type.Object({ projectId: ProjectId, userId: UserId });

export const IssueToUser = Type.Object(
  {
    issuerId: IssuerId,
    did: Type.Optional(
      Type.String({ maxLength: 2048, description: "The user's DID to issue to; default their first." }),
    ),
    credential: IssueRequest.properties.credential,
    options: IssueRequest.properties.options,
  },
  { additionalProperties: false },
);
