import { describe, expect, it } from 'vitest';
import { maxAgeOf, REMOTE_MAX_AGE_SECONDS, remoteStatusLists } from '../src/modules/status/remote.js';

const URL_A = 'https://status.example/lists/1';

function fakeFetch(answers: Array<{ body: string; headers?: Record<string, string>; status?: number }>) {
  const calls: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    calls.push(String(input));
    const answer = answers.shift();
    if (!answer) throw new Error('no more answers');
    return new Response(answer.body, {
      status: answer.status ?? 200,
      headers: { 'content-type': 'application/ld+json', ...answer.headers },
    });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('remote status lists', () => {
  it('reads max-age, refuses to cache no-store and no-cache, and caps long lives', () => {
    expect(maxAgeOf('public, max-age=30')).toBe(30);
    expect(maxAgeOf('max-age=86400')).toBe(REMOTE_MAX_AGE_SECONDS);
    expect(maxAgeOf('no-store')).toBe(0);
    expect(maxAgeOf('max-age=60, no-cache')).toBe(0);
    expect(maxAgeOf('max-age=0')).toBe(0);
    expect(maxAgeOf('max-age=abc')).toBe(0);
    expect(maxAgeOf(null)).toBe(60);
    expect(maxAgeOf('public')).toBe(60);
  });

  it('returns the same object while the copy is fresh, and fetches again once it is stale', async () => {
    let now = 1_000_000;
    const { fetch, calls } = fakeFetch([
      { body: '{"n":1}', headers: { 'cache-control': 'max-age=10' } },
      { body: '{"n":2}', headers: { 'cache-control': 'no-store' } },
      { body: '{"n":3}' },
    ]);
    const load = remoteStatusLists({ fetch, now: () => now });
    const first = await load(URL_A);
    expect(await load(URL_A)).toBe(first);
    now += 11_000;
    expect(await load(URL_A)).toEqual({ n: 2 });
    expect(await load(URL_A)).toEqual({ n: 3 });
    expect(calls).toEqual([URL_A, URL_A, URL_A]);
  });

  it('refuses errors, other content types, oversize and non-JSON answers', async () => {
    const { fetch } = fakeFetch([
      { body: 'gone', status: 404 },
      { body: '<html/>', headers: { 'content-type': 'text/html' } },
      { body: 'x'.repeat(1024 * 1024 + 1) },
      { body: '{not json' },
    ]);
    const load = remoteStatusLists({ fetch });
    await expect(load(URL_A)).rejects.toThrow('HTTP 404');
    await expect(load(URL_A)).rejects.toThrow('unexpected content type');
    await expect(load(URL_A)).rejects.toThrow('larger than');
    await expect(load(URL_A)).rejects.toThrow(SyntaxError);
  });

  it('fetches only public HTTPS addresses', async () => {
    const load = remoteStatusLists();
    await expect(load('http://status.example/1')).rejects.toThrow('only https');
    await expect(load('https://127.0.0.1/status/1')).rejects.toThrow('not a public address');
  });
});
