import {
  decodeOperation,
  type LoggedOperation,
  operationHash,
  PersonaError,
  type PersonaErrorCode,
  type PersonaOperation,
  personaDidFromGenesis,
  verifyHistory,
} from '@personachain/credentials';
import { Problem } from '../../http/problem.js';
import type { AuditService } from '../audit/service.js';
import type { DidService } from '../dids/service.js';
import type { LedgerService } from '../ledger/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { encodePersonaEntry } from './framing.js';
import type { PersonaLog } from './log.js';
import type { PersonaOpRow, PersonaRepo } from './repo.js';

/** What a submitted operation became. */
export interface PersonaSubmission {
  did: string;
  type: PersonaOperation['type'];
  /** The operation's hash: the DID document's versionId once it is integrated. */
  versionId: string;
  /** Null when the ledger has not integrated the entry yet (it will, within moments). */
  ledgerIndex: number | null;
}

/** A did:persona DID of a project, as the list shows it (from the index; resolve it for the document). */
export interface PersonaDidSummary {
  did: string;
  versionId: string;
  operations: number;
  lastOperation: PersonaOperation['type'];
  deactivated: boolean;
}

/** Refusals that mean "the DID moved on or cannot take this now"; every other one is bad input. */
const CONFLICTS: readonly PersonaErrorCode[] = [
  'fork',
  'deactivated',
  'recovery-pending',
  'no-pending-recovery',
];

const DID_CURSOR = /^did:persona:[a-z2-7]{32}$/;

/**
 * did:persona on the ledger: validates client-signed operations against the DID's whole history and
 * appends each, with its integration time, in one transaction with its index row and audit entry. The
 * server never holds a DID's keys. Operations of one DID are serialized by the index's primary key
 * (did, position): of two submitted on the same head, one commits and the other is a 409.
 */
export class PersonaService {
  constructor(
    private readonly repo: PersonaRepo,
    private readonly log: PersonaLog,
    private readonly ledger: LedgerService,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly dids: DidService,
    /** The clock `at` is taken from (injectable so that recovery delays can be tested). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Submits a signed genesis operation (base64url of its canonical bytes) and creates its DID. */
  async create(principal: Principal, projectId: string, operation: string): Promise<PersonaSubmission> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'dids:write');
    const bytes = decodeBytes(operation);
    const parsed = parse(bytes);
    if (parsed.type !== 'create') {
      throw invalid('The operation is not a create; send it to /dids/{did}/operations.', 'not-genesis');
    }
    const did = await personaDidFromGenesis(bytes);
    if ((await this.repo.operations(did)).length > 0) throw new Problem('conflict', `${did} exists already.`);
    return this.submit(principal, project, did, bytes, parsed, []);
  }

  /** Submits a signed operation that extends the DID's history. */
  async append(
    principal: Principal,
    projectId: string,
    did: string,
    operation: string,
  ): Promise<PersonaSubmission> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'dids:write');
    const { rows, pending } = await this.log.integratedRows(did);
    if (rows.length === 0 || rows[0]?.projectId !== project.id)
      throw new Problem('not-found', `No DID ${did}.`);
    if (pending.length > 0) {
      throw new Problem('conflict', 'The previous operation is not in the ledger yet; retry in a moment.', {
        headers: { 'retry-after': '1' },
      });
    }
    const bytes = decodeBytes(operation);
    const parsed = parse(bytes);
    if (parsed.type === 'create')
      throw invalid('A create starts a new DID; POST it to /dids.', 'not-genesis');
    if (parsed.did !== did) throw invalid(`The operation is for ${parsed.did}, not ${did}.`, 'invalid-did');
    return this.submit(principal, project, did, bytes, parsed, rows);
  }

  async list(
    principal: Principal,
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: PersonaDidSummary[]; nextCursor: string | null }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'dids:read');
    let after: string | undefined;
    if (page.cursor !== undefined) {
      after = Buffer.from(page.cursor, 'base64url').toString('utf8');
      if (!DID_CURSOR.test(after)) {
        throw new Problem('validation-error', 'The cursor is not one this list returned.', {
          errors: [{ in: 'querystring', pointer: '#/cursor', detail: 'is not a valid cursor' }],
        });
      }
    }
    const genesis = await this.repo.genesisRows(project.id, { after, limit: page.limit + 1 });
    const shown = genesis.slice(0, page.limit);
    const heads = await this.repo.heads(shown.map((row) => row.did));
    const data = shown.map((row): PersonaDidSummary => {
      const head = heads.get(row.did) ?? row;
      return {
        did: row.did,
        versionId: head.opHash,
        operations: head.position + 1,
        lastOperation: head.opType as PersonaOperation['type'],
        deactivated: head.opType === 'deactivate',
      };
    });
    const last = shown.at(-1);
    return {
      data,
      nextCursor: genesis.length > page.limit && last ? Buffer.from(last.did).toString('base64url') : null,
    };
  }

  /**
   * Verifies the history with the new operation at its end (so a fork, a bad signature or a wrong
   * authority never reaches the log), then writes entry, index row and audit record in one transaction.
   */
  private async submit(
    principal: Principal,
    project: { id: string; orgId: string },
    did: string,
    bytes: Uint8Array,
    operation: PersonaOperation,
    rows: readonly PersonaOpRow[],
  ): Promise<PersonaSubmission> {
    const previous = rows.at(-1);
    const at = Math.max(Math.floor(this.now().getTime() / 1000), previous?.at ?? 0);
    const { size } = await this.ledger.state();
    const history: LoggedOperation[] = await this.log.operationsOf(rows);
    // The index the entry will get is not known before integration; any above the log's size will do.
    const ledgerIndex = Math.max(size, (previous?.ledgerIndex ?? -1) + 1);
    try {
      await verifyHistory([...history, { bytes, ledgerIndex, integratedAt: at }], {
        did,
        guardianKeys: this.dids.guardianKeys,
      });
    } catch (error) {
      if (!(error instanceof PersonaError)) throw error;
      if (CONFLICTS.includes(error.code)) {
        throw new Problem('conflict', `The operation does not extend ${did}: ${error.message}.`, {
          errors: [{ in: 'body', pointer: '#/operation', detail: error.code }],
        });
      }
      throw invalid(`The operation is not valid for ${did}: ${error.message}.`, error.code);
    }
    const versionId = await operationHash(bytes);
    const row: PersonaOpRow = {
      did,
      position: rows.length,
      projectId: project.id,
      opHash: versionId,
      opType: operation.type,
      at,
      ledgerSeq: 0,
      ledgerIndex: null,
    };
    try {
      await this.repo.transaction(async (repo) => {
        row.ledgerSeq = await this.ledger.enqueue(repo.db, encodePersonaEntry({ at, did, op: bytes }));
        await repo.insert(row);
        await this.audit.record(repo.db, {
          type: row.position === 0 ? 'did.created' : 'did.updated',
          orgId: project.orgId,
          projectId: project.id,
          actor: principal.keyId,
          subject: did,
          details: { operation: operation.type, versionId },
        });
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new Problem(
          'conflict',
          `Another operation of ${did} was appended first; nothing was changed.`,
          {
            errors: [{ in: 'body', pointer: '#/operation', detail: 'fork' }],
          },
        );
      }
      throw error;
    }
    this.audit.committed();
    // Integrate now rather than on the next batch timer, so the answer can carry the ledger index.
    await this.ledger.flush();
    const index = (await this.ledger.indexesOf([row.ledgerSeq])).get(row.ledgerSeq) ?? null;
    if (index !== null) await this.repo.setLedgerIndexes(did, [{ position: row.position, index }]);
    return { did, type: operation.type, versionId, ledgerIndex: index };
  }
}

function invalid(detail: string, code: PersonaErrorCode): Problem {
  return new Problem('validation-error', detail, {
    errors: [{ in: 'body', pointer: '#/operation', detail: code }],
  });
}

function decodeBytes(operation: string): Uint8Array {
  const bytes = Buffer.from(operation, 'base64url');
  // Node's decoder skips what is not base64url; re-encoding tells a faithful decoding from that.
  if (bytes.toString('base64url') !== operation) {
    throw invalid('The operation is not unpadded base64url.', 'malformed');
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function parse(bytes: Uint8Array): PersonaOperation {
  try {
    return decodeOperation(bytes);
  } catch (error) {
    if (error instanceof PersonaError)
      throw invalid(`The operation is malformed: ${error.message}.`, error.code);
    throw error;
  }
}
