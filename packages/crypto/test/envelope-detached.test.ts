import { describe, expect, it } from 'vitest';
import { generateEnvelopeKeyPair, openDetached, sealDetached } from '../src/index.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('detached envelopes (ciphertext apart from its sealed data key)', () => {
  it('round-trips and binds both parts to the aad', async () => {
    const recipient = await generateEnvelopeKeyPair('X-Wing');
    const aad = text('vrf_1|vat_1|document-front');
    const payload = text('passport scan bytes');
    const sealed = await sealDetached(recipient, payload, { aad });
    expect(sealed.ciphertext.length).toBe(payload.length + 28);
    expect(await openDetached(recipient, sealed, { aad })).toEqual(payload);
    await expect(openDetached(recipient, sealed, { aad: text('vrf_1|vat_1|selfie') })).rejects.toMatchObject({
      code: 'decryption-failed',
    });
  });

  it('a ciphertext does not open with the sealed key of another payload', async () => {
    const recipient = await generateEnvelopeKeyPair('X-Wing');
    const one = await sealDetached(recipient, text('one'));
    const two = await sealDetached(recipient, text('two'));
    await expect(
      openDetached(recipient, { sealedKey: one.sealedKey, ciphertext: two.ciphertext }),
    ).rejects.toMatchObject({ code: 'decryption-failed' });
  });

  it('only the recipient opens it', async () => {
    const recipient = await generateEnvelopeKeyPair('X-Wing');
    const other = await generateEnvelopeKeyPair('X-Wing');
    const sealed = await sealDetached(recipient, text('secret'));
    await expect(openDetached(other, sealed)).rejects.toMatchObject({ code: 'decryption-failed' });
  });
});
