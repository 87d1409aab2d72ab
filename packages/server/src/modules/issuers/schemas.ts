import { Type } from 'typebox';
import { Name, ProjectId } from '../tenancy/schemas.js';

export const IssuerId = Type.String({ pattern: '^iss_[0-9a-f]{32}$', description: 'Issuer id.' });

/** Securing mechanisms: the Data Integrity cryptosuites and VC-JOSE-COSE (`vc+jwt`). */
export const SUITES = ['eddsa-rdfc-2022', 'eddsa-jcs-2022', 'ecdsa-rdfc-2019', 'vc+jwt'] as const;
export const KEY_TYPES = ['Ed25519', 'P-256', 'P-384'] as const;
export const DID_METHODS = ['did:key', 'did:web'] as const;
/** Bitstring Status List purposes an issuer can publish lists for. */
export const STATUS_PURPOSES = ['revocation', 'suspension'] as const;

const Suite = Type.Enum(SUITES);
const KeyType = Type.Enum(KEY_TYPES);

export const CreateIssuer = Type.Object(
  {
    name: Name,
    didMethod: Type.Enum(DID_METHODS, {
      description: 'did:key (one key) or did:web (hosted at /issuers/{issuerId}/did.json).',
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
          'ecdsa-rdfc-2019, Ed25519 for vc+jwt alone). A did:key issuer has exactly one.',
      }),
    ),
    statusPurposes: Type.Optional(
      Type.Array(Type.Enum(STATUS_PURPOSES), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Bitstring Status List: every credential issued without its own `credentialStatus` gets an entry ' +
          'per purpose. Needs a Data Integrity suite (the status lists are signed with the first one).',
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
