import { generateEnvelopeKeyPair, sealDetached } from '@personachain/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DocumentOpener, UnreadableDocument } from '../src/modules/kyc/document-opener.js';

// Sealed uploads are opened on a thread of their own; what comes back must be exactly what was sealed,
// and a failure must fail the call, not the process.

const encoder = new TextEncoder();

async function sealed(recipient: { suite: 'X-Wing'; publicKey: Uint8Array }, text: string, aad: string) {
  const envelope = await sealDetached(recipient, encoder.encode(text), { aad: encoder.encode(aad) });
  return { ...envelope, aad: encoder.encode(aad) };
}

describe('the document thread', () => {
  let opener: DocumentOpener | undefined;
  afterEach(async () => {
    await opener?.close();
    opener = undefined;
  });

  it('opens the documents of several projects, each in the order asked', async () => {
    opener = new DocumentOpener();
    const projects = await Promise.all([
      generateEnvelopeKeyPair('X-Wing'),
      generateEnvelopeKeyPair('X-Wing'),
    ]);
    const calls = projects.flatMap((keyPair, project) =>
      [0, 1, 2].map(async (call) => {
        const texts = [`front ${project}.${call}`, `{"fields":${project}${call}}`];
        const documents = await Promise.all(texts.map((text, i) => sealed(keyPair, text, `aad ${i}`)));
        const plain = await (opener as DocumentOpener).open(keyPair, documents);
        expect(plain.map((bytes) => new TextDecoder().decode(bytes))).toEqual(texts);
      }),
    );
    await Promise.all(calls);
  });

  it('fails a call whose document does not open, and goes on opening others', async () => {
    opener = new DocumentOpener();
    const keyPair = await generateEnvelopeKeyPair('X-Wing');
    const good = await sealed(keyPair, 'good', 'slot a');
    const moved = { ...(await sealed(keyPair, 'moved', 'slot a')), aad: encoder.encode('slot b') };
    // Never openable: said so, and told apart from a thread that failed.
    await expect(opener.open(keyPair, [good, moved])).rejects.toBeInstanceOf(UnreadableDocument);
    const other = await generateEnvelopeKeyPair('X-Wing');
    await expect(opener.open(other, [good])).rejects.toBeInstanceOf(UnreadableDocument);
    expect((await opener.open(keyPair, [good])).map((bytes) => new TextDecoder().decode(bytes))).toEqual([
      'good',
    ]);
  });

  it('fails what a dying thread held, starts another, and refuses calls once closed', async () => {
    opener = new DocumentOpener();
    const keyPair = await generateEnvelopeKeyPair('X-Wing');
    const document = await sealed(keyPair, 'text', 'aad');
    await opener.open(keyPair, [document]);
    const thread = (opener as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread;
    const exited = thread.worker.terminate();
    const held = opener.open(keyPair, [document]);
    await exited;
    await expect(held).rejects.toThrow(/document thread exited/);
    await expect(held).rejects.not.toBeInstanceOf(UnreadableDocument);
    expect(await opener.open(keyPair, [document])).toHaveLength(1);
    await opener.close();
    await expect(opener.open(keyPair, [document])).rejects.toThrow(/closed/);
  });
});
