import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { encodePublicKeyMultibase } from '@personachain/crypto';
import { base32nopad } from '@scure/base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildPersonaCreate,
  buildPersonaDeactivate,
  buildPersonaRotate,
  buildPersonaUpdate,
  canonicalJson,
  decodeOperation,
  type LoggedOperation,
  PERSONA_SIGNING_DOMAIN,
  type PersonaError,
  type PersonaOperation,
  personaDidFromGenesis,
  personaSigningInput,
  type RotationKeySigner,
  rawRotationKeySigner,
  verifyHistory,
} from '../src/index.js';
import { ed25519, ed25519Signer, hybridSigner, mlDsa65, TestLedger } from './dids-persona-helpers.js';

// An independent RFC 8785 implementation (a CommonJS package; `eddsa-jcs-2022` uses it).
const canonicalize = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string;

async function failure(promise: Promise<unknown>): Promise<PersonaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a PersonaError').toBeDefined();
  expect((error as Error).name).toBe('PersonaError');
  return error as PersonaError;
}

/** An entry whose operation was edited after signing (canonical bytes, stale signatures). */
function edited(entry: LoggedOperation, edit: (op: Record<string, any>) => void): LoggedOperation {
  const op = structuredClone(decodeOperation(entry.bytes)) as Record<string, any>;
  edit(op);
  return { ...entry, bytes: canonicalJson(op) };
}

const signingKey = async () =>
  encodePublicKeyMultibase('Ed25519', (await ed25519.generateKeyPair()).publicKey);

describe('did:persona spec example (docs/did-persona.md §3.3)', () => {
  it('reproduces the genesis bytes, hash and DID from the Ed25519 seed 07 × 32', async () => {
    const signer = await rawRotationKeySigner({ ed25519: new Uint8Array(32).fill(7) });
    const created = await buildPersonaCreate(
      {
        rotationKeys: [signer.key],
        services: [{ id: 'hub', type: 'PersonaHub', serviceEndpoint: 'https://hub.example.com/' }],
        guardians: {
          dids: ['did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'],
          threshold: 1,
          delaySeconds: 604_800,
        },
      },
      signer,
    );
    expect(new TextDecoder().decode(created.bytes)).toBe(
      '{"alsoKnownAs":[],"guardians":{"delaySeconds":604800,"dids":["did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"],"threshold":1},' +
        '"prev":null,"rotationKeys":[{"ed25519":"z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z"}],' +
        '"services":[{"id":"hub","serviceEndpoint":"https://hub.example.com/","type":"PersonaHub"}],' +
        '"sig":{"ed25519":"KS1fQvAHwI9oxysQi5JteldodR_n9opP9Yrm6mM6rOz9dEEmayztCsZc9pQMAuQiWkSbmOPR6nXBhGz0IC7xCw",' +
        '"key":"z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z"},"type":"create","verificationMethods":[]}',
    );
    expect(created.hash).toBe('z2bptlopoxe5vekr2gkrmp6pighr6cpdwoqbfjiiahzlvur6ibpa');
    expect(created.did).toBe('did:persona:z2bptlopoxe5vekr2gkrmp6pighr6cpd');
    // The signature is over the domain tag + the operation without `sig`.
    const message = personaSigningInput(created.operation);
    expect(new TextDecoder().decode(message.subarray(0, PERSONA_SIGNING_DOMAIN.length))).toBe(
      'did:persona/v1 operation\n',
    );
    const { sig: _sig, ...unsigned } = created.operation;
    expect(new TextDecoder().decode(message.subarray(PERSONA_SIGNING_DOMAIN.length))).toBe(
      canonicalize(unsigned),
    );
    const publicKey = await ed25519.publicKeyFromSecretKey(new Uint8Array(32).fill(7));
    const signature = Uint8Array.from(
      Buffer.from((created.operation.sig as { ed25519: string }).ed25519, 'base64url'),
    );
    expect(await ed25519.verify(publicKey, message, signature)).toBe(true);
  });
});

describe('did:persona create → update → rotate (hybrid) → verify', () => {
  const ledger = new TestLedger();
  let holder: RotationKeySigner;
  let hybrid: RotationKeySigner;
  let did: string;
  let genesis: Uint8Array;
  let key1: string;
  let key2: string;
  let pqKey: string;

  beforeAll(async () => {
    holder = await ed25519Signer();
    hybrid = await hybridSigner();
    key1 = await signingKey();
    key2 = await signingKey();
    pqKey = encodePublicKeyMultibase('ML-DSA-65', (await mlDsa65.generateKeyPair()).publicKey);
    const created = await buildPersonaCreate(
      {
        rotationKeys: [holder.key],
        verificationMethods: [
          { id: 'key-1', publicKeyMultibase: key1, relationships: ['authentication', 'assertionMethod'] },
        ],
        services: [{ id: 'hub', type: 'PersonaHub', serviceEndpoint: 'https://hub.example.com/' }],
      },
      holder,
    );
    did = created.did;
    genesis = created.bytes;
    ledger.appendOperation(created);
    ledger.append(new TextEncoder().encode('an unrelated ledger entry'));
    let { state } = await verifyHistory(await ledger.history(did), { did });
    ledger.appendOperation(
      await buildPersonaUpdate(
        state,
        {
          verificationMethods: [
            { id: 'key-2', publicKeyMultibase: key2, relationships: ['authentication', 'assertionMethod'] },
            { id: 'pq', publicKeyMultibase: pqKey, relationships: ['assertionMethod'] },
          ],
          alsoKnownAs: ['https://alice.example.com/'],
        },
        holder,
      ),
    );
    ({ state } = await verifyHistory(await ledger.history(did), { did }));
    ledger.appendOperation(await buildPersonaRotate(state, { rotationKeys: [hybrid.key] }, holder));
  });

  it('verifies the history into the DID document and metadata', async () => {
    const history = await ledger.history(did);
    expect(history).toHaveLength(3);
    const verified = await verifyHistory(history);
    expect(verified.did).toBe(did);
    expect(verified.state.rotationKeys).toEqual([hybrid.key]);
    expect(verified.didDocument).toEqual({
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: did,
      alsoKnownAs: ['https://alice.example.com/'],
      verificationMethod: [
        { id: `${did}#key-2`, type: 'Multikey', controller: did, publicKeyMultibase: key2 },
        { id: `${did}#pq`, type: 'Multikey', controller: did, publicKeyMultibase: pqKey },
      ],
      authentication: [`${did}#key-2`],
      assertionMethod: [`${did}#key-2`, `${did}#pq`],
      service: [{ id: `${did}#hub`, type: 'PersonaHub', serviceEndpoint: 'https://hub.example.com/' }],
    });
    const [first, , last] = history as [LoggedOperation, LoggedOperation, LoggedOperation];
    expect(verified.didDocumentMetadata).toEqual({
      created: new Date(first.integratedAt * 1000).toISOString().replace('.000Z', 'Z'),
      updated: new Date(last.integratedAt * 1000).toISOString().replace('.000Z', 'Z'),
      versionId: verified.operations[2]?.hash,
      deactivated: false,
    });
    expect(verified.operations.map((o) => o.operation.type)).toEqual(['create', 'update', 'rotate']);
    // Each operation names its predecessor's hash.
    expect(verified.operations[1]?.operation.prev).toBe(verified.operations[0]?.hash);
    expect(verified.operations[2]?.operation.prev).toBe(verified.operations[1]?.hash);
  });

  it('a genesis alone has no `updated`', async () => {
    const verified = await verifyHistory((await ledger.history(did)).slice(0, 1));
    expect(verified.didDocumentMetadata.updated).toBeUndefined();
    expect(verified.didDocumentMetadata.versionId).toBe(verified.state.genesis);
  });

  it('the DID is recomputable from the signed genesis: base32(SHA-256(JCS bytes))[0..32]', async () => {
    const op = decodeOperation(genesis);
    // Another RFC 8785 implementation produces the same bytes.
    expect(new TextDecoder().decode(genesis)).toBe(canonicalize(op));
    const digest = createHash('sha256').update(genesis).digest();
    const expected = `did:persona:${base32nopad.encode(digest).toLowerCase().slice(0, 32)}`;
    expect(did).toBe(expected);
    expect(await personaDidFromGenesis(genesis)).toBe(expected);
    expect(did).toMatch(/^did:persona:[a-z2-7]{32}$/);
  });

  it('every operation is canonical JSON (other encodings are refused)', async () => {
    for (const entry of await ledger.history(did)) {
      expect(new TextDecoder().decode(entry.bytes)).toBe(
        canonicalize(JSON.parse(new TextDecoder().decode(entry.bytes))),
      );
    }
    const spaced = new TextEncoder().encode(
      JSON.stringify(JSON.parse(new TextDecoder().decode(genesis)), null, 1),
    );
    expect((await failure(verifyHistory([{ bytes: spaced, ledgerIndex: 0, integratedAt: 1 }]))).code).toBe(
      'malformed',
    );
  });

  it('a tampered operation fails its signature', async () => {
    const history = await ledger.history(did);
    const tampered = edited(history[1] as LoggedOperation, (op) => {
      op.alsoKnownAs = ['https://mallory.example.com/'];
    });
    const error = await failure(verifyHistory([history[0] as LoggedOperation, tampered]));
    expect(error.code).toBe('invalid-signature');
    expect(error.index).toBe(1);
  });

  it('a signature by another key than the one it names fails', async () => {
    const history = await ledger.history(did);
    const { state } = await verifyHistory(history.slice(0, 2));
    const impostor = await ed25519Signer();
    const forged = await buildPersonaUpdate(state, { alsoKnownAs: [] }, { ...impostor, key: holder.key });
    const error = await failure(
      verifyHistory([...history.slice(0, 2), { ...forged, ledgerIndex: 99, integratedAt: 2e9 }]),
    );
    expect(error.code).toBe('invalid-signature');
  });

  it('a key that is not a rotation key (here: the old one after the rotation) is unauthorized', async () => {
    const history = await ledger.history(did);
    const { state } = await verifyHistory(history);
    const stale = await buildPersonaUpdate(
      { ...state, rotationKeys: [holder.key] },
      { alsoKnownAs: [] },
      holder,
    );
    const error = await failure(
      verifyHistory([...history, { ...stale, ledgerIndex: 99, integratedAt: 2e9 }]),
    );
    expect(error).toMatchObject({ code: 'unauthorized', index: 3 });
  });

  it('a hybrid key needs both halves: a missing or foreign ML-DSA-65 signature fails', async () => {
    const history = await ledger.history(did);
    const { state } = await verifyHistory(history);
    const update = await buildPersonaUpdate(state, { alsoKnownAs: [] }, hybrid);
    const entry = { bytes: update.bytes, ledgerIndex: 99, integratedAt: 2e9 };
    expect((await verifyHistory([...history, entry])).state.alsoKnownAs).toEqual([]);

    const stripped = edited(entry, (op) => {
      delete op.sig.mlDsa65;
    });
    expect(await failure(verifyHistory([...history, stripped]))).toMatchObject({
      code: 'missing-signature',
      index: 3,
    });

    const other = await hybridSigner();
    const foreign = await buildPersonaUpdate(
      state,
      { alsoKnownAs: [] },
      { ...hybrid, mlDsa65: other.mlDsa65 as never },
    );
    const error = await failure(verifyHistory([...history, { ...entry, bytes: foreign.bytes }]));
    expect(error.code).toBe('invalid-signature');
    expect(error.message).toContain('ML-DSA-65');

    // The builder refuses to sign for a hybrid key without its ML-DSA-65 signer.
    const { mlDsa65: _dropped, ...edOnly } = hybrid;
    expect((await failure(buildPersonaUpdate(state, {}, edOnly))).code).toBe('missing-signature');
  });

  it('a fork (two operations with the same prev) is refused', async () => {
    const history = await ledger.history(did);
    const { state } = await verifyHistory(history.slice(0, 1));
    const sibling = await buildPersonaUpdate(state, { alsoKnownAs: ['https://fork.example.com/'] }, holder);
    const error = await failure(
      verifyHistory([...history, { ...sibling, ledgerIndex: 99, integratedAt: 2e9 }]),
    );
    expect(error).toMatchObject({ code: 'fork', index: 3 });
    expect(error.message).toContain('operation 0');
  });

  it('an operation not chained to the genesis is refused', async () => {
    const history = await ledger.history(did);
    const unchained = edited(history[1] as LoggedOperation, (op) => {
      op.prev = 'a'.repeat(52);
    });
    expect(await failure(verifyHistory([history[0] as LoggedOperation, unchained]))).toMatchObject({
      code: 'not-chained',
      index: 1,
    });
    // The same operation replayed under another DID's genesis.
    const other = await ed25519Signer();
    const otherGenesis = await buildPersonaCreate({ rotationKeys: [other.key] }, other);
    const error = await failure(
      verifyHistory([{ ...otherGenesis, ledgerIndex: 0, integratedAt: 1 }, history[1] as LoggedOperation]),
    );
    expect(error.code).toBe('invalid-did');
  });

  it('refuses histories that do not start with their genesis, a second create, and disorder', async () => {
    const history = await ledger.history(did);
    expect((await failure(verifyHistory(history.slice(1)))).code).toBe('not-genesis');
    expect((await failure(verifyHistory([]))).code).toBe('empty-history');
    expect(
      (await failure(verifyHistory(history, { did: 'did:persona:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }))).code,
    ).toBe('invalid-did');
    const [a, b, c] = history as [LoggedOperation, LoggedOperation, LoggedOperation];
    expect(await failure(verifyHistory([a, { ...b, ledgerIndex: a.ledgerIndex }, c]))).toMatchObject({
      code: 'out-of-order',
      index: 1,
    });
    expect((await failure(verifyHistory([a, { ...b, integratedAt: a.integratedAt - 1 }, c]))).code).toBe(
      'out-of-order',
    );
    const twin = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    expect((await failure(verifyHistory([a, { ...twin, ledgerIndex: 99, integratedAt: 2e9 }]))).code).toBe(
      'not-genesis',
    );
  });

  it('a genesis must be signed by one of its own rotation keys', async () => {
    const other = await ed25519Signer();
    await expect(buildPersonaCreate({ rotationKeys: [holder.key] }, other)).rejects.toMatchObject({
      code: 'unauthorized',
    });
    const own = await buildPersonaCreate({ rotationKeys: [other.key] }, other);
    const swapped = edited({ ...own, ledgerIndex: 0, integratedAt: 1 }, (op) => {
      op.rotationKeys = [holder.key];
    });
    expect((await failure(verifyHistory([swapped]))).code).toBe('unauthorized');
  });

  it('refuses malformed operations: unknown members, bad keys, bad guardians', async () => {
    const [genesisEntry] = (await ledger.history(did)) as [LoggedOperation];
    const cases: Array<(op: Record<string, any>) => void> = [
      (op) => {
        op.extra = 1;
      },
      (op) => {
        op.type = 'teleport';
      },
      (op) => {
        op.rotationKeys = [];
      },
      (op) => {
        op.rotationKeys = [{ ed25519: pqKey }];
      },
      (op) => {
        op.verificationMethods[0].relationships = ['assertionMethod', 'authentication'];
      },
      (op) => {
        op.services[0].serviceEndpoint = 'not a url';
      },
      (op) => {
        op.guardians = { dids: ['did:example:a'], threshold: 2, delaySeconds: 86_400 };
      },
      (op) => {
        op.guardians = { dids: ['did:example:a'], threshold: 1, delaySeconds: 60 };
      },
      (op) => {
        op.sig.ed25519 = `${op.sig.ed25519.slice(0, -1)}B`; // non-zero trailing bits: not canonical base64url
      },
    ];
    for (const edit of cases) {
      expect((await failure(verifyHistory([edited(genesisEntry, edit)]))).code).toBe('malformed');
    }
  });

  it('deactivation: the document is emptied, metadata says so, and nothing may follow', async () => {
    const history = await ledger.history(did);
    const { state } = await verifyHistory(history);
    const deactivate = await buildPersonaDeactivate(state, hybrid);
    const withDeactivate = [...history, { ...deactivate, ledgerIndex: 99, integratedAt: 2e9 }];
    const verified = await verifyHistory(withDeactivate);
    expect(verified.didDocument).toEqual({
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: did,
    });
    expect(verified.didDocumentMetadata).toMatchObject({ deactivated: true, versionId: deactivate.hash });
    const after = await buildPersonaUpdate(verified.state, { alsoKnownAs: [] }, hybrid);
    expect(
      await failure(verifyHistory([...withDeactivate, { ...after, ledgerIndex: 100, integratedAt: 2e9 }])),
    ).toMatchObject({
      code: 'deactivated',
      index: 4,
    });
  });

  it('the operations carry exactly the documented fields', async () => {
    const ops = (await ledger.history(did)).map((entry) =>
      decodeOperation(entry.bytes),
    ) as PersonaOperation[];
    expect(Object.keys(ops[0] as object).sort()).toEqual(
      [
        'alsoKnownAs',
        'guardians',
        'prev',
        'rotationKeys',
        'services',
        'sig',
        'type',
        'verificationMethods',
      ].sort(),
    );
    expect(Object.keys(ops[2] as object).sort()).toEqual([
      'did',
      'guardians',
      'prev',
      'rotationKeys',
      'sig',
      'type',
    ]);
  });
});
