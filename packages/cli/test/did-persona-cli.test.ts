import { createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPersonaUpdate,
  DID_KEY_ALGORITHMS,
  type RotationKey,
  type RotationKeySigner,
} from '@personachain/credentials';
import { decodePublicKeyMultibase, type SignatureAlgorithm, signatureScheme } from '@personachain/crypto';
import { createPersonaClient, type PersonaClient } from '@personachain/sdk';
import { loadConfig, type RunningServer, startServer } from '@personachain/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DID_KEY_GENERATED_ALGORITHMS } from '../src/commands/did-key.js';
import { Keyring } from '../src/keyring/keyring.js';
import { verifiedState } from '../src/persona/history.js';
import { assertBuilt, runCli } from './run-cli.js';

const ADMIN_KEY = `sk_${randomBytes(32).toString('base64url')}`;
const PASSPHRASE = 'correct horse battery staple';
/** Keyrings made by the tests themselves use a cheap scrypt cost; the CLI's own default is checked once. */
const TEST_COST = { N: 2 ** 10, r: 8, p: 1 };

let dir: string;
let server: RunningServer;
let client: PersonaClient;
let projectId: string;

const persona = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, {
    PERSONA_URL: server.url,
    PERSONA_API_KEY: ADMIN_KEY,
    PERSONA_KEYRING_PASSPHRASE: PASSPHRASE,
    XDG_CONFIG_HOME: join(dir, 'config'),
    ...env,
  });

/** Runs a command that must succeed and returns its --json output. */
async function personaJson(args: string[], env?: Record<string, string>): Promise<Record<string, unknown>> {
  const result = await persona([...args, '--json'], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** A keyring file with no keys yet, made in-process with a low scrypt cost to keep the tests fast. */
async function newKeyring(name: string): Promise<string> {
  const path = join(dir, 'keyrings', `${name}.json`);
  await (await Keyring.open(path, { create: true, cost: TEST_COST })).save();
  return path;
}

async function resolved(did: string) {
  return client.dids.resolve(did, { history: true });
}

async function lastOperation(did: string): Promise<Record<string, unknown>> {
  const history = (await resolved(did)).didDocumentMetadata.operationHistory as Array<{
    operation: Record<string, unknown>;
  }>;
  return history.at(-1)?.operation as Record<string, unknown>;
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'persona-cli-did-'));
  // Read by the in-process Keyring (runCli passes the CLI its own environment).
  process.env.PERSONA_KEYRING_PASSPHRASE = PASSPHRASE;
  server = await startServer(
    loadConfig({
      PERSONA_DATA_DIR: join(dir, 'data'),
      PERSONA_HOST: '127.0.0.1',
      PERSONA_PORT: '0',
      PERSONA_BOOTSTRAP_KEY: ADMIN_KEY,
      PERSONA_LOG_LEVEL: 'silent',
      PERSONA_PUBLIC_URL: 'https://persona.test',
    }),
  );
  client = createPersonaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
  const org = await client.organizations.create({ name: 'CLI did:persona' });
  projectId = (await client.projects.create(org.id, { name: 'Wallets' })).id;
});

afterAll(async () => {
  delete process.env.PERSONA_KEYRING_PASSPHRASE;
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

// Each test has its own DIDs and keyrings, so they run side by side: most of the time is process start-up
// (about 0.5 s of CPU per command), which is also why the timeout allows for a busy machine.
describe.concurrent('persona did with a local keyring', { timeout: 60_000 }, () => {
  describe('persona did create', () => {
    it('creates a DID whose keys stay in a private, encrypted keyring at the default location', async () => {
      const created = await personaJson([
        'did',
        'create',
        '--project',
        projectId,
        '--key',
        'key-1',
        '--service',
        'id=hub,type=PersonaHub,endpoint=https://hub.example.com/a,b',
      ]);
      const path = join(dir, 'config', 'persona', 'keyring.json');
      expect(created).toMatchObject({
        did: expect.stringMatching(/^did:persona:[a-z2-7]{32}$/),
        type: 'create',
        versionId: expect.stringMatching(/^[a-z2-7]{52}$/),
        ledgerIndex: expect.any(Number),
        keyring: path,
      });
      const did = created.did as string;

      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'config', 'persona'))).mode & 0o777).toBe(0o700);

      const shown = await persona(['did', 'resolve', did]);
      expect(shown.code).toBe(0);
      const document = JSON.parse(shown.stdout);
      expect(document.verificationMethod).toEqual([
        expect.objectContaining({ id: `${did}#key-1`, type: 'Multikey', controller: did }),
      ]);
      expect(document.assertionMethod).toEqual([`${did}#key-1`]);
      expect(document.service).toEqual([
        { id: `${did}#hub`, type: 'PersonaHub', serviceEndpoint: 'https://hub.example.com/a,b' },
      ]);

      // Decrypt the file independently (scrypt + AES-256-GCM with node:crypto): every secret key is the one
      // of its public key, and none of them appears in the file in any encoding.
      const text = await readFile(path, 'utf8');
      const file = JSON.parse(text);
      expect(file.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
      expect(file.dids[did]).toEqual({ projectId });
      const rotationKey = (await lastOperation(did)).rotationKeys as RotationKey[];
      const listed = [rotationKey[0]?.ed25519, document.verificationMethod[0].publicKeyMultibase];
      expect(Object.keys(file.keys).sort()).toEqual(listed.sort());
      const secrets = await openSecretKeys(file, PASSPHRASE);
      for (const secret of secrets) {
        for (const encoding of ['hex', 'base64', 'base64url', 'latin1'] as const) {
          expect(text).not.toContain(Buffer.from(secret).toString(encoding));
        }
      }
    });

    it('creates a DID with a hybrid Ed25519 + ML-DSA-65 rotation key that signs with both halves', async () => {
      const keyring = await newKeyring('hybrid');
      const created = await personaJson([
        'did',
        'create',
        '--project',
        projectId,
        '--hybrid',
        '--keyring',
        keyring,
      ]);
      const genesis = await lastOperation(created.did as string);
      expect(genesis.rotationKeys).toEqual([
        { ed25519: expect.stringMatching(/^z6Mk/), mlDsa65: expect.stringMatching(/^z/) },
      ]);
      expect(genesis.sig).toMatchObject({ ed25519: expect.any(String), mlDsa65: expect.any(String) });

      // The hybrid key keeps signing: an update goes through with both signatures.
      await personaJson(['did', 'update', created.did as string, '--add-key', 'key-1', '--keyring', keyring]);
      expect((await lastOperation(created.did as string)).sig).toHaveProperty('mlDsa65');
    });

    it('refuses bad input before generating anything', async () => {
      const keyring = join(dir, 'keyrings', 'never-made.json');
      const noThreshold = await persona([
        'did',
        'create',
        '--project',
        projectId,
        '--guardian',
        'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
        '--keyring',
        keyring,
      ]);
      expect(noThreshold.code).toBe(2);
      expect(noThreshold.stderr).toContain('--threshold is required with --guardian');
      await expect(stat(keyring)).rejects.toThrow(/ENOENT/);
    });
  });

  describe('persona did key create', () => {
    it('creates a P-521 did:key (z2J9…) in the keyring that the server resolves to that key', async () => {
      const keyring = await newKeyring('did-key-p521');
      const created = await personaJson([
        'did',
        'key',
        'create',
        '--algorithm',
        'P-521',
        '--keyring',
        keyring,
      ]);
      const multikey = created.publicKeyMultibase as string;
      expect(created).toEqual({
        did: `did:key:${multikey}`,
        algorithm: 'P-521',
        publicKeyMultibase: expect.stringMatching(/^z2J9/),
        keyring,
      });
      expect(decodePublicKeyMultibase(multikey).algorithm).toBe('P-521');

      const shown = await persona(['did', 'resolve', created.did as string]);
      expect(shown.code).toBe(0);
      const did = created.did as string;
      const document = JSON.parse(shown.stdout);
      expect(document.id).toBe(did);
      expect(document.verificationMethod).toEqual([
        { id: `${did}#${multikey}`, type: 'Multikey', controller: did, publicKeyMultibase: multikey },
      ]);
      expect(document.assertionMethod).toEqual([`${did}#${multikey}`]);

      // The secret key is in the keyring: what it signs verifies under the resolved key.
      const message = new TextEncoder().encode('P-521 did:key');
      const signature = await (await Keyring.open(keyring, { create: false })).signer(multikey)(message);
      const { publicKey } = decodePublicKeyMultibase(document.verificationMethod[0].publicKeyMultibase);
      expect(await signatureScheme('P-521').verify(publicKey, message, signature)).toBe(true);
    });

    it('offers every key type of the library’s did:key and refuses others', async () => {
      expect(DID_KEY_GENERATED_ALGORITHMS).toEqual(DID_KEY_ALGORITHMS);
      const keyring = join(dir, 'keyrings', 'did-key-never-made.json');
      const unknown = await persona([
        'did',
        'key',
        'create',
        '--algorithm',
        'RSA-3072',
        '--keyring',
        keyring,
      ]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(
        'Allowed choices are Ed25519, P-256, P-384, P-521, secp256k1, BLS12-381-G2',
      );
      await expect(stat(keyring)).rejects.toThrow(/ENOENT/);
    });
  });

  describe('persona did update, rotate and deactivate', () => {
    it('adds and removes verification methods and services, then deactivates for good', async () => {
      const keyring = await newKeyring('update');
      const { did } = await personaJson([
        'did',
        'create',
        '--project',
        projectId,
        '--service',
        'id=hub,type=PersonaHub,endpoint=https://hub.example.com/',
        '--keyring',
        keyring,
      ]);
      const before = await resolved(did as string);
      expect(before.didDocument?.verificationMethod ?? []).toEqual([]);

      const updated = await personaJson([
        'did',
        'update',
        did as string,
        '--add-key',
        'id=signing,algorithm=P-256,relationships=assertionMethod',
        '--remove-service',
        'hub',
        '--keyring',
        keyring,
      ]);
      expect(updated).toMatchObject({ did, type: 'update' });
      const after = await resolved(did as string);
      expect(after.didDocumentMetadata.versionId).toBe(updated.versionId);
      expect(after.didDocument?.verificationMethod).toEqual([
        expect.objectContaining({ id: `${did}#signing`, publicKeyMultibase: expect.stringMatching(/^zDn/) }),
      ]);
      expect(after.didDocument?.assertionMethod).toEqual([`${did}#signing`]);
      expect(after.didDocument?.authentication).toBeUndefined();
      expect(after.didDocument?.service ?? []).toEqual([]);

      const unknown = await persona([
        'did',
        'update',
        did as string,
        '--remove-key',
        'nope',
        '--keyring',
        keyring,
      ]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('the DID has no verification method nope');

      // Deactivation is final.
      expect(await personaJson(['did', 'deactivate', did as string, '--keyring', keyring])).toMatchObject({
        type: 'deactivate',
      });
      const shown = await persona(['did', 'resolve', did as string, '--json']);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout).didDocumentMetadata.deactivated).toBe(true);
      const deactivated = await persona([
        'did',
        'update',
        did as string,
        '--add-key',
        'k',
        '--keyring',
        keyring,
      ]);
      expect(deactivated.code).toBe(1);
      expect(deactivated.stderr).toContain(`${did} is deactivated`);
    });

    it('rotates the rotation key; the old key can sign nothing more', async () => {
      const keyring = await newKeyring('rotate');
      const { did } = await personaJson(['did', 'create', '--project', projectId, '--keyring', keyring]);
      const [oldKey] = (await lastOperation(did as string)).rotationKeys as RotationKey[];
      const oldKeyring = join(dir, 'keyrings', 'rotate-before.json');
      await copyFile(keyring, oldKeyring);

      const rotated = await personaJson(['did', 'rotate', did as string, '--hybrid', '--keyring', keyring]);
      expect(rotated).toMatchObject({ type: 'rotate', rotationKey: expect.stringContaining('(hybrid)') });
      const [newKey] = (await lastOperation(did as string)).rotationKeys as RotationKey[];
      expect(newKey?.mlDsa65).toBeDefined();
      expect(newKey?.ed25519).not.toBe(oldKey?.ed25519);
      const file = JSON.parse(await readFile(keyring, 'utf8'));
      expect(Object.keys(file.keys)).not.toContain(oldKey?.ed25519);

      // The CLI with a keyring that has only the old key refuses to sign…
      const stale = await persona([
        'did',
        'update',
        did as string,
        '--add-key',
        'k',
        '--keyring',
        oldKeyring,
      ]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain(`holds no current rotation key of ${did}`);

      // …and the server refuses an operation the old key signed anyway (built on a state that still lists
      // the old key, to get past the library's own check).
      const old = await Keyring.open(oldKeyring, { create: false });
      const state = await verifiedState(client, server.url, did as string);
      const forged = await buildPersonaUpdate(
        { ...state, rotationKeys: [oldKey as RotationKey] },
        { alsoKnownAs: ['https://evil.example/'] },
        old.rotationSigner([oldKey as RotationKey]) as RotationKeySigner,
      );
      const { response, error } = await client.api.POST('/v1/projects/{projectId}/dids/{did}/operations', {
        params: { path: { projectId, did: did as string } },
        body: { operation: Buffer.from(forged.bytes).toString('base64url') },
      });
      expect(response.status).toBe(400);
      expect(error).toMatchObject({ errors: [{ detail: 'unauthorized' }] });

      // The new key signs.
      await personaJson(['did', 'update', did as string, '--add-key', 'key-1', '--keyring', keyring]);
    });
  });

  describe('the keyring', () => {
    it('refuses a wrong or missing passphrase and a keyring other users can read, changing nothing', async () => {
      const keyring = await newKeyring('locked');
      // The keyring is opened before anything is fetched: this DID need not exist.
      const did = 'did:persona:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
      const before = await readFile(keyring);

      const wrong = await persona(['did', 'update', did, '--add-key', 'k', '--keyring', keyring], {
        PERSONA_KEYRING_PASSPHRASE: 'not the passphrase',
      });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/^persona: wrong passphrase for the keyring /);

      const missing = await persona(['did', 'update', did, '--add-key', 'k', '--keyring', keyring], {
        PERSONA_KEYRING_PASSPHRASE: '',
      });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('PERSONA_KEYRING_PASSPHRASE is not set and there is no terminal');

      await chmod(keyring, 0o644);
      const exposed = await persona(['did', 'update', did, '--add-key', 'k', '--keyring', keyring]);
      expect(exposed.code).toBe(2);
      expect(exposed.stderr).toContain('is accessible to other users (mode 644)');
      expect(await readFile(keyring)).toEqual(before);
    });
  });

  describe('persona did recover', () => {
    it('needs M guardian signatures, can be cancelled, and completes after the delay', async () => {
      const [holder, recoverer, g1, g2, g3] = await Promise.all(
        ['holder', 'recoverer', 'guardian-1', 'guardian-2', 'guardian-3'].map(newKeyring),
      );
      // Guardian 2 (who signs both requests) holds a P-521 did:key: a guardian may have any key type.
      const guardians = await Promise.all(
        [g1, g2, g3].map(
          async (keyring, index) =>
            (
              await personaJson([
                'did',
                'key',
                'create',
                ...(index === 1 ? ['--algorithm', 'P-521'] : []),
                '--keyring',
                keyring as string,
              ])
            ).did as string,
        ),
      );
      const { did } = await personaJson([
        'did',
        'create',
        '--project',
        projectId,
        ...guardians.flatMap((guardian) => ['--guardian', guardian]),
        '--threshold',
        '2',
        '--recovery-delay',
        '1h',
        '--keyring',
        holder as string,
      ]);
      const file = (name: string) => join(dir, name);

      // The holder lost the keys: a new keyring proposes new ones, the guardians sign.
      const request = async (name: string) => {
        const made = await persona([
          'did',
          'recover',
          'request',
          did as string,
          '--project',
          projectId,
          '--out',
          file(name),
          '--keyring',
          recoverer as string,
        ]);
        expect(made.code).toBe(0);
        expect(made.stderr).toContain('2 of the 3 guardians must sign');
      };
      const sign = async (name: string, guardian: number, keyring: string) => {
        const out = file(`${name}.sig-${guardian}.json`);
        const signed = await persona([
          'did',
          'recover',
          'sign',
          file(name),
          '--guardian',
          guardians[guardian] as string,
          '--out',
          out,
          '--keyring',
          keyring,
        ]);
        return { ...signed, out };
      };
      await request('request-1.json');
      const [sig1, sig2, impostor] = await Promise.all([
        sign('request-1.json', 0, g1 as string),
        sign('request-1.json', 1, g2 as string),
        sign('request-1.json', 0, g3 as string),
      ]);
      expect(sig1.code).toBe(0);
      expect(sig2.code).toBe(0);
      expect(impostor.code).toBe(1);
      expect(impostor.stderr).toContain(`holds no key of ${guardians[0]}`);

      // M-1 signatures: the server refuses.
      const submit = (signatures: string[]) =>
        persona(['did', 'recover', 'submit', file('request-1.json'), ...signatures, '--project', projectId]);
      const tooFew = await submit([sig1.out]);
      expect(tooFew.code).toBe(1);
      expect(tooFew.stderr).toContain('1 guardian signature(s); the threshold is 2 of 3');
      expect(tooFew.stderr).toContain('body /operation: recovery-threshold');

      const submitted = await submit([sig1.out, sig2.out]);
      expect(submitted.code).toBe(0);
      expect(submitted.stdout).toMatch(/operation: +recoveryRequest/);
      expect((await resolved(did as string)).didDocumentMetadata.pendingRecovery).toBeDefined();

      // Too early to complete; the holder cancels.
      const early = await persona([
        'did',
        'recover',
        'complete',
        did as string,
        '--keyring',
        recoverer as string,
      ]);
      expect(early.code).toBe(1);
      expect(early.stderr).toContain('body /operation: recovery-delay');
      await personaJson(['did', 'recover', 'cancel', did as string, '--keyring', holder as string]);
      expect((await resolved(did as string)).didDocumentMetadata.pendingRecovery).toBeUndefined();
      const [stale] = await Promise.all([submit([sig1.out, sig2.out]), request('request-2.json')]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('the request is out of date');
      const signatures = await Promise.all([
        sign('request-2.json', 1, g2 as string),
        sign('request-2.json', 2, g3 as string),
      ]);
      const second = await persona([
        'did',
        'recover',
        'submit',
        file('request-2.json'),
        ...signatures.map((signature) => signature.out),
        '--project',
        projectId,
      ]);
      expect(second.code).toBe(0);
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
      try {
        vi.setSystemTime(Date.now() + 3601_000);
        const completed = await personaJson([
          'did',
          'recover',
          'complete',
          did as string,
          '--keyring',
          recoverer as string,
        ]);
        expect(completed).toMatchObject({ did, type: 'recover' });
      } finally {
        vi.useRealTimers();
      }

      const requested = JSON.parse(await readFile(file('request-2.json'), 'utf8')).rotationKeys;
      expect((await verifiedState(client, server.url, did as string)).rotationKeys).toEqual(requested);
      const [lockedOut, updated] = await Promise.all([
        persona(['did', 'update', did as string, '--add-key', 'k', '--keyring', holder as string]),
        persona(['did', 'update', did as string, '--add-key', 'key-1', '--keyring', recoverer as string]),
      ]);
      expect(lockedOut.code).toBe(1);
      expect(lockedOut.stderr).toContain('holds no current rotation key');
      expect(updated.code).toBe(0);
    });
  });
});

/** Opens every sealed key of a keyring file with node:crypto alone, checking each against its public key. */
async function openSecretKeys(
  file: {
    kdf: { salt: string; N: number; r: number; p: number };
    keys: Record<string, { algorithm: string; sealedSecretKey: string }>;
  },
  passphrase: string,
): Promise<Uint8Array[]> {
  const { salt, N, r, p } = file.kdf;
  const key = scryptSync(passphrase, Buffer.from(salt, 'base64url'), 32, {
    N,
    r,
    p,
    maxmem: 256 * 1024 * 1024,
  });
  const secrets: Uint8Array[] = [];
  for (const [multikey, { algorithm, sealedSecretKey }] of Object.entries(file.keys)) {
    const sealed = Buffer.from(sealedSecretKey, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(JSON.stringify(['persona-keyring/v1', 'secret key', algorithm, multikey])));
    decipher.setAuthTag(sealed.subarray(-16));
    const secret = Buffer.concat([decipher.update(sealed.subarray(12, -16)), decipher.final()]);
    const scheme = signatureScheme(algorithm as SignatureAlgorithm);
    expect(await scheme.publicKeyFromSecretKey(secret)).toEqual(decodePublicKeyMultibase(multikey).publicKey);
    secrets.push(secret);
  }
  return secrets;
}
