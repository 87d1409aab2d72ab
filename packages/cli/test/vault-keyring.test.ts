import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEnvelopeKeyPair } from '@personachain/crypto';
import { MemberKeys } from '@personachain/vaults';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultKeyring } from '../src/vault/keyring.js';

const PASSPHRASE = 'correct horse battery staple';
const COST = { N: 2 ** 10, r: 8, p: 1 };

let dir: string;
let path: string;
let alice: MemberKeys;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'persona-vault-keyring-'));
  path = join(dir, 'vault-keyring.json');
  process.env.PERSONA_KEYRING_PASSPHRASE = PASSPHRASE;
  alice = await MemberKeys.generate();
  const keyring = await VaultKeyring.open(path, { cost: COST });
  await keyring.add('alice', alice);
  await keyring.add('bob', await MemberKeys.generate());
  keyring.setVault('vlt_0123456789abcdef0123456789abcdef', {
    projectId: 'prj_1',
    keys: 'alice',
    subject: 'usr_0123456789abcdef0123456789abcdef',
  });
  await keyring.save();
});

afterAll(async () => {
  delete process.env.PERSONA_KEYRING_PASSPHRASE;
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the keyring file with `edit` applied to its JSON. */
type Members = Record<string, Record<string, unknown>>;

async function edited(name: string, edit: (members: Members) => void): Promise<string> {
  const file = JSON.parse(await readFile(path, 'utf8'));
  edit(file.members);
  const copy = join(dir, name);
  await writeFile(copy, JSON.stringify(file), { mode: 0o600 });
  return copy;
}

describe('the vault keyring', () => {
  it('gives back the same member keys, and their public facts without the passphrase', async () => {
    const keyring = await VaultKeyring.open(path);
    expect(keyring.members().map(({ name }) => name)).toEqual(['alice', 'bob']);
    expect(keyring.member('alice')).toMatchObject({ keyId: alice.keyId, publicKeys: alice.publicKeys });
    expect(keyring.vault('vlt_0123456789abcdef0123456789abcdef')).toMatchObject({ keys: 'alice' });
    // Names are looked up as own entries only.
    expect(keyring.member('constructor')).toBeUndefined();
    expect(() => keyring.requireMember('carol')).toThrow(
      expect.objectContaining({
        message: expect.stringContaining('no member keys named carol'),
        details: ['it holds: alice, bob'],
      }),
    );
    expect((await keyring.memberKeys('alice')).keyId).toBe(alice.keyId);
  });

  it('refuses a wrong passphrase before opening anything', async () => {
    process.env.PERSONA_KEYRING_PASSPHRASE = 'not the passphrase';
    try {
      const keyring = await VaultKeyring.open(path);
      await expect(keyring.memberKeys('alice')).rejects.toThrow('wrong passphrase');
    } finally {
      process.env.PERSONA_KEYRING_PASSPHRASE = PASSPHRASE;
    }
  });

  it('detects a sealed seed moved to another name, and public keys swapped in the file', async () => {
    const moved = await edited('moved.json', ({ alice, bob }) => {
      (bob as Members[string]).sealedSeed = alice?.sealedSeed;
    });
    await expect((await VaultKeyring.open(moved)).memberKeys('bob')).rejects.toThrow('do not decrypt');
    const swapped = await edited('swapped.json', ({ alice, bob }) => {
      (alice as Members[string]).publicKeys = bob?.publicKeys;
    });
    await expect((await VaultKeyring.open(swapped)).memberKeys('alice')).rejects.toThrow(
      'do not match their key id',
    );
  });

  it('keeps a recovery key until it is removed, and never saves over another command’s keys', async () => {
    const first = await VaultKeyring.open(path);
    const second = await VaultKeyring.open(path);
    const ephemeral = await generateEnvelopeKeyPair('X-Wing');
    await first.addRecovery({
      requestId: 'vrr_1',
      vaultId: 'vlt_0123456789abcdef0123456789abcdef',
      projectId: 'prj_1',
      ephemeral,
    });
    await first.save();
    await second.add('carol', await MemberKeys.generate());
    await second.save();

    const reopened = await VaultKeyring.open(path);
    expect(reopened.members().map(({ name }) => name)).toEqual(['alice', 'bob', 'carol']);
    const pending = await reopened.recovery('vrr_1');
    expect(pending.ephemeral.secretKey).toEqual(ephemeral.secretKey);
    expect(pending.ephemeral.keyId).toEqual(ephemeral.keyId);
    reopened.removeRecovery('vrr_1');
    await reopened.save();
    await expect((await VaultKeyring.open(path)).recovery('vrr_1')).rejects.toThrow('no recovery request');

    // Two commands adding the same name: the second save is refused, not merged over the first.
    const racing = [await VaultKeyring.open(path), await VaultKeyring.open(path)];
    for (const keyring of racing) await keyring.add('dave', await MemberKeys.generate());
    await racing[0]?.save();
    await expect(racing[1]?.save()).rejects.toThrow('saved member keys named dave meanwhile');
  });
});
