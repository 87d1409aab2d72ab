import {
  deriveKeyEncryptionKey,
  type KeyRecord,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
} from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import { IssuerKeys } from '../src/modules/oidc/signing-keys.js';
import { memoryKeyStates } from './oidc-helpers.js';

const PROJECT = `prj_${'d'.repeat(32)}`;
const DAY_MS = 24 * 60 * 60_000;

/**
 * A key store whose rotations stop after making their key until `release()`: the moment a read could
 * come between a rotation's new key and its lifecycle row.
 */
class PausingKeyStore extends LocalKeyStore {
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  paused: Promise<void> = Promise.resolve();
  private reached: (() => void) | null = null;

  pauseRotations(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
    this.paused = new Promise((resolve) => {
      this.reached = resolve;
    });
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  override async rotateKey(...args: Parameters<LocalKeyStore['rotateKey']>): Promise<KeyRecord> {
    const made = await super.rotateKey(...args);
    if (this.gate) {
      this.reached?.();
      await this.gate;
    }
    return made;
  }
}

describe('issuer keys during a rotation', () => {
  // The platform's clock a day ahead of the key store's, as in the API tests: a read that guessed the new
  // keys' times from the key store would have them signing already.
  for (const immediate of [false, true]) {
    it(`a read in the middle of ${immediate ? 'an immediate' : 'a staged'} rotation sees the keys before or after it, never half of it`, async () => {
      const keyStore = new PausingKeyStore({
        kek: deriveKeyEncryptionKey(randomBytes(32)),
        repository: new MemoryKeyRepository(),
      });
      const states = memoryKeyStates();
      const keys = new IssuerKeys(keyStore, states, () => Date.now() + DAY_MS);
      // Another process on the same database and key store.
      const replica = new IssuerKeys(keyStore, states, () => Date.now() + DAY_MS);
      const before = await keys.keySet(PROJECT);
      const current = before.keys.map((key) => key.kid).sort();

      keyStore.pauseRotations();
      const rotation = keys.rotate(PROJECT, { immediate });
      await keyStore.paused;
      // The replica's read runs now: it must leave the half-made rotation alone.
      const onReplica = await replica.keySet(PROJECT);
      expect(onReplica.keys.map((key) => key.kid).sort()).toEqual(current);
      expect(onReplica.keys.every((key) => key.state === 'active')).toBe(true);
      // It is to look again by the time such a key, if its rotation died, would be repaired.
      expect(onReplica.changesAt).toBeLessThanOrEqual(Date.now() + DAY_MS + 5 * 60_000);
      // This process's read waits for the rotation.
      const during = keys.keySet(PROJECT);
      keyStore.release();
      const { rotated } = await rotation;
      const read = await during;

      const stateOf = new Map(read.keys.map((key) => [key.kid, key.state]));
      for (const key of rotated) expect(stateOf.get(key.kid)).toBe(immediate ? 'active' : 'next');
      for (const kid of current) {
        if (immediate) expect(stateOf.has(kid)).toBe(false);
        else expect(stateOf.get(kid)).toBe('active');
      }
      // And so it stays, on both.
      expect((await replica.keySet(PROJECT)).keys.map((key) => [key.kid, key.state])).toEqual(
        read.keys.map((key) => [key.kid, key.state]),
      );
    });
  }
});
