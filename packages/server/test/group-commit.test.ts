import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/store/group-commit.js';

describe('GroupCommit', () => {
  it('writes the items of one moment in one commit, later ones in the next', async () => {
    const commits: number[][] = [];
    const group = new GroupCommit<number>(async (items) => {
      commits.push(items);
    }, 10);
    await Promise.all([1, 2, 3].map((item) => group.add(item)));
    await group.add(4);
    expect(commits).toEqual([[1, 2, 3], [4]]);
  });

  it('settles an item added as the previous batch resolves (no item is left waiting)', async () => {
    const group = new GroupCommit<string>(async () => {}, 10);
    const followUp = await group.add('first').then(() => group.add('follow-up'));
    expect(followUp).toBeUndefined();
  });

  it('keeps batches to the maximum size', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit<number>(async (items) => {
      sizes.push(items.length);
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((item) => group.add(item)));
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('fails only the batch whose commit failed', async () => {
    let fail = true;
    const group = new GroupCommit<number>(async () => {
      if (fail) throw new Error('disk full');
    }, 10);
    await expect(group.add(1)).rejects.toThrow('disk full');
    fail = false;
    await expect(group.add(2)).resolves.toBeUndefined();
  });
});
