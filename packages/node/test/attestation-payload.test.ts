import { randomBytes } from 'node:crypto';
import { toBase64Url } from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import { keyCommitment } from '../src/attestation/commitment.js';
import { attestationSigningBytes, signAttestation, verifyAttestation } from '../src/attestation/payload.js';
import { testSigner } from './attestation-helpers.js';

const commitment = keyCommitment(new Uint8Array(16).fill(7), 'reports/2026/q4');
const at = Date.UTC(2026, 10, 21, 12, 0, 0, 123);

describe('deletion attestation payload', () => {
  it('signs the exact documented bytes', async () => {
    const signer = await testSigner();
    const a = await signAttestation(signer, { keyCommitment: commitment, deletedAt: at, reason: 'expired' });
    expect(a).toMatchObject({
      keyCommitment: commitment,
      deletedAt: '2026-11-21T12:00:00.123Z',
      reason: 'expired',
      nodeId: signer.nodeId,
    });
    expect(new TextDecoder().decode(attestationSigningBytes(a))).toBe(
      `persona-ephemeral-deletion/v1\n{"deletedAt":"2026-11-21T12:00:00.123Z","keyCommitment":"${commitment}","nodeId":"${signer.nodeId}","reason":"expired"}`,
    );
    expect(await verifyAttestation(a)).toEqual({ valid: true });
  });

  it('rejects every tampered field', async () => {
    const signer = await testSigner();
    const a = await signAttestation(signer, { keyCommitment: commitment, deletedAt: at, reason: 'deleted' });
    const other = keyCommitment(new Uint8Array(16).fill(8), 'reports/2026/q4');
    for (const tampered of [
      { ...a, keyCommitment: other },
      { ...a, deletedAt: '2026-11-21T12:00:00.124Z' },
      { ...a, reason: 'expired' },
      { ...a, signature: toBase64Url(randomBytes(64)) },
    ]) {
      const check = await verifyAttestation(tampered);
      expect(check.valid, JSON.stringify(tampered)).toBe(false);
    }
  });

  it("rejects another node's signature and non-Ed25519 or malformed node ids", async () => {
    const [a1, a2] = [await testSigner(), await testSigner()];
    const signed = await signAttestation(a1, { keyCommitment: commitment, deletedAt: at, reason: 'burned' });
    expect(await verifyAttestation({ ...signed, nodeId: a2.nodeId })).toEqual({
      valid: false,
      error: 'the signature does not match the node key and payload',
    });
    expect((await verifyAttestation({ ...signed, nodeId: 'not-a-peer-id' })).valid).toBe(false);
    // A CIDv1 of an RSA-style (sha256) peer id carries no inline key.
    expect(
      (await verifyAttestation({ ...signed, nodeId: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }))
        .valid,
    ).toBe(false);
  });

  it('rejects malformed shapes with a reason', async () => {
    const signer = await testSigner();
    const a = await signAttestation(signer, { keyCommitment: commitment, deletedAt: at, reason: 'expired' });
    const cases: Array<[unknown, RegExp]> = [
      [null, /JSON object/],
      [[a], /JSON object/],
      [{ ...a, extra: 1 }, /unexpected field/],
      [{ ...a, keyCommitment: 'short' }, /keyCommitment/],
      [{ ...a, deletedAt: '2026-11-21T12:00:00Z' }, /deletedAt/],
      [{ ...a, deletedAt: '2026-02-30T12:00:00.000Z' }, /real instant/],
      [{ ...a, reason: 'evicted' }, /reason/],
      [{ ...a, signature: `${a.signature.slice(0, 85)}B` }, /signature/],
    ];
    for (const [value, message] of cases) {
      const check = await verifyAttestation(value);
      expect(check.valid).toBe(false);
      if (!check.valid) expect(check.error).toMatch(message);
    }
  });
});
