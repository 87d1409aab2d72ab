import {
  type MemberKeys,
  type MemberPublicKeys,
  manifestHash,
  signManifest,
  VAULT_LIMITS,
  VaultIntegrityError,
} from '@personachain/vaults';
import type { TrustedChain, VerifiedManifest } from './chain.js';
import { type ManifestChanges, nextManifest } from './changes.js';
import { isProblem } from './errors.js';
import type { CommitAnswer, CommitBody } from './routes.js';

/** One commit's content, built against a verified head. */
export interface PreparedCommit {
  changes: ManifestChanges;
  /** The commit body without its manifest. */
  body: Omit<CommitBody, 'manifest'>;
  /** Public keys of members the commit adds. */
  keys?: Record<string, MemberPublicKeys>;
}

/**
 * Something to commit. `prepare` builds its content against `head` (and runs again, against the new
 * head, after a conflict). Jobs with `writes` set are plain item writes and may share a commit with
 * other such jobs when their item ids differ.
 */
export interface CommitJob<T> {
  prepare(head: VerifiedManifest): Promise<PreparedCommit>;
  finish(answer: CommitAnswer): T;
  writes?: { itemIds: string[] };
}

/** A prepared commit could not be built on this head (it moved while preparing): prepare again. */
export class StaleHead extends Error {
  override readonly name = 'StaleHead';
}

/** How often one commit is rebuilt after the server answered that the vault moved on. */
const MAX_ATTEMPTS = 10;
/** The longest pause before a rebuild; pauses are random below a bound that doubles per attempt. */
const MAX_BACKOFF_MS = 250;

/**
 * A random pause before rebuilding a refused commit, so that writers racing for the same vault stop
 * refusing each other in lockstep.
 */
function backoff(attempt: number): Promise<void> {
  const bound = Math.min(MAX_BACKOFF_MS, 5 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * bound));
}

interface Queued {
  job: CommitJob<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Runs a client's commits one at a time (two commits on one head would conflict with each other) and
 * folds concurrent item writes into one commit of up to maxWritesPerCommit writes: one manifest
 * signature, one request and one server transaction for all of them.
 */
export class Committer {
  private readonly queue: Queued[] = [];
  private draining = false;

  constructor(
    private readonly chain: TrustedChain,
    private readonly signer: { subject: string; keys: MemberKeys },
    private readonly send: (body: CommitBody) => Promise<CommitAnswer>,
    /**
     * Brings the chain up to the server's manifest after a conflict (`error`); `floor` is the sequence the
     * refused commit was built on.
     */
    private readonly refresh: (error: unknown, floor: number) => Promise<void>,
  ) {}

  run<T>(job: CommitJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.execute(this.takeBatch());
    } finally {
      this.draining = false;
    }
  }

  private takeBatch(): Queued[] {
    const first = this.queue.shift() as Queued;
    if (!first.job.writes) return [first];
    const batch = [first];
    const itemIds = new Set(first.job.writes.itemIds);
    while (this.queue.length > 0) {
      const next = this.queue[0] as Queued;
      const ids = next.job.writes?.itemIds;
      if (
        !ids ||
        itemIds.size + ids.length > VAULT_LIMITS.maxWritesPerCommit ||
        ids.some((id) => itemIds.has(id))
      ) {
        break;
      }
      for (const id of ids) itemIds.add(id);
      batch.push(this.queue.shift() as Queued);
    }
    return batch;
  }

  private async execute(batch: Queued[]): Promise<void> {
    try {
      const answer = await this.commit(batch);
      for (const queued of batch) {
        try {
          queued.resolve(queued.job.finish(answer));
        } catch (error) {
          queued.reject(error);
        }
      }
    } catch (error) {
      for (const queued of batch) queued.reject(error);
    }
  }

  private async commit(batch: Queued[]): Promise<CommitAnswer> {
    for (let attempt = 1; ; attempt++) {
      const head = this.chain.head;
      try {
        const prepared = await Promise.all(batch.map((queued) => queued.job.prepare(head)));
        if (this.chain.head !== head) throw new StaleHead('the vault moved while the commit was prepared');
        const { changes, body, keys } = merge(prepared);
        const manifest = await signManifest(
          nextManifest(head, changes, { subject: this.signer.subject, keyId: this.signer.keys.keyId }),
          this.signer.keys,
        );
        const hash = manifestHash(manifest);
        const answer = await this.send({ manifest, ...body });
        if (answer.sequence !== manifest.sequence || answer.manifestHash !== hash) {
          throw new VaultIntegrityError(
            'tampered',
            `the server reports manifest ${answer.sequence} (${answer.manifestHash}) for the commit of manifest ${manifest.sequence} (${hash})`,
          );
        }
        await this.chain.accept(manifest, hash, keys);
        return answer;
      } catch (error) {
        if (error instanceof StaleHead && attempt < MAX_ATTEMPTS) continue;
        if (!isProblem(error, 'manifest-conflict') || attempt >= MAX_ATTEMPTS) throw error;
        await backoff(attempt);
        if (this.chain.head === head) await this.refresh(error, head.manifest.sequence);
      }
    }
  }
}

function merge(prepared: PreparedCommit[]): PreparedCommit {
  if (prepared.length === 1) return prepared[0] as PreparedCommit;
  const writes = prepared.flatMap((commit) => commit.body.writes ?? []);
  return {
    changes: { writes: prepared.flatMap((commit) => commit.changes.writes ?? []) },
    body: { writes },
  };
}
