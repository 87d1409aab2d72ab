import {
  buildPersonaCreate,
  buildPersonaDeactivate,
  buildPersonaRecoveryRequest,
  buildPersonaRotate,
  buildPersonaUpdate,
  canonicalJson,
  decodeDidKey,
  type PersonaHistoryItem,
  type PersonaState,
  verifyHistory,
} from '@personachain/credentials';
import { encodePublicKeyMultibase, signatureScheme } from '@personachain/crypto';
import {
  hashLeaf,
  noteVerifier,
  openNote,
  parseCheckpoint,
  parseTlogProof,
  verifyInclusion,
} from '@personachain/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, ed25519Signer, framedEntry, guardian, hybridSigner } from './dids-persona-helpers.js';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe.each(engines)('did:persona on the ledger, over HTTP, on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;

  const submit = (tenant: Tenant, path: string, payload: unknown, role: keyof Tenant['keys'] = 'developer') =>
    server.json('POST', `/v1/projects/${tenant.projectId}/dids${path}`, {
      key: tenant.keys[role],
      body: payload,
    });
  const resolve = (did: string, query = '') =>
    server.json('GET', `/1.0/identifiers/${did}${query}`, { key: null });
  const ledgerSize = async () => {
    const response = await server.call('GET', '/ledger/checkpoint', { key: null });
    return Number((await response.text()).split('\n')[1]);
  };
  /** The state a client tracks from its own operations (what the builders need). */
  const stateOf = async (did: string): Promise<PersonaState> => {
    const history = (await resolve(did, '?history=true')).body.didDocumentMetadata
      .operationHistory as PersonaHistoryItem[];
    const verified = await verifyHistory(
      history.map((item) => ({
        bytes: canonicalJson(item.operation),
        ledgerIndex: item.ledgerIndex,
        integratedAt: Date.parse(item.integrated) / 1000,
      })),
      { did, guardianKeys: async (guardianDid) => [decodeDidKey(guardianDid).multibase] },
    );
    return verified.state;
  };

  beforeAll(async () => {
    server = await startTestServer({}, engine);
    a = await createTenant(server, 'Persona A');
    b = await createTenant(server, 'Persona B');
  });
  afterAll(() => server.close());

  it('creates, updates and rotates to a hybrid key; history=true verifies from the ledger alone', async () => {
    const holder = await ed25519Signer();
    const created = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    const made = await submit(a, '', body(created));
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ did: created.did, type: 'create', versionId: created.hash });
    expect(made.body.ledgerIndex).toBeTypeOf('number');

    const first = await resolve(created.did);
    expect(first.status).toBe(200);
    expect(first.body.didDocument.id).toBe(created.did);
    expect(first.body.didDocumentMetadata).toMatchObject({ versionId: created.hash, deactivated: false });
    expect(first.body.didDocumentMetadata.updated).toBeUndefined();

    const signingKey = await signatureScheme('Ed25519').generateKeyPair();
    const vm = {
      id: 'key-1',
      publicKeyMultibase: encodePublicKeyMultibase('Ed25519', signingKey.publicKey),
      relationships: ['authentication' as const, 'assertionMethod' as const],
    };
    const update = await buildPersonaUpdate(
      await stateOf(created.did),
      { verificationMethods: [vm] },
      holder,
    );
    const updated = await submit(a, `/${created.did}/operations`, body(update));
    expect(updated.status, JSON.stringify(updated.body)).toBe(201);
    expect(updated.body).toMatchObject({ type: 'update', versionId: update.hash });

    const hybrid = await hybridSigner();
    const rotate = await buildPersonaRotate(
      await stateOf(created.did),
      { rotationKeys: [hybrid.key] },
      holder,
    );
    expect((await submit(a, `/${created.did}/operations`, body(rotate))).status).toBe(201);

    const now = await resolve(created.did, '?history=true');
    expect(now.status).toBe(200);
    expect(now.body.didDocument.verificationMethod).toEqual([
      expect.objectContaining({ id: `${created.did}#key-1`, publicKeyMultibase: vm.publicKeyMultibase }),
    ]);
    const metadata = now.body.didDocumentMetadata;
    expect(metadata.versionId).toBe(rotate.hash);
    expect(metadata.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const history = metadata.operationHistory as PersonaHistoryItem[];
    expect(history.map((item) => item.versionId)).toEqual([created.hash, update.hash, rotate.hash]);

    // A client that trusts nothing the server says: the checkpoint is signed by the log's key...
    const verifierKey = (
      await (await server.call('GET', '/ledger/verifier-key', { key: null })).text()
    ).trim();
    const opened = await openNote(metadata.checkpoint, [noteVerifier(verifierKey)]);
    const checkpoint = parseCheckpoint(opened.text);
    for (const item of history) {
      // ...each operation, framed with its DID and integration time, is in the log under it...
      const proof = parseTlogProof(item.inclusionProof as string);
      expect(proof.note).toBe(metadata.checkpoint);
      expect(proof.index).toBe(item.ledgerIndex);
      const leaf = hashLeaf(framedEntry(created.did, item.operation, item.integrated));
      verifyInclusion(proof.index, checkpoint.size, leaf, proof.proof, checkpoint.root);
    }
    // ...and the operations alone reproduce the document.
    const verified = await verifyHistory(
      history.map((item) => ({
        bytes: canonicalJson(item.operation),
        ledgerIndex: item.ledgerIndex,
        integratedAt: Date.parse(item.integrated) / 1000,
      })),
      { did: created.did },
    );
    expect(verified.didDocument).toEqual(now.body.didDocument);
    expect(verified.state.rotationKeys).toEqual([hybrid.key]);

    // A leaf that is not the framed operation does not verify.
    const forged = hashLeaf(framedEntry(created.did, history[0]?.operation, '2000-01-01T00:00:00Z'));
    const proof = parseTlogProof(history[0]?.inclusionProof as string);
    expect(() => verifyInclusion(proof.index, checkpoint.size, forged, proof.proof, checkpoint.root)).toThrow(
      /does not lead to the root/,
    );

    const listed = await server.json('GET', `/v1/projects/${a.projectId}/dids`, { key: a.keys.viewer });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toContainEqual({
      did: created.did,
      versionId: rotate.hash,
      operations: 3,
      lastOperation: 'rotate',
      deactivated: false,
    });
  });

  it('refuses forks, bad signatures and operations for another DID; nothing is appended', async () => {
    const holder = await ed25519Signer();
    const created = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    expect((await submit(a, '', body(created))).status).toBe(201);
    const genesisState = await stateOf(created.did);
    const first = await buildPersonaUpdate(genesisState, { alsoKnownAs: ['https://a.example/'] }, holder);
    expect((await submit(a, `/${created.did}/operations`, body(first))).status).toBe(201);

    const other = await ed25519Signer();
    const otherDid = await buildPersonaCreate({ rotationKeys: [other.key] }, other);
    expect((await submit(a, '', body(otherDid))).status).toBe(201);

    const before = await ledgerSize();
    // A second successor of the genesis: a fork.
    const fork = await buildPersonaUpdate(genesisState, { alsoKnownAs: ['https://b.example/'] }, holder);
    const forked = await submit(a, `/${created.did}/operations`, body(fork));
    expect(forked.status).toBe(409);
    expect(forked.body.errors[0].detail).toBe('fork');
    // A signature over something else.
    const next = await buildPersonaUpdate(await stateOf(created.did), { alsoKnownAs: [] }, holder);
    const tampered = { ...next.operation, alsoKnownAs: ['https://evil.example/'] };
    const bad = await submit(a, `/${created.did}/operations`, {
      operation: Buffer.from(canonicalJson(tampered)).toString('base64url'),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].detail).toBe('invalid-signature');
    // Signed by a key that is not this DID's.
    const stranger = await buildPersonaUpdate(await stateOf(created.did), { alsoKnownAs: [] }, holder);
    const elsewhere = await submit(a, `/${otherDid.did}/operations`, body(stranger));
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.errors[0].detail).toBe('invalid-did');
    // Not canonical, not base64url, a create sent as an operation, a second create of the same DID.
    expect((await submit(a, `/${created.did}/operations`, { operation: 'e30' })).status).toBe(400);
    expect((await submit(a, `/${created.did}/operations`, { operation: 'a+b' })).status).toBe(400);
    expect((await submit(a, `/${created.did}/operations`, body(created))).status).toBe(400);
    expect((await submit(a, '', body(created))).status).toBe(409);
    expect((await submit(a, '', body(next))).status).toBe(400);

    expect(await ledgerSize()).toBe(before);
    expect((await submit(a, `/${created.did}/operations`, body(next))).status).toBe(201);
  });

  it('lets one of two concurrent operations on the same head win; the other is a 409', async () => {
    const holder = await ed25519Signer();
    const created = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    expect((await submit(a, '', body(created))).status).toBe(201);
    const state = await stateOf(created.did);
    const one = await buildPersonaUpdate(state, { alsoKnownAs: ['https://one.example/'] }, holder);
    const two = await buildPersonaUpdate(state, { alsoKnownAs: ['https://two.example/'] }, holder);
    const answers = await Promise.all([
      submit(a, `/${created.did}/operations`, body(one)),
      submit(a, `/${created.did}/operations`, body(two)),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    const history = (await resolve(created.did, '?history=true')).body.didDocumentMetadata.operationHistory;
    expect(history).toHaveLength(2);
  });

  it('guardian recovery: M-1 guardian signatures are refused, M are accepted', async () => {
    const holder = await ed25519Signer();
    const guardians = [await guardian(), await guardian(), await guardian()];
    const created = await buildPersonaCreate(
      {
        rotationKeys: [holder.key],
        guardians: { dids: guardians.map((g) => g.did), threshold: 2, delaySeconds: 3600 },
      },
      holder,
    );
    expect((await submit(a, '', body(created))).status).toBe(201);
    const state = await stateOf(created.did);
    const recovered = await hybridSigner();
    const tooFew = await buildPersonaRecoveryRequest(state, [recovered.key], guardians.slice(0, 1));
    const refused = await submit(a, `/${created.did}/operations`, body(tooFew));
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].detail).toBe('recovery-threshold');

    const enough = await buildPersonaRecoveryRequest(state, [recovered.key], guardians.slice(1));
    const accepted = await submit(a, `/${created.did}/operations`, body(enough));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    const pending = await resolve(created.did);
    expect(pending.body.didDocumentMetadata.pendingRecovery.versionId).toBe(enough.hash);
    // While it is pending, the holder may only cancel: an update is a conflict.
    const blocked = await buildPersonaUpdate(await stateOf(created.did), { alsoKnownAs: [] }, holder);
    expect((await submit(a, `/${created.did}/operations`, body(blocked))).status).toBe(409);
  });

  it('deactivates (410), scopes DIDs to their project and lets only developers and above write', async () => {
    const holder = await ed25519Signer();
    const created = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    expect((await submit(a, '', body(created), 'viewer')).status).toBe(403);
    expect((await submit(b, '', body(created), 'developer')).status).toBe(201);
    const deactivate = await buildPersonaDeactivate(await stateOf(created.did), holder);
    // Tenant A cannot see tenant B's DID, nor B's project.
    expect((await submit(a, `/${created.did}/operations`, body(deactivate))).status).toBe(404);
    expect((await server.json('GET', `/v1/projects/${b.projectId}/dids`, { key: a.keys.owner })).status).toBe(
      404,
    );
    expect((await submit(b, `/${created.did}/operations`, body(deactivate), 'viewer')).status).toBe(403);
    const done = await submit(b, `/${created.did}/operations`, body(deactivate));
    expect(done.status).toBe(201);
    const gone = await resolve(created.did);
    expect(gone.status).toBe(410);
    expect(gone.body.didDocumentMetadata.deactivated).toBe(true);
    const after = await buildPersonaUpdate(await stateOf(created.did), {}, holder);
    expect((await submit(b, `/${created.did}/operations`, body(after))).status).toBe(409);
    const audit = await server.json('GET', `/v1/projects/${b.projectId}/audit?limit=100`, {
      key: b.keys.owner,
    });
    const events = audit.body.data.filter((event: { type: string }) => event.type.startsWith('did.'));
    expect(events.map((event: { type: string }) => event.type)).toEqual(['did.created', 'did.updated']);
    expect(events[1]).toMatchObject({
      subject: created.did,
      details: { operation: 'deactivate', versionId: deactivate.hash },
    });
  });

  it('answers unknown did:persona DIDs with 404 and malformed ones with 400', async () => {
    expect((await resolve(`did:persona:${'a'.repeat(32)}`)).status).toBe(404);
    expect((await resolve('did:persona:nope')).status).toBe(400);
    expect((await resolve(`did:persona:${'a'.repeat(32)}`, '?history=maybe')).status).toBe(400);
  });
});
