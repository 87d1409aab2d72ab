import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPersonaCreate,
  buildPersonaRecover,
  buildPersonaRecoveryRequest,
  buildPersonaUpdate,
  type GuardianSigner,
  type PersonaState,
  verifyHistory,
} from '@personachain/credentials';
import { encodePublicKeyMultibase, randomBytes, signatureScheme } from '@personachain/crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Problem } from '../src/http/problem.js';
import { AuditService } from '../src/modules/audit/service.js';
import { DidService } from '../src/modules/dids/service.js';
import { openKeyStore } from '../src/modules/keys/service.js';
import { LedgerService } from '../src/modules/ledger/service.js';
import { decodePersonaEntry, encodePersonaEntry } from '../src/modules/persona/framing.js';
import { PersonaLog } from '../src/modules/persona/log.js';
import { PersonaRepo } from '../src/modules/persona/repo.js';
import { PersonaService } from '../src/modules/persona/service.js';
import type { Principal } from '../src/modules/policy/model.js';
import { PolicyService } from '../src/modules/policy/service.js';
import { ProcessCache } from '../src/modules/tenancy/process-cache.js';
import { TenancyRepo } from '../src/modules/tenancy/repo.js';
import { TenancyService } from '../src/modules/tenancy/service.js';
import { migrate, openStore, type Store } from '../src/store/database.js';
import { body, ed25519Signer, guardian, hybridSigner } from './dids-persona-helpers.js';

const ADMIN: Principal = { kind: 'platform', keyId: 'key_test', expiresAt: null };
const T0 = Date.parse('2026-03-01T00:00:00Z');

describe('did:persona guardian recovery delay, with the service clock', () => {
  let dir: string;
  let store: Store;
  let ledger: LedgerService;
  let dids: DidService;
  let persona: PersonaService;
  let projectId: string;
  let clock = T0;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'persona-did-'));
    store = openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    await migrate(store);
    ledger = await LedgerService.open(store, {
      origin: 'persona.test/log',
      defaultOrigin: 'persona.test/log',
      keys: openKeyStore(store, randomBytes(32)),
      maxDelayMs: 1,
    });
    const audit = new AuditService(store.db, ledger);
    const tenancy = new TenancyService(
      new TenancyRepo(store.db, store.engine),
      PolicyService.load(),
      new ProcessCache(true),
      new ProcessCache(true),
      audit,
    );
    const org = await tenancy.createOrganization(ADMIN, { name: 'Org' });
    projectId = (await tenancy.createProject(ADMIN, org.id, { name: 'App' })).id;
    const repo = new PersonaRepo(store.db);
    const log = new PersonaLog(repo, ledger);
    dids = new DidService({ persona: log });
    clock = T0;
    persona = new PersonaService(repo, log, ledger, tenancy, audit, dids, () => new Date(clock));
  });
  afterEach(async () => {
    await ledger.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = async (did: string): Promise<PersonaState> =>
    (
      await verifyHistory(
        (
          await new PersonaLog(new PersonaRepo(store.db), ledger).loadOperations(did, { withProofs: false })
        ).operations,
        {
          did,
          guardianKeys: dids.guardianKeys,
        },
      )
    ).state;
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => (error instanceof Problem ? `${error.status} ${error.errors?.[0]?.detail}` : error),
    );

  it('accepts recover only once the delay has elapsed by the committed integration time', async () => {
    // One guardian is a did:key, the other a did:persona whose verification key signs for it.
    const keyGuardian = await guardian();
    const guardianHolder = await ed25519Signer();
    const guardianKey = await signatureScheme('Ed25519').generateKeyPair();
    const guardianMultikey = encodePublicKeyMultibase('Ed25519', guardianKey.publicKey);
    const guardianDid = await buildPersonaCreate(
      {
        rotationKeys: [guardianHolder.key],
        verificationMethods: [
          { id: 'g', publicKeyMultibase: guardianMultikey, relationships: ['authentication'] },
        ],
      },
      guardianHolder,
    );
    expect((await persona.create(ADMIN, projectId, body(guardianDid).operation)).ledgerIndex).toBeTypeOf(
      'number',
    );
    const personaGuardian: GuardianSigner = {
      did: guardianDid.did,
      key: guardianMultikey,
      sign: (message) => signatureScheme('Ed25519').sign(guardianKey.secretKey, message),
    };

    const holder = await ed25519Signer();
    const created = await buildPersonaCreate(
      {
        rotationKeys: [holder.key],
        guardians: { dids: [keyGuardian.did, guardianDid.did], threshold: 2, delaySeconds: 3600 },
      },
      holder,
    );
    await persona.create(ADMIN, projectId, body(created).operation);
    const append = (op: { bytes: Uint8Array }) =>
      persona.append(ADMIN, projectId, created.did, body(op).operation);

    const recovered = await hybridSigner();
    const one = await buildPersonaRecoveryRequest(await state(created.did), [recovered.key], [keyGuardian]);
    expect(await refusal(append(one))).toBe('400 recovery-threshold');

    clock = T0 + 10_000;
    const request = await buildPersonaRecoveryRequest(
      await state(created.did),
      [recovered.key],
      [keyGuardian, personaGuardian],
    );
    expect((await append(request)).type).toBe('recoveryRequest');
    const pending = await state(created.did);
    expect(pending.pendingRecovery?.effectiveAt).toBe((T0 + 10_000) / 1000 + 3600);

    const recover = await buildPersonaRecover(pending, recovered);
    clock = T0 + 10_000 + 3599_000;
    expect(await refusal(append(recover))).toBe('400 recovery-delay');
    clock = T0 + 10_000 + 3600_000;
    expect((await append(recover)).type).toBe('recover');
    expect((await state(created.did)).rotationKeys).toEqual([recovered.key]);

    // The guardian later replaces its key: the past recovery still verifies (guardians as of the request).
    clock = T0 + 20_000_000;
    const replaced = await buildPersonaUpdate(
      await state(guardianDid.did),
      { verificationMethods: [] },
      guardianHolder,
    );
    await persona.append(ADMIN, projectId, guardianDid.did, body(replaced).operation);
    const resolved = await dids.resolve(created.did, 'application/did+ld+json');
    expect(resolved.didResolutionMetadata.error).toBeUndefined();
    expect(resolved.didDocumentMetadata.versionId).toBe(recover.hash);
    expect(resolved.didDocumentMetadata.updated).toBe('2026-03-01T01:00:10Z');
  });

  it('keeps integration times non-decreasing when the clock goes back', async () => {
    const holder = await ed25519Signer();
    const created = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    await persona.create(ADMIN, projectId, body(created).operation);
    clock = T0 - 86_400_000;
    const update = await buildPersonaUpdate(
      await state(created.did),
      { alsoKnownAs: ['https://a.example/'] },
      holder,
    );
    await persona.append(ADMIN, projectId, created.did, body(update).operation);
    const [genesis, next] = (
      await new PersonaLog(new PersonaRepo(store.db), ledger).loadOperations(created.did, {
        withProofs: false,
      })
    ).operations;
    expect(next?.integratedAt).toBe(genesis?.integratedAt);
  });

  it('frames an operation as canonical JSON holding its exact bytes, and refuses any other framing', async () => {
    const holder = await ed25519Signer();
    const created = await buildPersonaCreate({ rotationKeys: [holder.key] }, holder);
    const entry = encodePersonaEntry({ at: 1_772_323_200, did: created.did, op: created.bytes });
    const text = new TextDecoder().decode(entry);
    expect(text).toBe(
      `{"at":1772323200,"did":"${created.did}","op":${new TextDecoder().decode(created.bytes)},"type":"did:persona/op"}`,
    );
    expect(decodePersonaEntry(entry)).toEqual({ at: 1_772_323_200, did: created.did, op: created.bytes });
    const encode = (value: string) => new TextEncoder().encode(value);
    expect(decodePersonaEntry(encode('{"v":1,"type":"did.created"}'))).toBeUndefined();
    for (const bad of [
      text.replace('{"at"', '{ "at"'),
      text.replace('"at":1772323200', '"at":-1'),
      text.replace('"type"', '"extra":1,"type"'),
    ]) {
      expect(() => decodePersonaEntry(encode(bad))).toThrow(/canonical framing|not/);
    }
  });
});
