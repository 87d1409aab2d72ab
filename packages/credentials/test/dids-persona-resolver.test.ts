import { encodePublicKeyMultibase } from '@personachain/crypto';
import {
  appendLeafHashes,
  formatCheckpoint,
  formatTlogProof,
  generateNoteKey,
  hashLeaf,
  noteSigner,
  noteVerifier,
  proveInclusion,
  signNote,
  type TileId,
  verifyTlogProof,
} from '@personachain/ledger';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildPersonaCreate,
  buildPersonaDeactivate,
  buildPersonaUpdate,
  createDidResolver,
  decodeOperation,
  didResolutionHttpStatus,
  encodeOperation,
  type LedgerOperation,
  type LoadedOperations,
  type PersonaHistoryItem,
  personaMethod,
  type RotationKeySigner,
  type UpdateOperation,
  verifyHistory,
} from '../src/index.js';
import { didKeyGuardianKeys, ed25519, ed25519Signer, guardian, TestLedger } from './dids-persona-helpers.js';

/**
 * A real RFC 9162 tree over the test ledger's entries (tiles in a Map), a signed checkpoint and C2SP
 * tlog-proof inclusion proofs, all from @personachain/ledger: what the server will serve.
 */
class MerkleLog {
  private readonly tiles = new Map<string, Uint8Array>();
  private size = 0;
  readonly reader = {
    readTiles: async (ids: readonly TileId[]) =>
      ids.map((id) => (this.tiles.get(`${id.level}/${id.index}`) as Uint8Array).subarray(0, id.width * 32)),
  };
  checkpoint = '';

  constructor(
    private readonly origin: string,
    private readonly signerKey: string,
  ) {}

  async sync(entries: readonly { bytes: Uint8Array }[]): Promise<void> {
    const fresh = entries.slice(this.size).map((entry) => hashLeaf(entry.bytes));
    const { size, root, tiles } = await appendLeafHashes(this.size, fresh, this.reader);
    for (const { tile, data } of tiles) this.tiles.set(`${tile.level}/${tile.index}`, data);
    this.size = size;
    this.checkpoint = await signNote(formatCheckpoint({ origin: this.origin, size, root, extensions: [] }), [
      await noteSigner(this.signerKey),
    ]);
  }

  async proof(index: number): Promise<string> {
    const hashes = await proveInclusion(index, this.size, this.reader);
    return formatTlogProof({ index, proof: hashes, note: this.checkpoint });
  }
}

describe('did:persona through the resolver, over a Merkle log', () => {
  const ledger = new TestLedger();
  let log: MerkleLog;
  let verifierKey: string;
  let holder: RotationKeySigner;
  let did: string;
  let firstVersion: string;

  async function loadOperations(
    target: string,
    { withProofs }: { withProofs: boolean },
  ): Promise<LoadedOperations> {
    const operations: LedgerOperation[] = [];
    for (const entry of await ledger.history(target)) {
      operations.push(withProofs ? { ...entry, inclusionProof: await log.proof(entry.ledgerIndex) } : entry);
    }
    return withProofs ? { operations, checkpoint: log.checkpoint } : { operations };
  }
  const resolver = () =>
    createDidResolver({ methods: [personaMethod({ loadOperations, guardianKeys: didKeyGuardianKeys })] });

  beforeAll(async () => {
    const keys = await generateNoteKey('log.persona.example');
    verifierKey = keys.verifierKey;
    log = new MerkleLog('log.persona.example', keys.signerKey);
    holder = await ed25519Signer();
    const g = await guardian();
    const key = encodePublicKeyMultibase('Ed25519', (await ed25519.generateKeyPair()).publicKey);
    const created = await buildPersonaCreate(
      {
        rotationKeys: [holder.key],
        verificationMethods: [{ id: 'key-1', publicKeyMultibase: key, relationships: ['authentication'] }],
        guardians: { dids: [g.did], threshold: 1, delaySeconds: 7 * 86_400 },
      },
      holder,
    );
    did = created.did;
    firstVersion = created.hash;
    ledger.appendOperation(created);
    // Another DID's operations and other entries share the log.
    const other = await ed25519Signer();
    ledger.appendOperation(await buildPersonaCreate({ rotationKeys: [other.key] }, other));
    ledger.append(new TextEncoder().encode('credential-status:…'));
    const { state } = await verifyHistory(await ledger.history(did));
    ledger.appendOperation(
      await buildPersonaUpdate(
        state,
        { services: [{ id: 'inbox', type: 'Inbox', serviceEndpoint: 'https://in.example/' }] },
        holder,
      ),
      3600,
    );
    await log.sync(ledger.entries);
  });

  it('resolves the document with DID Core metadata', async () => {
    const result = await resolver().resolve(did);
    expect(result.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
    expect(result.didDocument?.service).toEqual([
      { id: `${did}#inbox`, type: 'Inbox', serviceEndpoint: 'https://in.example/' },
    ]);
    expect(result.didDocumentMetadata).toMatchObject({ deactivated: false });
    expect(Object.keys(result.didDocumentMetadata).sort()).toEqual([
      'created',
      'deactivated',
      'updated',
      'versionId',
    ]);
    const method = await resolver().dereference(`${did}#key-1`);
    expect(method.contentStream).toMatchObject({ id: `${did}#key-1`, type: 'Multikey', controller: did });
  });

  it('history: true returns the operations with inclusion proofs and the checkpoint; they verify from the log alone', async () => {
    const result = await resolver().resolve(did, { history: 'true' });
    const history = result.didDocumentMetadata.operationHistory as PersonaHistoryItem[];
    const checkpoint = result.didDocumentMetadata.checkpoint as string;
    expect(history.map((item) => item.operation.type)).toEqual(['create', 'update']);
    expect(history.map((item) => item.ledgerIndex)).toEqual([0, 3]);

    // A client holding only the log's verifier key: check each entry's inclusion, then the history.
    const entries = [];
    for (const item of history) {
      const bytes = encodeOperation(item.operation);
      const proven = await verifyTlogProof(item.inclusionProof as string, hashLeaf(bytes), [
        noteVerifier(verifierKey),
      ]);
      expect(proven.index).toBe(item.ledgerIndex);
      expect(proven.checkpoint.origin).toBe('log.persona.example');
      entries.push({
        bytes,
        ledgerIndex: item.ledgerIndex,
        integratedAt: Date.parse(item.integrated) / 1000,
      });
    }
    expect(checkpoint.startsWith('log.persona.example\n4\n')).toBe(true);
    const verified = await verifyHistory(entries, { did });
    expect(verified.didDocumentMetadata.versionId).toBe(result.didDocumentMetadata.versionId);

    // A proof does not hold for a tampered entry.
    const tampered = encodeOperation({
      ...(history[1]?.operation as UpdateOperation),
      alsoKnownAs: ['https://x.example/'],
    });
    await expect(
      verifyTlogProof(history[1]?.inclusionProof as string, hashLeaf(tampered), [noteVerifier(verifierKey)]),
    ).rejects.toMatchObject({ code: 'invalid-proof' });
  });

  it('versionId / versionTime select an earlier version, with nextVersionId', async () => {
    const older = await resolver().resolve(did, { versionId: firstVersion });
    expect(older.didDocument?.service).toBeUndefined();
    expect(older.didDocumentMetadata).toMatchObject({ versionId: firstVersion });
    expect(older.didDocumentMetadata.nextVersionId).toBeDefined();
    expect(older.didDocumentMetadata.updated).toBeUndefined();
    const created = older.didDocumentMetadata.created as string;
    const byTime = await resolver().resolve(did, { versionTime: created });
    expect(byTime.didDocumentMetadata.versionId).toBe(firstVersion);
    expect((await resolver().resolve(did, { versionId: 'nope' })).didResolutionMetadata.error).toBe(
      'notFound',
    );
    expect((await resolver().resolve(did, { versionTime: 'yesterday' })).didResolutionMetadata.error).toBe(
      'invalidOptions',
    );
    expect((await resolver().resolve(did, { history: 'maybe' })).didResolutionMetadata.error).toBe(
      'invalidOptions',
    );
  });

  it('unknown, malformed and broken DIDs', async () => {
    expect(
      (await resolver().resolve('did:persona:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).didResolutionMetadata.error,
    ).toBe('notFound');
    expect((await resolver().resolve('did:persona:ABC')).didResolutionMetadata.error).toBe('invalidDid');
    const broken = createDidResolver({
      methods: [
        personaMethod({
          loadOperations: async (target) => {
            const { operations } = await loadOperations(target, { withProofs: false });
            return { operations: operations.slice(1) };
          },
        }),
      ],
    });
    const result = await broken.resolve(did);
    expect(result.didResolutionMetadata.error).toBe('invalidDidDocument');
    expect(result.didResolutionMetadata.errorMessage).toContain('create');
  });

  it('a deactivated DID resolves with deactivated: true (HTTP 410)', async () => {
    const { state } = await verifyHistory(await ledger.history(did));
    ledger.appendOperation(await buildPersonaDeactivate(state, holder));
    await log.sync(ledger.entries);
    const result = await resolver().resolve(did);
    expect(result.didDocumentMetadata.deactivated).toBe(true);
    expect(result.didDocument).toEqual({ '@context': expect.any(Array), id: did });
    expect(didResolutionHttpStatus(result.didResolutionMetadata, result.didDocumentMetadata)).toBe(410);
    expect(decodeOperation((ledger.entries.at(-1) as { bytes: Uint8Array }).bytes).type).toBe('deactivate');
  });
});
