import { Type } from 'typebox';
import { Name, ProjectId } from '../tenancy/schemas.js';

export const IssuerId = Type.String({ pattern: '^iss_[0-9a-f]{32}$', description: 'Issuer id.' });

/**
 * Securing mechanisms: the Data Integrity cryptosuites (ecdsa-sd-2023 and bbs-2023 with selective
 * disclosure) and VC-JOSE-COSE (`vc+jwt`, `vc+sd-jwt`, `vc+cose`).
 */
export const SUITES = [
  'eddsa-rdfc-2022',
  'eddsa-jcs-2022',
  'ecdsa-rdfc-2019',
  'ecdsa-sd-2023',
  'bbs-2023',
  'vc+jwt',
  'vc+sd-jwt',
  'vc+cose',
] as const;
export const KEY_TYPES = ['Ed25519', 'P-256', 'P-384', 'P-521', 'BLS12-381-G2'] as const;
export const DID_METHODS = ['did:key', 'did:web', 'did:persona'] as const;
/** Bitstring Status List purposes an issuer can publish lists for. */
export const STATUS_PURPOSES = ['revocation', 'suspension'] as const;

const Suite = Type.Enum(SUITES);
const KeyType = Type.Enum(KEY_TYPES);

export const CreateIssuer = Type.Object(
  {
    name: Name,
    didMethod: Type.Enum(DID_METHODS, {
      description:
        'did:key (one key), did:web (hosted at /issuers/{issuerId}/did.json), or did:persona (created on ' +
        'the ledger with the platform holding its rotation key; needs the `dids:write` permission too).',
    }),
    suites: Type.Array(Suite, {
      minItems: 1,
      uniqueItems: true,
      description: 'What the issuer may secure credentials with; the first is the default.',
    }),
    keyTypes: Type.Optional(
      Type.Array(KeyType, {
        minItems: 1,
        uniqueItems: true,
        description:
          'One KeyStore key per type. Default: what the suites need (Ed25519 for eddsa-*, P-256 for ' +
          'ecdsa-rdfc-2019 and ecdsa-sd-2023, BLS12-381-G2 for bbs-2023, Ed25519 for vc+jwt unless another ' +
          'key serves it). ecdsa-rdfc-2019 also signs with P-384, vc+jwt with Ed25519, P-256, P-384 or ' +
          'P-521 (ES512). A did:key issuer has exactly one.',
      }),
    ),
    statusPurposes: Type.Optional(
      Type.Array(Type.Enum(STATUS_PURPOSES), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Bitstring Status List: every credential issued without its own `credentialStatus` gets an entry ' +
          'per purpose. The lists are signed with the first Data Integrity suite, which must be one without ' +
          'selective disclosure (eddsa-rdfc-2022, eddsa-jcs-2022, ecdsa-rdfc-2019): verifiers cannot check ' +
          'an ecdsa-sd-2023 or bbs-2023 base proof on a list.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Issuer = Type.Object({
  id: IssuerId,
  projectId: ProjectId,
  name: Type.String(),
  did: Type.String({ description: 'The DID credentials of this issuer name as `issuer`.' }),
  didMethod: Type.Enum(DID_METHODS),
  suites: Type.Array(Suite),
  statusPurposes: Type.Array(Type.Enum(STATUS_PURPOSES), {
    description: 'Status purposes every issued credential gets an entry for (empty: none).',
  }),
  verificationMethods: Type.Array(
    Type.Object({ id: Type.String(), keyType: KeyType }, { description: 'A key of the issuer.' }),
  ),
  issueUrl: Type.String({ description: 'Its VC-API issue endpoint.' }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const ProjectParams = Type.Object({ projectId: ProjectId });
export const IssuerParams = Type.Object({ projectId: ProjectId, issuerId: IssuerId });
export const PublicIssuerParams = Type.Object({ issuerId: IssuerId });
