import { signatureScheme } from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import {
  addNoteSignatures,
  cosignatureSigner,
  cosignatureVerifier,
  formatCheckpoint,
  generateNoteKey,
  hashLeaf,
  LedgerError,
  type NoteSigner,
  noteSigner,
  noteVerifier,
  openNote,
  parseCheckpoint,
  parseNote,
  signNote,
  verifierKeyFor,
} from '../src/index.js';
import { b64, fromHex, hex } from './reference.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

async function rejects(promise: Promise<unknown>, code?: string): Promise<LedgerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LedgerError);
  if (code) expect((error as LedgerError).code).toBe(code);
  return error as LedgerError;
}

// V4: golang.org/x/mod/sumdb/note test vectors.
const V4_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const V4_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const V4_VKEY2 = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const V4_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const V4_LINE =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const V4_LINE2 =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const V4_NOTE = `${V4_TEXT}\n${V4_LINE}`;

// V6: real sum.golang.org checkpoints.
const V6_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const V6_NOTE =
  'go.sum database tree\n63096908\n8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=\n\n' +
  '— sum.golang.org Az3gri/oVBN1jAhNZ/iS+W31psFAWRT20/GyrhpU6taFwulQGetBkH5S7wpGXdS935jiIGiUUAXBVHzT/P6fYhqAmAk=\n';
const V6_NOTE2 =
  'go.sum database tree\n15081221\nBoMMe1wd25Tco0mYGROkyqxHZWx+hcSCtMV315Lu6Lg=\n\n' +
  '— sum.golang.org Az3grilD7vQqTrv66jRgKM84Y80KTprrSt4bKmiOPxgmS5ZVBTeCl6dUvjYnN13R+C8j0jGY1WnUADGMkok3U0m2Zgo=\n' +
  '— test.example.com qTGhC3917mAr6hGh+T55tNjxaej/D/GQivJZRIj7XGdAcQOTqfMWIPgp/v/904LEduN/h2sSRtHUJXUL4b9Gm7Bz4Qc=\n';

// V7: checkpoint over V1's 8 leaves, signed with the published Go sumdb test key.
const V7_SKEY = 'PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk';
const V7_VKEY = 'localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6';
const V7_TEXT = 'example.com/trust-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n';
const V7_NOTE = `${V7_TEXT}\n— localhost.localdev/sumdb AAAMZ9pXCvYz9p9Jl5GcnUwdmbZGABi4bPkMmMKG63PFv0QbtrGxt++h3cYu1u5wESxo/6Qo3ooemUUgW1YIOEyYHA0=\n`;

// V8: Ed25519 cosignature (type 0x04).
const V8_NAME = 'witness.example/w1';
const V8_SEED = new Uint8Array(32).fill(0x42);
const V8_VKEY = 'witness.example/w1+f1ed8c47+BCFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS';
const V8_TIME = 1679315147;
const V8_LINE =
  '— witness.example/w1 8e2MRwAAAABkGFDL8S1q3rV55nCxPLdSlHtmyb7MyRTKTL3uO7PVNb1zQ0ths3k1qT+hs3Lu1tYM0D/PdD1nqDX87xwEotiSbb7fCw==\n';

describe('checkpoints', () => {
  it('formats the Go tlog golden checkpoint (V6)', () => {
    const text = formatCheckpoint({
      origin: 'go.sum database tree',
      size: 123456789012,
      root: hashLeaf(utf8('hello world')),
      extensions: [],
    });
    expect(text).toBe('go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n');
    expect(parseCheckpoint(text)).toEqual({
      origin: 'go.sum database tree',
      size: 123456789012,
      root: hashLeaf(utf8('hello world')),
      extensions: [],
    });
  });

  it('round-trips extension lines and the empty tree', () => {
    const c = {
      origin: 'example.com/log',
      size: 0,
      root: fromHex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
      extensions: ['ext 1', 'two'],
    };
    expect(parseCheckpoint(formatCheckpoint(c))).toEqual(c);
    expect(formatCheckpoint(c)).toBe(
      'example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next 1\ntwo\n',
    );
  });

  it('parses strictly', () => {
    const root = 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=';
    for (const bad of [
      `o\n8\n${root}`, // no final newline
      `o\n8\n`, // no root
      `\n8\n${root}\n`, // empty origin
      `o\n08\n${root}\n`, // leading zero
      `o\n-1\n${root}\n`,
      `o\n+8\n${root}\n`,
      `o\n 8\n${root}\n`,
      `o\n9007199254740992\n${root}\n`, // beyond 2^53 - 1
      `o\n8\n${root.slice(0, -1)}\n`, // bad padding
      `o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n`, // non-canonical trailing bits
      `o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ==\n`, // 31 bytes
      `o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n`, // base64url
      `o\n8\n${root}\n\n`, // empty extension line
      `o\n8\n${root}\next\u0007\n`, // control character
      `o\r\n8\n${root}\n`,
    ]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(LedgerError);
    }
  });

  it('refuses to format invalid checkpoints', () => {
    const root = new Uint8Array(32);
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root, extensions: [] })).toThrow(LedgerError);
    expect(() => formatCheckpoint({ origin: 'a', size: -1, root, extensions: [] })).toThrow(LedgerError);
    expect(() =>
      formatCheckpoint({ origin: 'a', size: 1, root: new Uint8Array(31), extensions: [] }),
    ).toThrow(LedgerError);
    expect(() => formatCheckpoint({ origin: 'a', size: 1, root, extensions: [''] })).toThrow(LedgerError);
  });
});

describe('signed notes, Go interop', () => {
  it('opens the V4 note and reproduces Go signature bytes', async () => {
    const verifier = noteVerifier(V4_VKEY);
    expect(verifier.keyId).toBe(0xc74f20a3);
    expect(await openNote(V4_NOTE, [verifier])).toEqual({
      text: V4_TEXT,
      verified: [{ name: 'PeterNeumann', keyId: 0xc74f20a3 }],
    });
    const signer = await noteSigner(V4_SKEY);
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(await signNote(V4_TEXT, [signer])).toBe(V4_NOTE);
  });

  it('opens the doubly signed V4 note with either or both keys', async () => {
    const note = `${V4_NOTE}${V4_LINE2}`;
    const both = await openNote(note, [noteVerifier(V4_VKEY), noteVerifier(V4_VKEY2)]);
    expect(both.verified.map((v) => v.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect((await openNote(note, [noteVerifier(V4_VKEY2)])).verified).toEqual([
      { name: 'EnochRoot', keyId: 0xaf0cfe78 },
    ]);
  });

  it('opens the C2SP signed-note example (V5)', async () => {
    const note =
      'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    const opened = await openNote(note, [
      noteVerifier('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'),
    ]);
    expect(opened.text).toBe('This is an example message.\n');
  });

  it('verifies real sum.golang.org checkpoints and ignores unknown signatures (V6)', async () => {
    const verifier = noteVerifier(V6_VKEY);
    const opened = await openNote(V6_NOTE, [verifier]);
    expect(parseCheckpoint(opened.text).size).toBe(63096908);
    const second = await openNote(V6_NOTE2, [verifier]);
    expect(second.verified).toEqual([{ name: 'sum.golang.org', keyId: 0x033de0ae }]);
    expect(parseCheckpoint(second.text).origin).toBe('go.sum database tree');
  });

  it('rejects a V6 checkpoint whose size was changed', async () => {
    await rejects(
      openNote(V6_NOTE.replace('63096908', '63096909'), [noteVerifier(V6_VKEY)]),
      'bad-signature',
    );
  });

  it('signs the V7 checkpoint byte-identically to Go', async () => {
    const signer = await noteSigner(V7_SKEY);
    expect(signer.keyId).toBe(0x00000c67);
    expect(await signNote(V7_TEXT, [signer])).toBe(V7_NOTE);
    const opened = await openNote(V7_NOTE, [noteVerifier(V7_VKEY)]);
    expect(parseCheckpoint(opened.text)).toEqual({
      origin: 'example.com/trust-log',
      size: 8,
      root: fromHex('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'),
      extensions: [],
    });
  });

  it('generates Go-format keys that sign and verify', async () => {
    const { signerKey, verifierKey } = await generateNoteKey('example.com/log');
    expect(signerKey).toMatch(/^PRIVATE\+KEY\+example\.com\/log\+[0-9a-f]{8}\+/);
    expect(verifierKey).toMatch(/^example\.com\/log\+[0-9a-f]{8}\+/);
    expect(signerKey.split('+')[3]).toBe(verifierKey.split('+')[1]);
    const seed = b64(signerKey.split('+').slice(4).join('+'));
    const pub = b64(verifierKey.split('+').slice(2).join('+'));
    expect([seed.length, seed[0], pub.length, pub[0]]).toEqual([33, 1, 33, 1]);
    const note = await signNote(V7_TEXT, [await noteSigner(signerKey)]);
    expect((await openNote(note, [noteVerifier(verifierKey)])).text).toBe(V7_TEXT);
  });

  it('builds verifier keys from raw public keys', async () => {
    const publicKey = await signatureScheme('Ed25519').publicKeyFromSecretKey(
      b64(V4_SKEY.split('+').slice(4).join('+')).subarray(1),
    );
    expect(verifierKeyFor('PeterNeumann', publicKey)).toBe(V4_VKEY);
    expect(
      verifierKeyFor(V8_NAME, await signatureScheme('Ed25519').publicKeyFromSecretKey(V8_SEED), 0x04),
    ).toBe(V8_VKEY);
  });
});

describe('note verification rules', () => {
  const verifiers = () => [noteVerifier(V4_VKEY)];

  it('needs at least one verified signature', async () => {
    await rejects(openNote(V4_NOTE, [noteVerifier(V4_VKEY2)]), 'no-verified-signature');
    await rejects(openNote(V4_NOTE, []), 'no-verified-signature');
  });

  it('ignores a signature from a key with the same name but another key ID', async () => {
    const foreign = V4_LINE.replace('x08go/', 'x08gp/');
    await rejects(openNote(`${V4_TEXT}\n${foreign}`, verifiers()), 'no-verified-signature');
  });

  it('rejects a note whose known signature does not verify', async () => {
    const broken = V4_LINE.replace('BwJnAM=', 'BwJnAA=');
    await rejects(openNote(`${V4_TEXT}\n${broken}`, verifiers()), 'bad-signature');
    await rejects(
      openNote(`${V4_TEXT.replace('problem,', 'problem;')}\n${V4_LINE}`, verifiers()),
      'bad-signature',
    );
  });

  it('treats a wrong-length signature from a known key as bad, not as a crash', async () => {
    const short = `— PeterNeumann ${Buffer.from(Uint8Array.of(0xc7, 0x4f, 0x20, 0xa3, 1, 2, 3)).toString('base64')}\n`;
    await rejects(openNote(`${V4_TEXT}\n${short}`, verifiers()), 'bad-signature');
  });

  it('rejects malformed notes with LedgerError', async () => {
    const sig = V4_LINE.slice(0, -1);
    const cases: Record<string, string> = {
      'no blank line': `${V4_TEXT}${V4_LINE}`,
      'no signatures': `${V4_TEXT}\n`,
      'missing final newline': `${V4_TEXT}\n${sig}`,
      'bad base64': `${V4_TEXT}\n— PeterNeumann x08go/ZJkuBS9U!\n`,
      'unpadded base64': `${V4_TEXT}\n${sig.replace(/=$/, '')}\n`,
      'no em dash': `${V4_TEXT}\n- PeterNeumann ${sig.split(' ')[2]}\n`,
      'no signature after name': `${V4_TEXT}\n— PeterNeumann\n`,
      'empty signature': `${V4_TEXT}\n— PeterNeumann \n`,
      'name with plus': `${V4_TEXT}\n— Peter+Neumann ${sig.split(' ')[2]}\n`,
      'name with no-break space': `${V4_TEXT}\n— Peter\u00a0Neumann ${sig.split(' ')[2]}\n`,
      'double space': `${V4_TEXT}\n— PeterNeumann  ${sig.split(' ')[2]}\n`,
      'short signature': `${V4_TEXT}\n— PeterNeumann AAAAAA==\n`,
      'control character in text': `If you\u0001 think\n\n${V4_LINE}`,
      'carriage return': `${V4_TEXT}\n${sig}\r\n`,
      'tab in text': `a\tb\n\n${V4_LINE}`,
      'lone surrogate': `a\ud800\n\n${V4_LINE}`,
      'duplicate line': `${V4_NOTE}${V4_LINE}`,
      'duplicate key with another signature': `${V4_NOTE}${V4_LINE.replace('BwJnAM=', 'BwJnAA=')}`,
      'blank line among signatures': `${V4_NOTE}\n${V4_LINE2}`,
      'too many signatures': `${V4_TEXT}\n${V4_LINE}${Array.from({ length: 100 }, (_, i) => `— other${i} ${sig.split(' ')[2]}\n`).join('')}`,
    };
    for (const [what, note] of Object.entries(cases)) {
      const error = await openNote(note, verifiers()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(LedgerError);
    }
    await rejects(openNote(42 as unknown as string, verifiers()), 'malformed');
  });

  it('accepts 100 signature lines (Go limit) with unknown ones ignored', async () => {
    const others = Array.from({ length: 99 }, (_, i) => `— other${i} ${V4_LINE.split(' ')[2]}`).join('');
    const opened = await openNote(`${V4_NOTE}${others}`, verifiers());
    expect(opened.verified).toHaveLength(1);
  });

  it('rejects malformed keys and refuses bad signer names', async () => {
    for (const bad of [
      'PeterNeumann+c74f20a3', // no key
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // wrong key ID
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // space
      '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // empty name
      'PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // 7 hex digits
      'PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // type 0x02
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10', // 31-byte key
      'PeterNeumann+c74f20a3+!!!!',
    ]) {
      expect(() => noteVerifier(bad), bad).toThrow(LedgerError);
    }
    await rejects(noteSigner(V4_VKEY), 'invalid-argument');
    await rejects(noteSigner(V4_SKEY.replace('c74f20a3', 'c74f20a4')), 'invalid-argument');
    await rejects(noteSigner('PRIVATE+KEY+PeterNeumann+c74f20a3+AQ=='), 'invalid-argument');
    const signer = await noteSigner(V4_SKEY);
    await rejects(signNote(V4_TEXT, [{ ...signer, name: 'bad name' }]), 'invalid-argument');
    await rejects(signNote('no final newline', [signer]), 'invalid-argument');
    await rejects(signNote('bad\u0000text\n', [signer]), 'invalid-argument');
    await rejects(signNote(V4_TEXT, []), 'invalid-argument');
    await rejects(generateNoteKey('a+b'), 'invalid-argument');
  });

  it('adds signatures, replacing a line from the same key (as Go does)', async () => {
    const peter = await noteSigner(V4_SKEY);
    const other = await generateNoteKey('EnochRoot');
    const enoch = await noteSigner(other.signerKey);
    const twice = await addNoteSignatures(V4_NOTE, [enoch]);
    expect(twice.startsWith(V4_NOTE)).toBe(true);
    const again = await addNoteSignatures(twice, [peter]);
    expect(parseNote(again).signatures.map((s) => s.name)).toEqual(['EnochRoot', 'PeterNeumann']);
    const opened = await openNote(again, [noteVerifier(V4_VKEY), noteVerifier(other.verifierKey)]);
    expect(opened.verified).toHaveLength(2);
  });

  it('rejects two verifiers for the same key', async () => {
    await rejects(openNote(V4_NOTE, [noteVerifier(V4_VKEY), noteVerifier(V4_VKEY)]), 'invalid-argument');
  });
});

describe('tlog-cosignature (V8)', () => {
  it('produces the exact V8 cosignature line and key', async () => {
    const signer = await cosignatureSigner(V8_NAME, V8_SEED, () => V8_TIME);
    expect(signer.keyId).toBe(0xf1ed8c47);
    const cosigned = await addNoteSignatures(V7_NOTE, [signer]);
    expect(cosigned).toBe(`${V7_NOTE}${V8_LINE}`);
  });

  it('signs exactly the cosignature/v1 message', async () => {
    const blob = b64(V8_LINE.slice(V8_LINE.lastIndexOf(' ') + 1, -1));
    expect(blob).toHaveLength(76);
    expect(hex(blob.subarray(4, 12))).toBe('00000000641850cb');
    const scheme = signatureScheme('Ed25519');
    const message = utf8(`cosignature/v1\ntime 1679315147\n${V7_TEXT}`);
    expect(
      await scheme.verify(await scheme.publicKeyFromSecretKey(V8_SEED), message, blob.subarray(12)),
    ).toBe(true);
  });

  it('verifies cosignatures and reports their timestamps', async () => {
    const cosigned = `${V7_NOTE}${V8_LINE}`;
    const opened = await openNote(cosigned, [noteVerifier(V7_VKEY), cosignatureVerifier(V8_VKEY)]);
    expect(opened.verified).toEqual([
      { name: 'localhost.localdev/sumdb', keyId: 0x00000c67 },
      { name: V8_NAME, keyId: 0xf1ed8c47, timestamp: V8_TIME },
    ]);
    // noteVerifier accepts 0x04 keys too; a log key alone ignores the cosignature.
    expect((await openNote(cosigned, [noteVerifier(V8_VKEY)])).verified[0]?.timestamp).toBe(V8_TIME);
    expect((await openNote(cosigned, [noteVerifier(V7_VKEY)])).verified).toHaveLength(1);
  });

  it('rejects a cosignature whose timestamp was changed', async () => {
    const blob = b64(V8_LINE.slice(V8_LINE.lastIndexOf(' ') + 1, -1));
    blob[11] = (blob[11] as number) ^ 1;
    const line = `— ${V8_NAME} ${Buffer.from(blob).toString('base64')}\n`;
    await rejects(openNote(`${V7_NOTE}${line}`, [cosignatureVerifier(V8_VKEY)]), 'bad-signature');
  });

  it('cosigns only checkpoints, with sane timestamps', async () => {
    const bad: NoteSigner = await cosignatureSigner(V8_NAME, V8_SEED, () => -1);
    await rejects(bad.sign(V7_TEXT), 'invalid-argument');
    const signer = await cosignatureSigner(V8_NAME, V8_SEED, () => V8_TIME);
    await rejects(signer.sign('not a checkpoint\n'), 'malformed');
    expect(() => cosignatureVerifier(V7_VKEY)).toThrow(LedgerError);
  });
});
