import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildPersonaCreate,
  buildPersonaRecover,
  buildPersonaRecoveryCancel,
  buildPersonaRecoveryRequest,
  buildPersonaRotate,
  buildPersonaUpdate,
  type GuardianSigner,
  type LoggedOperation,
  type PendingRecovery,
  type PersonaState,
  type RotationKeySigner,
  verifyHistory,
} from '../src/index.js';
import { didKeyGuardianKeys, ed25519Signer, guardian, hybridSigner } from './dids-persona-helpers.js';

const DELAY = 86_400;
const T0 = 1_767_225_600;

async function stateOf(history: LoggedOperation[]): Promise<PersonaState> {
  return (await verifyHistory(history, { guardianKeys: didKeyGuardianKeys })).state;
}

describe('did:persona guardian recovery (2 of 3, one day)', () => {
  let holder: RotationKeySigner;
  let replacement: RotationKeySigner;
  let guardians: [GuardianSigner, GuardianSigner, GuardianSigner];
  let genesis: LoggedOperation;

  beforeAll(async () => {
    holder = await ed25519Signer();
    replacement = await hybridSigner();
    guardians = [await guardian(), await guardian(), await guardian()];
    const created = await buildPersonaCreate(
      {
        rotationKeys: [holder.key],
        guardians: { dids: guardians.map((g) => g.did), threshold: 2, delaySeconds: DELAY },
      },
      holder,
    );
    genesis = { bytes: created.bytes, ledgerIndex: 0, integratedAt: T0 };
  });

  async function request(signers: GuardianSigner[], requestedAt = T0 + 100): Promise<LoggedOperation[]> {
    const state = await stateOf([genesis]);
    const built = await buildPersonaRecoveryRequest(state, [replacement.key], signers);
    return [genesis, { bytes: built.bytes, ledgerIndex: 10, integratedAt: requestedAt }];
  }

  async function recoverAt(
    history: LoggedOperation[],
    time: number,
    signer = replacement,
  ): Promise<LoggedOperation[]> {
    const state = await stateOf(history);
    const built = await buildPersonaRecover(state, signer);
    return [...history, { bytes: built.bytes, ledgerIndex: 20, integratedAt: time }];
  }

  it('M guardian signatures, recovered after the delay: the new (hybrid) key takes over, the old one is out', async () => {
    const requested = await request([guardians[0], guardians[2]]);
    const pending = await verifyHistory(requested, { guardianKeys: didKeyGuardianKeys });
    expect(pending.state.pendingRecovery).toMatchObject({
      rotationKeys: [replacement.key],
      effectiveAt: T0 + 100 + DELAY,
    });
    expect(pending.didDocumentMetadata.pendingRecovery).toEqual({
      versionId: pending.operations[1]?.hash,
      effective: new Date((T0 + 100 + DELAY) * 1000).toISOString().replace('.000Z', 'Z'),
    });

    const recovered = await recoverAt(requested, T0 + 100 + DELAY);
    const verified = await verifyHistory(recovered, { guardianKeys: didKeyGuardianKeys });
    expect(verified.state.rotationKeys).toEqual([replacement.key]);
    expect(verified.state.pendingRecovery).toBeNull();
    expect(verified.state.guardians?.threshold).toBe(2);

    const update = await buildPersonaUpdate(
      verified.state,
      { alsoKnownAs: ['https://recovered.example/'] },
      replacement,
    );
    const afterUpdate = [
      ...recovered,
      { bytes: update.bytes, ledgerIndex: 30, integratedAt: T0 + 2 * DELAY },
    ];
    expect((await stateOf(afterUpdate)).alsoKnownAs).toEqual(['https://recovered.example/']);

    const stale = await buildPersonaUpdate({ ...verified.state, rotationKeys: [holder.key] }, {}, holder);
    await expect(
      verifyHistory([...recovered, { bytes: stale.bytes, ledgerIndex: 30, integratedAt: T0 + 2 * DELAY }], {
        guardianKeys: didKeyGuardianKeys,
      }),
    ).rejects.toMatchObject({ code: 'unauthorized', index: 3 });
  });

  it('M−1 guardian signatures fail', async () => {
    const requested = await request([guardians[1]]);
    await expect(verifyHistory(requested, { guardianKeys: didKeyGuardianKeys })).rejects.toMatchObject({
      code: 'recovery-threshold',
      index: 1,
    });
  });

  it('one guardian signing twice does not count twice; a non-guardian does not count at all', async () => {
    await expect(
      verifyHistory(await request([guardians[0], guardians[0]]), { guardianKeys: didKeyGuardianKeys }),
    ).rejects.toMatchObject({ code: 'malformed', index: 1 });
    const stranger = await guardian();
    await expect(
      verifyHistory(await request([guardians[0], stranger]), { guardianKeys: didKeyGuardianKeys }),
    ).rejects.toMatchObject({ code: 'unauthorized', index: 1 });
  });

  it('a guardian signature by a key the guardian DID does not list, or a bad one, fails', async () => {
    const other = await guardian();
    const wrongKey = { ...guardians[1], key: other.key, sign: other.sign };
    await expect(
      verifyHistory(await request([guardians[0], wrongKey]), { guardianKeys: didKeyGuardianKeys }),
    ).rejects.toMatchObject({ code: 'unauthorized' });
    const badSignature = { ...guardians[1], sign: other.sign };
    await expect(
      verifyHistory(await request([guardians[0], badSignature]), { guardianKeys: didKeyGuardianKeys }),
    ).rejects.toMatchObject({ code: 'invalid-signature' });
  });

  it('recover before the delay fails (one second short)', async () => {
    const requested = await request([guardians[0], guardians[1]]);
    const early = await recoverAt(requested, T0 + 100 + DELAY - 1);
    await expect(verifyHistory(early, { guardianKeys: didKeyGuardianKeys })).rejects.toMatchObject({
      code: 'recovery-delay',
      index: 2,
    });
  });

  it('cancelled by the current holder during the delay: recover fails, the holder keeps control', async () => {
    const requested = await request([guardians[0], guardians[1]]);
    const cancel = await buildPersonaRecoveryCancel(await stateOf(requested), holder);
    const cancelled = [...requested, { bytes: cancel.bytes, ledgerIndex: 15, integratedAt: T0 + 3600 }];
    const state = await stateOf(cancelled);
    expect(state.pendingRecovery).toBeNull();
    expect(state.rotationKeys).toEqual([holder.key]);

    // recover built against the pending state, appended after the cancel (after the delay).
    const recover = await buildPersonaRecover(await stateOf(requested), replacement);
    await expect(
      verifyHistory([...cancelled, { bytes: recover.bytes, ledgerIndex: 20, integratedAt: T0 + 2 * DELAY }], {
        guardianKeys: didKeyGuardianKeys,
      }),
    ).rejects.toMatchObject({ code: 'fork', index: 3 });
    // …and one chained after the cancel has no request to complete.
    const chainedRecover = await buildPersonaRecover(
      { ...state, pendingRecovery: (await stateOf(requested)).pendingRecovery },
      replacement,
    );
    await expect(
      verifyHistory(
        [...cancelled, { bytes: chainedRecover.bytes, ledgerIndex: 20, integratedAt: T0 + 2 * DELAY }],
        {
          guardianKeys: didKeyGuardianKeys,
        },
      ),
    ).rejects.toMatchObject({ code: 'no-pending-recovery', index: 3 });
  });

  it('only the holder may cancel, and only the requested keys may recover', async () => {
    const requested = await request([guardians[0], guardians[1]]);
    const pending = await stateOf(requested);
    const cancelByNewKey = await buildPersonaRecoveryCancel(
      { ...pending, rotationKeys: [replacement.key] },
      replacement,
    );
    await expect(
      verifyHistory(
        [...requested, { bytes: cancelByNewKey.bytes, ledgerIndex: 15, integratedAt: T0 + 3600 }],
        {
          guardianKeys: didKeyGuardianKeys,
        },
      ),
    ).rejects.toMatchObject({ code: 'unauthorized' });
    const recoverByHolder = await buildPersonaRecover(
      {
        ...pending,
        pendingRecovery: { ...(pending.pendingRecovery as PendingRecovery), rotationKeys: [holder.key] },
      },
      holder,
    );
    await expect(
      verifyHistory(
        [...requested, { bytes: recoverByHolder.bytes, ledgerIndex: 20, integratedAt: T0 + 2 * DELAY }],
        {
          guardianKeys: didKeyGuardianKeys,
        },
      ),
    ).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('while a recovery is pending the holder can only cancel', async () => {
    const requested = await request([guardians[0], guardians[1]]);
    const rotate = await buildPersonaRotate(
      await stateOf(requested),
      { rotationKeys: [(await ed25519Signer()).key] },
      holder,
    );
    await expect(
      verifyHistory([...requested, { bytes: rotate.bytes, ledgerIndex: 15, integratedAt: T0 + 3600 }], {
        guardianKeys: didKeyGuardianKeys,
      }),
    ).rejects.toMatchObject({ code: 'recovery-pending', index: 2 });
  });

  it('needs guardians and a guardian key resolver; the holder can remove guardians', async () => {
    const requested = await request([guardians[0], guardians[1]]);
    await expect(verifyHistory(requested)).rejects.toMatchObject({ code: 'guardian-keys-failed' });
    const failing = async () => {
      throw new Error('resolver down');
    };
    await expect(verifyHistory(requested, { guardianKeys: failing })).rejects.toMatchObject({
      code: 'guardian-keys-failed',
    });

    const rotate = await buildPersonaRotate(
      await stateOf([genesis]),
      { rotationKeys: [holder.key], guardians: null },
      holder,
    );
    const noGuardians = [genesis, { bytes: rotate.bytes, ledgerIndex: 5, integratedAt: T0 + 10 }];
    const state = await stateOf(noGuardians);
    expect(state.guardians).toBeNull();
    const orphan = await buildPersonaRecoveryRequest(state, [replacement.key], [guardians[0], guardians[1]]);
    await expect(
      verifyHistory([...noGuardians, { bytes: orphan.bytes, ledgerIndex: 10, integratedAt: T0 + 20 }], {
        guardianKeys: didKeyGuardianKeys,
      }),
    ).rejects.toMatchObject({ code: 'recovery-not-configured', index: 2 });
  });

  it('guardian keys are resolved as of the request (ledger index and time are passed)', async () => {
    const requested = await request([guardians[0], guardians[1]], T0 + 500);
    const seen: Array<{ did: string; ledgerIndex: number; integratedAt: number }> = [];
    await verifyHistory(requested, {
      guardianKeys: async (did, context) => {
        seen.push({ did, ...context });
        return didKeyGuardianKeys(did, context);
      },
    });
    expect(seen).toEqual([
      { did: guardians[0].did, ledgerIndex: 10, integratedAt: T0 + 500 },
      { did: guardians[1].did, ledgerIndex: 10, integratedAt: T0 + 500 },
    ]);
  });

  it('a DID cannot name itself as guardian', async () => {
    const state = await stateOf([genesis]);
    const rotate = await buildPersonaRotate(
      state,
      { rotationKeys: [holder.key], guardians: { dids: [state.did], threshold: 1, delaySeconds: DELAY } },
      holder,
    );
    await expect(
      verifyHistory([genesis, { bytes: rotate.bytes, ledgerIndex: 5, integratedAt: T0 + 10 }]),
    ).rejects.toMatchObject({
      code: 'malformed',
    });
  });
});
