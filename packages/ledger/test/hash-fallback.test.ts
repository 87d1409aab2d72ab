import { afterEach, describe, expect, it, vi } from 'vitest';
import { hex } from './reference.js';

describe('SHA-256 without node:crypto (browsers)', () => {
  const original = process.getBuiltinModule;
  afterEach(() => {
    process.getBuiltinModule = original;
    vi.resetModules();
  });

  it('falls back to noble and computes the same tree hashes', async () => {
    const native = await import('../src/hash.js');
    vi.resetModules();
    let asked = false;
    process.getBuiltinModule = ((id: string) => {
      asked = true;
      return id === 'node:crypto' ? undefined : original(id);
    }) as typeof process.getBuiltinModule;
    const noble = await import('../src/hash.js');
    expect(asked).toBe(true);
    const leaves = Array.from({ length: 37 }, (_, i) => noble.hashLeaf(Uint8Array.of(i)));
    expect(hex(noble.rootOf(leaves))).toBe(
      hex(native.rootOf(leaves.map((_, i) => native.hashLeaf(Uint8Array.of(i))))),
    );
    expect(hex(noble.EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(noble.sha256(new Uint8Array(3))).toBeInstanceOf(Uint8Array);
  });
});
