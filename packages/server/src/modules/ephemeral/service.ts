import { formatTlogProof } from '@personachain/ledger';
import { type DeletionAttestation, verifyAttestation } from '@personachain/node/attestation';
import { Problem } from '../../http/problem.js';
import type { LedgerService } from '../ledger/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import { encodeAttestationEntry } from './framing.js';
import type { AttestationRow, EphemeralRepo } from './repo.js';

export interface RecordedAttestation extends DeletionAttestation {
  receivedAt: string;
  ledgerIndex: number | null;
}

export interface ProvenAttestation extends RecordedAttestation {
  ledgerEntry: string;
  inclusionProof: string | null;
}

/** Attestations one commitment can have: one per replica and reason; more means something is wrong. */
export const MAX_ATTESTATIONS_PER_COMMITMENT = 100;

/**
 * Deletion attestations of ephemeral-store nodes on the ledger. A node (with a project API key) submits
 * what it signed; the service checks the signature against the key embedded in the node id, appends one
 * ledger entry per distinct attestation (a resubmission, e.g. a node retrying after a lost answer, gets
 * the first entry back) and indexes it by key commitment, so the data's owner can fetch the attestations
 * with inclusion proofs. Any node may attest: the signature proves which node said it, the project key
 * proves who submitted it; an allow-list of node ids is the project's own policy, not checked here.
 */
export class EphemeralService {
  constructor(
    private readonly repo: EphemeralRepo,
    private readonly ledger: LedgerService,
    private readonly tenancy: TenancyService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async submit(
    principal: Principal,
    projectId: string,
    attestation: DeletionAttestation,
  ): Promise<{ created: boolean; recorded: RecordedAttestation }> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'ephemeral:attest');
    const check = await verifyAttestation(attestation);
    if (!check.valid) {
      throw new Problem('validation-error', `The attestation does not verify: ${check.error}.`, {
        errors: [{ in: 'body', pointer: '#', detail: check.error }],
      });
    }
    const existing = await this.repo.find(project.id, attestation.signature);
    if (existing) return { created: false, recorded: await this.integrated(existing) };

    const row: AttestationRow = {
      projectId: project.id,
      signature: attestation.signature,
      keyCommitment: attestation.keyCommitment,
      nodeId: attestation.nodeId,
      reason: attestation.reason,
      deletedAt: attestation.deletedAt,
      at: Math.floor(this.now().getTime() / 1000),
      ledgerSeq: 0,
      ledgerIndex: null,
    };
    try {
      await this.repo.transaction(async (repo) => {
        row.ledgerSeq = await this.ledger.enqueue(repo.db, encodeAttestationEntry(row.at, attestation));
        await repo.insert(row);
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        // The same attestation, submitted concurrently, committed first: its entry is the one.
        const winner = await this.repo.find(project.id, attestation.signature);
        if (winner) return { created: false, recorded: await this.integrated(winner) };
      }
      throw error;
    }
    this.ledger.notifyQueued();
    // Integrate now rather than on the next batch timer, so the answer can carry the ledger index.
    await this.ledger.flush();
    return { created: true, recorded: await this.withIndex(row) };
  }

  /** The project's attestations for a commitment, each with its ledger entry and an inclusion proof. */
  async list(principal: Principal, projectId: string, keyCommitment: string): Promise<ProvenAttestation[]> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'ephemeral:read');
    const rows = await this.repo.byCommitment(project.id, keyCommitment, MAX_ATTESTATIONS_PER_COMMITMENT);
    const indexed = await Promise.all(rows.map((row) => this.withIndex(row)));
    const { size, checkpoint } = await this.ledger.state();
    return Promise.all(
      indexed.map(async (recorded, i) => {
        const row = rows[i] as AttestationRow;
        const ledgerEntry = Buffer.from(encodeAttestationEntry(row.at, recorded)).toString('base64url');
        let inclusionProof: string | null = null;
        if (recorded.ledgerIndex !== null && recorded.ledgerIndex < size) {
          const { hashes } = await this.ledger.inclusionProof(recorded.ledgerIndex, size);
          inclusionProof = formatTlogProof({ index: recorded.ledgerIndex, proof: hashes, note: checkpoint });
        }
        return { ...recorded, ledgerEntry, inclusionProof };
      }),
    );
  }

  /** A resubmission's answer: the first submission's entry, integrated first if it is still queued. */
  private async integrated(row: AttestationRow): Promise<RecordedAttestation> {
    const recorded = await this.withIndex(row);
    if (recorded.ledgerIndex !== null) return recorded;
    await this.ledger.flush();
    return this.withIndex(row);
  }

  /** The row as answered, its ledger index looked up (and stored) when integrated since it was written. */
  private async withIndex(row: AttestationRow): Promise<RecordedAttestation> {
    let ledgerIndex = row.ledgerIndex;
    if (ledgerIndex === null) {
      ledgerIndex = (await this.ledger.indexesOf([row.ledgerSeq])).get(row.ledgerSeq) ?? null;
      if (ledgerIndex !== null) await this.repo.setLedgerIndex(row.projectId, row.signature, ledgerIndex);
    }
    return {
      keyCommitment: row.keyCommitment,
      deletedAt: row.deletedAt,
      reason: row.reason as DeletionAttestation['reason'],
      nodeId: row.nodeId,
      signature: row.signature,
      receivedAt: new Date(row.at * 1000).toISOString().replace('.000Z', 'Z'),
      ledgerIndex,
    };
  }
}
