import { describe, expect, it } from 'vitest';
import { DidError, isDid, parseDid, parseDidUrl } from '../src/index.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(DidError);
    return (error as DidError).code;
  }
}

describe('DID syntax (DID Core 1.0 §3.1)', () => {
  it('parses method and method-specific id', () => {
    expect(parseDid('did:example:123456789abcdefghi')).toEqual({
      did: 'did:example:123456789abcdefghi',
      method: 'example',
      methodSpecificId: '123456789abcdefghi',
    });
    expect(parseDid('did:web:example.com%3A3000:user:alice').methodSpecificId).toBe(
      'example.com%3A3000:user:alice',
    );
    expect(parseDid('did:example::a').methodSpecificId).toBe(':a'); // empty colon-separated parts are allowed
  });

  for (const [did, why] of [
    ['did:key', 'no method-specific id'],
    ['did::abc', 'empty method'],
    ['did:Key:abc', 'uppercase method'],
    ['did:ex-ample:abc', 'hyphen in method'],
    ['DID:example:abc', 'uppercase scheme'],
    ['did:example:', 'empty id'],
    ['did:example:abc:', 'trailing colon'],
    ['did:example:a b', 'space'],
    ['did:example:a%2', 'truncated percent-encoding'],
    ['did:example:a%zz', 'bad percent-encoding'],
    ['did:key:@', '@ (did-key test suite)'],
    ['did:example:abc#frag', 'a fragment makes it a DID URL'],
    ['did:example:abc/path', 'a path makes it a DID URL'],
    [`did:example:${'a'.repeat(9000)}`, 'too long'],
  ]) {
    it(`rejects ${did.slice(0, 30)} (${why}) with invalidDid`, () => {
      expect(code(() => parseDid(did as string))).toBe('invalidDid');
      expect(isDid(did)).toBe(false);
    });
  }

  it('rejects non-strings', () => {
    expect(code(() => parseDid(42 as unknown as string))).toBe('invalidDid');
    expect(isDid(undefined)).toBe(false);
  });
});

describe('DID URL syntax (DID Core 1.0 §3.2)', () => {
  it('splits path, query and fragment', () => {
    expect(parseDidUrl('did:example:123/path/to?service=agent&relativeRef=/x#key-1')).toEqual({
      didUrl: 'did:example:123/path/to?service=agent&relativeRef=/x#key-1',
      did: 'did:example:123',
      method: 'example',
      methodSpecificId: '123',
      path: '/path/to',
      query: 'service=agent&relativeRef=/x',
      fragment: 'key-1',
    });
    const bare = parseDidUrl('did:example:123');
    expect(bare.path).toBe('');
    expect(bare.query).toBeUndefined();
    expect(bare.fragment).toBeUndefined();
    expect(parseDidUrl('did:example:123?#').query).toBe('');
    expect(parseDidUrl('did:example:123?#').fragment).toBe('');
  });

  it('rejects characters RFC 3986 does not allow with invalidDidUrl (did-key test suite case)', () => {
    const did = 'did:key:z6MktKwz7Ge1Yxzr4JHavN33wiwa8y81QdcMRLXQsrH9T53b';
    expect(code(() => parseDidUrl(`${did}/^bar^/?query=\`#z6Mk`))).toBe('invalidDidUrl');
    expect(code(() => parseDidUrl(`${did}#a#b`))).toBe('invalidDidUrl');
    expect(code(() => parseDidUrl(`${did}?a b`))).toBe('invalidDidUrl');
    expect(code(() => parseDidUrl('did:Key:abc#x'))).toBe('invalidDidUrl');
    expect(code(() => parseDidUrl('https://example.com/#x'))).toBe('invalidDidUrl');
  });
});
