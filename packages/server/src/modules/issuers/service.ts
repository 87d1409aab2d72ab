import {
  buildDidDocument,
  createDidKey,
  type DidDocument,
  DidError,
  didWebFromUrl,
} from '@personachain/credentials';
import { encodePublicKeyMultibase, type KeyRecord, type KeyStore } from '@personachain/crypto';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { Problem } from '../../http/problem.js';
import { isId, newId } from '../../ids.js';
import type { IssuersTable } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { Action, Principal } from '../policy/model.js';
import type { Project, TenancyService } from '../tenancy/service.js';
import type { IssuersRepo } from './repo.js';
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

/** Key types each suite signs with; `vc+jwt` signs with any of them (EdDSA, ES256, ES384). */
const SUITE_KEY_TYPES: Record<Suite, readonly KeyType[]> = {
  'eddsa-rdfc-2022': ['Ed25519'],
  'eddsa-jcs-2022': ['Ed25519'],
  'ecdsa-rdfc-2019': ['P-256', 'P-384'],
  'vc+jwt': ['Ed25519', 'P-256', 'P-384'],
};

/** The key a suite signs with: the issuer's first key of a type the suite accepts. */
export function keyForSuite(keys: readonly IssuerKey[], suite: Suite): IssuerKey | undefined {
  return keys.find((key) => SUITE_KEY_TYPES[suite].includes(key.algorithm));
}

/**
 * Credential issuers: a DID (did:key, or did:web hosted here) and KeyStore keys for the suites it may
 * use. Every call authorizes through tenancy (project visibility, Cedar actions).
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
    if (statusPurposes.length > 0 && !input.suites.some((suite) => suite !== 'vc+jwt')) {
      const detail = 'needs a Data Integrity suite, which signs the status lists';
      throw new Problem('validation-error', `The issuer is not valid: statusPurposes ${detail}.`, {
        errors: [{ in: 'body', pointer: '#/statusPurposes', detail }],
      });
    }
    const id = newId('iss');
    let did: string | undefined;
    if (input.didMethod === 'did:web') {
      if ('reason' in this.webPrefix) {
        throw new Problem(
          'validation-error',
          `did:web issuers need PERSONA_PUBLIC_URL to be an https URL with a domain name: ${this.webPrefix.reason}.`,
          {
            errors: [{ in: 'body', pointer: '#/didMethod', detail: 'did:web is unavailable on this server' }],
          },
        );
      }
      did = `${this.webPrefix.prefix}${id}`;
    }
    const created: KeyRecord[] = [];
    for (const algorithm of keyTypes) {
      created.push(await this.keys.createKey({ purpose: `issuer:${id}:${algorithm}`, algorithm }));
    }
    const first = created[0] as KeyRecord;
    const issuerDid = did ?? createDidKey(first.algorithm, first.publicKey);
    const keys: IssuerKey[] = created.map((key, i) => ({
      algorithm: keyTypes[i] as KeyType,
      keyId: key.id,
      // did:key names its one method by the DID's own multibase; did:web by each key's Multikey.
      verificationMethod:
        did === undefined
          ? `${issuerDid}#${issuerDid.slice('did:key:'.length)}`
          : `${issuerDid}#${encodePublicKeyMultibase(key.algorithm, key.publicKey)}`,
    }));
    const row: IssuersTable = {
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
    try {
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
      // The keys were made for this issuer alone: they must never sign once it does not exist.
      for (const key of created) await this.keys.retireKey(key.id);
      throw error;
    }
    this.audit.committed();
    return this.toIssuer(row);
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

function defaultKeyTypes(suites: Suite[]): KeyType[] {
  const types = new Set<KeyType>();
  for (const suite of suites) {
    if (suite.startsWith('eddsa-')) types.add('Ed25519');
    if (suite === 'ecdsa-rdfc-2019') types.add('P-256');
  }
  if (types.size === 0) types.add('Ed25519');
  return [...types];
}
