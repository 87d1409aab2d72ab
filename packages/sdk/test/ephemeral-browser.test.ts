import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEnvelopeKeyPair } from '@personachain/crypto';
import { keyCommitment } from '@personachain/node';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralClient, EphemeralError, parseEphemeralLink } from '../src/index.js';
import { startTestNode, type TestNode } from './ephemeral-node.js';

/**
 * The ephemeral client in a real browser: the built SDK bundled for the browser by esbuild (a Node
 * built-in in the bundle fails the build), served from its own 127.0.0.1 origin, so every request to
 * the node is cross-origin (CORS preflights included), and driven in Debian's headless Chromium.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[skip] ${CHROMIUM} is missing: the ephemeral browser test is skipped`);

const SDK_DIR = fileURLToPath(new URL('..', import.meta.url));
const BUILT = join(SDK_DIR, 'dist/ephemeral/index.js');

/** What the page exposes as `window.ephemeral`; every call answers plain JSON values. */
const PAGE_ENTRY = `
import { EphemeralClient } from './dist/ephemeral/index.js';
import { generateEnvelopeKeyPair } from '@personachain/crypto';

let keyPair;
const run = async (work) => {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, code: error.code ?? error.name, message: String(error.message) };
  }
};
const receiptJson = (r) => ({ link: r.link, key: r.key, writeToken: r.writeToken, mode: r.mode,
  expiresAt: r.expiresAt.toISOString(), commitment: r.commitment ?? null });

window.ephemeral = {
  nodeCrypto: () => typeof globalThis.process !== 'undefined',
  put: (nodeUrl, text, options = {}) =>
    run(async () => receiptJson(await new EphemeralClient({ nodeUrl }).put(text, options))),
  putTo: (nodeUrl, text, publicKey) =>
    run(async () => receiptJson(await new EphemeralClient({ nodeUrl }).put(text, {
      recipient: { suite: 'X-Wing', publicKey: Uint8Array.from(publicKey) },
    }))),
  get: (nodeUrl, link) => run(() => new EphemeralClient({ nodeUrl }).getText(link)),
  newKeyPair: () => run(async () => {
    keyPair = await generateEnvelopeKeyPair('X-Wing');
    return Array.from(keyPair.publicKey);
  }),
  getWithKeyPair: (nodeUrl, link) =>
    run(() => new EphemeralClient({ nodeUrl }).getText(link, { recipientKey: keyPair })),
  delete: (nodeUrl, key, token) => run(() => new EphemeralClient({ nodeUrl }).delete(key, token)),
  attestations: (nodeUrl, commitment) =>
    run(async () => (await new EphemeralClient({ nodeUrl }).attestations(commitment)).attestations
      .map((a) => ({ reason: a.reason, verified: a.verified }))),
};
`;

type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };
interface BrowserReceipt {
  link: string;
  key: string;
  writeToken: string;
  mode: string;
  expiresAt: string;
  commitment: { keyCommitment: string; salt: string } | null;
}

function value<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`the browser failed: ${outcome.code}: ${outcome.message}`);
  return outcome.value;
}

describe.skipIf(!hasChromium)('the ephemeral client in headless Chromium', () => {
  let node: TestNode;
  let pageServer: Server;
  let pageUrl: string;
  let bundleDir: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let nodeClient: EphemeralClient;

  async function call<T>(method: string, ...args: unknown[]): Promise<Outcome<T>> {
    return page.evaluate(
      ([name, rest]) => {
        const api = (window as unknown as { ephemeral: Record<string, (...a: unknown[]) => unknown> })
          .ephemeral;
        return api[name as string]?.(...(rest as unknown[])) as Promise<Outcome<T>>;
      },
      [method, args] as const,
    );
  }

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} does not exist: run "npx tsc -b packages/sdk" first`);
    node = await startTestNode();
    nodeClient = new EphemeralClient({ nodeUrl: node.url });

    bundleDir = await mkdtemp(join(tmpdir(), 'persona-sdk-bundle-'));
    await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: SDK_DIR, loader: 'js', sourcefile: 'page-entry.js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outfile: join(bundleDir, 'bundle.js'),
      logLevel: 'silent',
    });
    const bundle = await readFile(join(bundleDir, 'bundle.js'));
    const html =
      '<!doctype html><meta charset="utf-8"><title>ephemeral</title><script type="module" src="/bundle.js"></script>';
    pageServer = createServer((request, response) => {
      if (request.url === '/bundle.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      } else if (request.url === '/') {
        response.writeHead(200, { 'content-type': 'text/html' }).end(html);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
    const address = pageServer.address();
    if (typeof address !== 'object' || !address) throw new Error('no port');
    pageUrl = `http://127.0.0.1:${address.port}/`;
    expect(new URL(pageUrl).origin).not.toBe(new URL(node.url).origin);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageUrl);
    await page.waitForFunction(() => 'ephemeral' in window);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
    await node?.close();
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  });

  it('runs without node:crypto', async () => {
    expect(
      await page.evaluate(() =>
        (window as unknown as { ephemeral: { nodeCrypto(): boolean } }).ephemeral.nodeCrypto(),
      ),
    ).toBe(false);
  });

  it('puts in the browser, gets in Node (secret-key mode, read-once)', async () => {
    const receipt = value(await call<BrowserReceipt>('put', node.url, 'from Chromium ✓', { ttl: 300 }));
    expect(parseEphemeralLink(receipt.link)).toMatchObject({
      nodeUrl: node.url,
      mode: 'aes',
      readOnce: false,
    });
    expect(await nodeClient.getText(receipt.link)).toBe('from Chromium ✓');

    const once = value(await call<BrowserReceipt>('put', node.url, 'burn me', { readOnce: true }));
    expect(await nodeClient.getText(once.link)).toBe('burn me');
    await expect(nodeClient.get(once.link)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('puts in Node, gets in the browser; the browser sees a burned link as not-found', async () => {
    const receipt = await nodeClient.put('from Node', { readOnce: true });
    expect(value(await call<string>('get', node.url, receipt.link))).toBe('from Node');
    expect(await call('get', node.url, receipt.link)).toMatchObject({ ok: false, code: 'not-found' });

    const other = await nodeClient.put('keyed');
    const wrongKey = other.link.replace(/k=[A-Za-z0-9_-]{43}/, `k=${'A'.repeat(43)}`);
    expect(await call('get', node.url, wrongKey)).toMatchObject({ ok: false, code: 'wrong-key' });
    expect(value(await call<string>('get', node.url, other.link))).toBe('keyed');
  });

  it('seals to an X-Wing key across runtimes in both directions', async () => {
    const nodeRecipient = await generateEnvelopeKeyPair('X-Wing');
    const toNode = value(
      await call<BrowserReceipt>(
        'putTo',
        node.url,
        'to the Node recipient',
        Array.from(nodeRecipient.publicKey),
      ),
    );
    expect(toNode.mode).toBe('hpke');
    expect(await nodeClient.getText(toNode.link, { recipientKey: nodeRecipient })).toBe(
      'to the Node recipient',
    );

    const browserPublicKey = Uint8Array.from(value(await call<number[]>('newKeyPair')));
    const toBrowser = await nodeClient.put('to the browser recipient', {
      recipient: { suite: 'X-Wing', publicKey: browserPublicKey },
    });
    expect(value(await call<string>('getWithKeyPair', node.url, toBrowser.link))).toBe(
      'to the browser recipient',
    );
    // Node, holding only the public key, cannot open what it sealed.
    await expect(nodeClient.get(toBrowser.link, { recipientKey: nodeRecipient })).rejects.toBeInstanceOf(
      EphemeralError,
    );
  });

  it('sends the compliance salt and deletes with the write token across origins', async () => {
    const receipt = value(await call<BrowserReceipt>('put', node.url, 'regulated', { compliance: true }));
    const commitment = receipt.commitment;
    if (!commitment) throw new Error('no commitment');
    expect(commitment.keyCommitment).toBe(
      keyCommitment(Buffer.from(commitment.salt, 'base64url'), receipt.key),
    );
    expect(await call('delete', node.url, receipt.key, 'A'.repeat(43))).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(value(await call<boolean>('delete', node.url, receipt.key, receipt.writeToken))).toBe(true);
    await expect(nodeClient.get(receipt.link)).rejects.toMatchObject({ code: 'not-found' });
    const answer = await nodeClient.attestations(commitment.keyCommitment);
    expect(answer.attestations.map((a) => [a.reason, a.verified])).toEqual([['deleted', true]]);
    // The browser checks the node's Ed25519 signature itself (noble, no node:crypto).
    expect(value(await call('attestations', node.url, commitment.keyCommitment))).toEqual([
      { reason: 'deleted', verified: true },
    ]);
    expect(pageErrors).toEqual([]);
  });
});
