import {
  buildDidDocument,
  createDidKey,
  type DidDocument,
  DidError,
  didWebFromUrl,
} from '@personachain/credentials';
import { encodePublicKeyMultibase, type KeyRecord, type KeyStore } from '@personachain/crypto';
import type { Kysely } from 'kysely';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { isId, newId } from '../../ids.js';
import type { Database, IssuersTable } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { PersonaService } from '../persona/service.js';
import type { Action, Principal } from '../policy/model.js';
import type { Project, TenancyService } from '../tenancy/service.js';
import { buildIssuerGenesis, personaFragment } from './persona-genesis.js';
import { IssuersRepo } from './repo.js';
import type { DID_METHODS, KEY_TYPES, STATUS_PURPOSES, SUITES } from './schemas.js';

export type Suite = (typeof SUITES)[number];
export type KeyType = (typeof KEY_TYPES)[number];
export type IssuerDidMethod = (typeof DID_METHODS)[number];
export type StatusPurpose = (typeof STATUS_PURPOSES)[number];

/** A KeyStore key of an issuer and the verification method it is in the issuer's DID document. */
export interface IssuerKey {
  algorithm: KeyType;
  keyId: string;
  verificationMethod: string;
}

/** An issuer as the credentials module sees it: what it signs as, with what. */
export interface IssuerRecord {
  id: string;
  projectId: string;
  orgId: string;
  name: string;
  did: string;
  didMethod: IssuerDidMethod;
  suites: Suite[];
  keys: IssuerKey[];
  statusPurposes: StatusPurpose[];
  createdAt: string;
}

/** An issuer as the API shows it. */
export interface Issuer {
  id: string;
  projectId: string;
  name: string;
  did: string;
  didMethod: IssuerDidMethod;
  suites: Suite[];
  statusPurposes: StatusPurpose[];
  verificationMethods: Array<{ id: string; keyType: KeyType }>;
  issueUrl: string;
  createdAt: string;
}

/** DIDs whose documents this platform holds: `did:web:<public host>:issuers:<issuerId>`. */
export interface HostedDids {
  /** Every hosted DID starts with this. */
  prefix: string;
  /** The document of a hosted DID, or undefined when there is no such issuer. */
  document(did: string): Promise<DidDocument | undefined>;
}

/** The persona module's path for a new DID: it verifies the genesis, appends it to the ledger, indexes it. */
export type PersonaDids = Pick<PersonaService, 'create'>;

/**
 * Key types each suite signs with, the default first; `vc+jwt` signs with EdDSA, ES256, ES384 or ES512 (JOSE
 * has no BBS; Data Integrity's ecdsa-rdfc-2019 is P-256/P-384 only by its spec). ecdsa-sd-2023 is P-256
 * only: its library requires 64-byte base signatures.
 */
const SUITE_KEY_TYPES: Record<Suite, readonly KeyType[]> = {
  'eddsa-rdfc-2022': ['Ed25519'],
  'eddsa-jcs-2022': ['Ed25519'],
  'ecdsa-rdfc-2019': ['P-256', 'P-384'],
  'ecdsa-sd-2023': ['P-256'],
  'bbs-2023': ['BLS12-381-G2'],
  'vc+jwt': ['Ed25519', 'P-256', 'P-384', 'P-521'],
  'vc+sd-jwt': ['Ed25519', 'P-256', 'P-384', 'P-521'],
  'vc+cose': ['Ed25519', 'P-256', 'P-384', 'P-521'],
};

/** The VC-JOSE-COSE suites: they envelope the credential (JWS, SD-JWT, COSE_Sign1) instead of adding a proof. */
export type EnvelopingSuite = 'vc+jwt' | 'vc+sd-jwt' | 'vc+cose';

export function isEnvelopingSuite(suite: Suite): suite is EnvelopingSuite {
  return suite === 'vc+jwt' || suite === 'vc+sd-jwt' || suite === 'vc+cose';
}

/** Suites whose proofs are base proofs: only the holder's derived credentials verify. */
export function isSelectiveDisclosureSuite(suite: Suite): suite is 'ecdsa-sd-2023' | 'bbs-2023' {
  return suite === 'ecdsa-sd-2023' || suite === 'bbs-2023';
}

/** The key a suite signs with: the issuer's first key of a type the suite accepts. */
export function keyForSuite(keys: readonly IssuerKey[], suite: Suite): IssuerKey | undefined {
  return keys.find((key) => SUITE_KEY_TYPES[suite].includes(key.algorithm));
}

/**
 * The suite an issuer's status lists are signed with: its first Data Integrity suite, as the status module
 * signs them. Undefined when that is none, or a selective-disclosure suite: a base proof on a list could
 * not be checked by verifiers, who get the list as published, not derived by a holder.
 */
export function statusListSuite(suites: readonly Suite[]): Exclude<Suite, EnvelopingSuite> | undefined {
  const first = suites.find((suite): suite is Exclude<Suite, EnvelopingSuite> => !isEnvelopingSuite(suite));
  return first === undefined || isSelectiveDisclosureSuite(first) ? undefined : first;
}

/** Why an issuer with `suites` cannot sign status lists (see statusListSuite). */
export const NO_STATUS_LIST_SUITE =
  'needs a first Data Integrity suite without selective disclosure (eddsa-rdfc-2022, eddsa-jcs-2022 or ' +
  'ecdsa-rdfc-2019), which signs the status lists; list it before ecdsa-sd-2023 or bbs-2023';

/**
 * Credential issuers: a DID (did:key, did:web hosted here, or did:persona on the ledger) and KeyStore keys
 * for the suites it may use. Every call authorizes through tenancy (project visibility, Cedar actions).
 */
export class IssuersService {
  /** `did:web:<host>:issuers:` when the public URL can carry did:web DIDs; else why it cannot. */
  private readonly webPrefix: { prefix: string } | { reason: string };

  constructor(
    private readonly repo: IssuersRepo,
    private readonly keys: KeyStore,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly publicUrl: string,
    /** Late-bound: the persona module resolves DIDs through a DID service that needs `hosted` from here. */
    private readonly persona: () => PersonaDids,
    private readonly now: () => Date = () => new Date(),
  ) {
    try {
      this.webPrefix = { prefix: `${didWebFromUrl(publicUrl, ['issuers'])}:` };
    } catch (error) {
      this.webPrefix = { reason: error instanceof DidError ? error.message : String(error) };
    }
  }

  /** The did:web DIDs this platform answers for itself, if its public URL allows any. */
  get hosted(): HostedDids | undefined {
    if (!('prefix' in this.webPrefix)) return undefined;
    const { prefix } = this.webPrefix;
    return {
      prefix,
      document: async (did) => {
        const id = did.slice(prefix.length);
        const row = did.startsWith(prefix) ? await this.live(id) : undefined;
        return row && row.did === did ? this.didDocument(row) : undefined;
      },
    };
  }

  async createIssuer(
    principal: Principal,
    projectId: string,
    input: {
      name: string;
      didMethod: IssuerDidMethod;
      suites: Suite[];
      keyTypes?: KeyType[];
      statusPurposes?: StatusPurpose[];
    },
  ): Promise<Issuer> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'issuers:write');
    const keyTypes = checkKeyTypes(input.didMethod, input.suites, input.keyTypes);
    const statusPurposes = input.statusPurposes ?? [];
    if (statusPurposes.length > 0 && statusListSuite(input.suites) === undefined) {
      throw new Problem(
        'validation-error',
        `The issuer is not valid: statusPurposes ${NO_STATUS_LIST_SUITE}.`,
        {
          errors: [{ in: 'body', pointer: '#/statusPurposes', detail: NO_STATUS_LIST_SUITE }],
        },
      );
    }
    // A did:persona issuer is also a DID of the project: refused before any key is made.
    if (input.didMethod === 'did:persona') {
      await this.tenancy.authorizeProject(principal, projectId, 'dids:write');
    }
    if (input.didMethod === 'did:web') this.didWebPrefix();
    const id = newId('iss');
    const created: KeyRecord[] = [];
    const newKey = async (algorithm: KeyRecord['algorithm'], purpose: string) => {
      const key = await this.keys.createKey({ purpose, algorithm });
      created.push(key);
      return key;
    };
    let row: IssuersTable;
    try {
      const suiteKeys = [];
      for (const keyType of keyTypes) {
        suiteKeys.push({ keyType, key: await newKey(keyType, `issuer:${id}:${keyType}`) });
      }
      const { did: issuerDid, fragment } = await this.createDid(principal, project, id, input.didMethod, {
        suiteKeys,
        newKey,
      });
      const keys: IssuerKey[] = suiteKeys.map(({ keyType, key }) => ({
        algorithm: keyType,
        keyId: key.id,
        verificationMethod: `${issuerDid}#${fragment(keyType, key)}`,
      }));
      row = {
        id,
        project_id: project.id,
        name: input.name.trim(),
        did_method: input.didMethod,
        did: issuerDid,
        suites: JSON.stringify(input.suites),
        keys: JSON.stringify(keys),
        status_purposes: JSON.stringify(statusPurposes),
        created_at: this.now().toISOString(),
      };
      await this.repo.transaction(async (repo) => {
        await repo.insert(row);
        await this.audit.record(repo.db, {
          type: 'issuer.created',
          orgId: project.orgId,
          projectId: project.id,
          actor: principal.keyId,
          subject: id,
          details: {
            did: issuerDid,
            didMethod: input.didMethod,
            suites: input.suites,
            keyTypes,
            statusPurposes,
          },
        });
      });
    } catch (error) {
      // The keys were made for this issuer alone: they must never sign once it does not exist. (A
      // did:persona DID already on the ledger stays there, controlled by retired keys: it cannot change.)
      for (const key of created) await this.keys.retireKey(key.id);
      throw error;
    }
    this.audit.committed();
    return this.toIssuer(row);
  }

  /**
   * The issuer's DID and how its document names each suite key. did:key: the first key's, named by its
   * multibase; did:web: under the public URL, each key named by its Multikey; did:persona: created on the
   * ledger with a genesis the KeyStore signs, each key named by its type.
   */
  private async createDid(
    principal: Principal,
    project: Project,
    id: string,
    method: IssuerDidMethod,
    keys: {
      suiteKeys: ReadonlyArray<{ keyType: KeyType; key: KeyRecord }>;
      newKey: (algorithm: KeyRecord['algorithm'], purpose: string) => Promise<KeyRecord>;
    },
  ): Promise<{ did: string; fragment: (keyType: KeyType, key: KeyRecord) => string }> {
    if (method === 'did:web') {
      return {
        did: `${this.didWebPrefix()}${id}`,
        fragment: (_, key) => encodePublicKeyMultibase(key.algorithm, key.publicKey),
      };
    }
    if (method === 'did:key') {
      const first = (keys.suiteKeys[0] as { key: KeyRecord }).key;
      const did = createDidKey(first.algorithm, first.publicKey);
      return { did, fragment: () => did.slice('did:key:'.length) };
    }
    // The rotation key's purposes name it, so the platform can find it to update or rotate the DID.
    const rotation = {
      ed25519: (await keys.newKey('Ed25519', `issuer:${id}:rotation:Ed25519`)).id,
      mlDsa65: (await keys.newKey('ML-DSA-65', `issuer:${id}:rotation:ML-DSA-65`)).id,
    };
    const genesis = await buildIssuerGenesis(this.keys, rotation, keys.suiteKeys);
    const operation = Buffer.from(genesis.bytes).toString('base64url');
    const { did } = await this.persona().create(principal, project.id, operation);
    return { did, fragment: (keyType) => personaFragment(keyType) };
  }

  /** `did:web:<host>:issuers:`, or a 400 when the public URL cannot carry did:web DIDs. */
  private didWebPrefix(): string {
    if ('prefix' in this.webPrefix) return this.webPrefix.prefix;
    throw new Problem(
      'validation-error',
      `did:web issuers need PERSONA_PUBLIC_URL to be an https URL with a domain name: ${this.webPrefix.reason}.`,
      { errors: [{ in: 'body', pointer: '#/didMethod', detail: 'did:web is unavailable on this server' }] },
    );
  }

  async getIssuer(principal: Principal, projectId: string, issuerId: string): Promise<Issuer> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'issuers:read');
    const row = isId('iss', issuerId) ? await this.repo.get(issuerId) : undefined;
    if (!row || row.project_id !== project.id) throw new Problem('not-found', `No issuer ${issuerId}.`);
    return this.toIssuer(row);
  }

  async listIssuers(
    principal: Principal,
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<Issuer>> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'issuers:read');
    const after = decodeCursor(page.cursor, /^iss_[0-9a-f]{32}$/);
    const rows = await this.repo.list(project.id, { after, limit: page.limit + 1 });
    return toPage(
      rows.map((row) => this.toIssuer(row)),
      page.limit,
    );
  }

  /**
   * For the credentials module: the issuer, once the caller may see its project (else 404, also for an
   * issuer of another project) and perform `action` there (else 403).
   */
  async authorizeIssuer(principal: Principal, issuerId: string, action: Action): Promise<IssuerRecord> {
    const row = isId('iss', issuerId) ? await this.repo.get(issuerId) : undefined;
    if (!row) throw new Problem('not-found', `No issuer ${issuerId}.`);
    let project: Project;
    try {
      project = await this.tenancy.authorizeProject(principal, row.project_id, action);
    } catch (error) {
      if (error instanceof Problem && error.slug === 'not-found') {
        throw new Problem('not-found', `No issuer ${issuerId}.`);
      }
      throw error;
    }
    return toRecord(row, project.orgId);
  }

  /**
   * For the status module: an issuer whose project still exists, without authorization (its public status
   * lists are signed and served by it). `orgId` is not known here and left empty.
   */
  async liveIssuer(issuerId: string): Promise<IssuerRecord | undefined> {
    const row = await this.live(issuerId);
    return row ? toRecord(row, '') : undefined;
  }

  /**
   * For modules acting inside their own transaction `trx` (OpenID4VCI offers made in the transaction of a
   * verification decision): the project's issuer, read through `trx`, since on SQLite a read on another
   * connection would wait for that transaction. `orgId` is left empty.
   */
  async projectIssuer(
    trx: Kysely<Database>,
    projectId: string,
    issuerId: string,
  ): Promise<IssuerRecord | undefined> {
    const row = isId('iss', issuerId) ? await new IssuersRepo(trx).get(issuerId) : undefined;
    return row && row.project_id === projectId ? toRecord(row, '') : undefined;
  }

  /** The public DID document of a did:web issuer (undefined for other issuers and unknown ids). */
  async hostedDocument(issuerId: string): Promise<DidDocument | undefined> {
    const row = await this.live(issuerId);
    return row && row.did_method === 'did:web' ? this.didDocument(row) : undefined;
  }

  /**
   * An issuer whose project still exists. Deleting a project leaves its issuer rows (tenancy does not know
   * this module), so public reads check the project: a deleted project's DIDs stop resolving at once.
   */
  private async live(issuerId: string): Promise<IssuersTable | undefined> {
    const row = isId('iss', issuerId) ? await this.repo.get(issuerId) : undefined;
    return row && (await this.tenancy.projectExists(row.project_id)) ? row : undefined;
  }

  private async didDocument(row: IssuersTable): Promise<DidDocument> {
    const keys = JSON.parse(row.keys) as IssuerKey[];
    return buildDidDocument(row.did, {
      keys: await Promise.all(
        keys.map(async (key) => ({
          algorithm: key.algorithm,
          publicKey: await this.keys.getPublicKey(key.keyId),
          fragment: key.verificationMethod.slice(row.did.length + 1),
        })),
      ),
    });
  }

  private toIssuer(row: IssuersTable): Issuer {
    const keys = JSON.parse(row.keys) as IssuerKey[];
    return {
      id: row.id,
      projectId: row.project_id,
      name: row.name,
      did: row.did,
      didMethod: row.did_method as IssuerDidMethod,
      suites: JSON.parse(row.suites) as Suite[],
      statusPurposes: JSON.parse(row.status_purposes) as StatusPurpose[],
      verificationMethods: keys.map((key) => ({ id: key.verificationMethod, keyType: key.algorithm })),
      issueUrl: `${this.publicUrl}/v1/issuers/${row.id}/credentials/issue`,
      createdAt: row.created_at,
    };
  }
}

function toRecord(row: IssuersTable, orgId: string): IssuerRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    orgId,
    name: row.name,
    did: row.did,
    didMethod: row.did_method as IssuerDidMethod,
    suites: JSON.parse(row.suites) as Suite[],
    keys: JSON.parse(row.keys) as IssuerKey[],
    statusPurposes: JSON.parse(row.status_purposes) as StatusPurpose[],
    createdAt: row.created_at,
  };
}

/**
 * The key types an issuer gets: as asked, or what its suites need. Each suite must find a key, and each
 * key must serve a suite; a did:key issuer has exactly one key.
 */
function checkKeyTypes(
  method: IssuerDidMethod,
  suites: Suite[],
  requested: KeyType[] | undefined,
): KeyType[] {
  const keyTypes = requested ?? defaultKeyTypes(suites);
  const fail = (pointer: string, detail: string): never => {
    throw new Problem('validation-error', `The issuer is not valid: ${pointer.slice(2)} ${detail}.`, {
      errors: [{ in: 'body', pointer, detail }],
    });
  };
  if (method === 'did:key' && keyTypes.length !== 1) {
    fail('#/keyTypes', `must hold exactly one key type for did:key (the suites need ${keyTypes.join(', ')})`);
  }
  const keys = keyTypes.map((algorithm) => ({ algorithm, keyId: '', verificationMethod: '' }));
  suites.forEach((suite, i) => {
    if (!keyForSuite(keys, suite)) {
      fail(`#/suites/${i}`, `needs a ${SUITE_KEY_TYPES[suite].join(' or ')} key`);
    }
  });
  keyTypes.forEach((algorithm, i) => {
    if (!suites.some((suite) => keyForSuite(keys, suite)?.algorithm === algorithm)) {
      fail(`#/keyTypes/${i}`, `${algorithm} is used by none of the suites`);
    }
  });
  return keyTypes;
}

/** Each Data Integrity suite's default key type; the VC-JOSE-COSE suites use one of those if they can, else Ed25519. */
function defaultKeyTypes(suites: Suite[]): KeyType[] {
  const types = new Set<KeyType>();
  for (const suite of suites) {
    if (!isEnvelopingSuite(suite)) types.add(SUITE_KEY_TYPES[suite][0] as KeyType);
  }
  if (suites.some(isEnvelopingSuite) && !SUITE_KEY_TYPES['vc+jwt'].some((type) => types.has(type))) {
    types.add('Ed25519');
  }
  return [...types];
}
