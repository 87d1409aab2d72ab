import { describe, expect, it } from 'vitest';
import { type ConnectorConfig, compileConfig, renderRequest } from '../src/modules/connectors/config.js';
import { claimsProblem, syntaxError } from '../src/modules/connectors/expressions.js';
import {
  parseTemplate,
  renderBody,
  renderHeaderValue,
  TemplateInputError,
  TemplateSyntaxError,
} from '../src/modules/connectors/template.js';
import { parseUrlTemplate, renderUrl, UrlTemplateError } from '../src/modules/connectors/url-template.js';

const context = {
  input: { phone: '+1 555/0100?x#y', n: 7, ok: true, person: { name: 'Ann', tags: ['a'] }, empty: '' },
  secrets: { key: 's3cr3t' },
};

function config(overrides: Partial<ConnectorConfig> = {}): ConnectorConfig {
  return {
    method: 'GET',
    urlTemplate: 'https://phone.example.com/verify?phone={{input.phone}}',
    headers: [{ name: 'X-RapidAPI-Key', value: '{{secrets.key}}' }],
    timeoutMs: 1000,
    rateLimit: { perSecond: 10, burst: 20 },
    quota: {},
    ...overrides,
  };
}

function inputError(work: () => unknown): TemplateInputError {
  try {
    work();
  } catch (error) {
    if (error instanceof TemplateInputError) return error;
    throw error;
  }
  throw new Error('expected a TemplateInputError');
}

describe('connector templates', () => {
  it('parses placeholders with dotted paths and refuses anything else', () => {
    expect(parseTemplate('a {{ input.x.y }} b {{secrets.k}}')).toEqual([
      'a ',
      { root: 'input', path: ['x', 'y'] },
      ' b ',
      { root: 'secrets', path: ['k'] },
    ]);
    for (const bad of [
      '{{env.HOME}}',
      '{{input}}',
      '{{secrets.a.b}}',
      '{{input.a b}}',
      'x {{input.a',
      'x }} y',
      '{{input.__proto__()}}',
    ]) {
      expect(() => parseTemplate(bad), bad).toThrow(TemplateSyntaxError);
    }
  });

  it('percent-encodes every value in a URL so input cannot change its shape', () => {
    const url = renderUrl(
      parseUrlTemplate(
        'https://api.example.com/v1/{{input.n}}/check?phone={{input.phone}}&k={{secrets.key}}',
        [],
      ),
      context,
    );
    expect(url.href).toBe('https://api.example.com/v1/7/check?phone=%2B1%20555%2F0100%3Fx%23y&k=s3cr3t');
    const evil = { ...context, input: { id: '@evil.example.com/x' } };
    expect(renderUrl(parseUrlTemplate('https://api.example.com/{{input.id}}', []), evil).host).toBe(
      'api.example.com',
    );
  });

  it('refuses input that would climb the URL path', () => {
    const template = parseUrlTemplate('https://api.example.com/v1/users/{{input.id}}/profile', []);
    for (const id of ['..', '.']) {
      const error = inputError(() => renderUrl(template, { input: { id }, secrets: {} }));
      expect(error.pointer).toBe('#/input/id');
    }
    expect(renderUrl(template, { input: { id: '...' }, secrets: {} }).pathname).toBe('/v1/users/.../profile');
    // Percent signs are encoded too, so an encoded dot segment stays a literal value.
    expect(renderUrl(template, { input: { id: '%2e%2E' }, secrets: {} }).pathname).toBe(
      '/v1/users/%252e%252E/profile',
    );
  });

  it('names the missing input path, and refuses objects where text goes', () => {
    const template = parseUrlTemplate('https://api.example.com/{{input.person.id}}', []);
    const missing = inputError(() => renderUrl(template, context));
    expect(missing.message).toBe('input.person.id is required');
    expect(missing.pointer).toBe('#/input/person/id');
    const object = inputError(() => renderHeaderValue(parseTemplate('{{input.person}}'), context));
    expect(object.message).toMatch(/must be a string, number or boolean/);
    // Inherited properties are not input.
    expect(() => renderHeaderValue(parseTemplate('{{input.constructor}}'), context)).toThrow(
      TemplateInputError,
    );
  });

  it('inserts header values as is but refuses CR/LF from input', () => {
    expect(renderHeaderValue(parseTemplate('Bearer {{secrets.key}}'), context)).toBe('Bearer s3cr3t');
    const injected = { input: { v: 'x\r\nX-Evil: 1' }, secrets: {} };
    expect(inputError(() => renderHeaderValue(parseTemplate('{{input.v}}'), injected)).pointer).toBe(
      '#/input/v',
    );
  });

  it('renders body templates: a lone placeholder keeps its JSON type, others are text', () => {
    const body = renderBody(
      {
        person: '{{input.person}}',
        n: '{{ input.n }}',
        ok: '{{input.ok}}',
        text: 'n={{input.n}} p={{input.person}}',
        list: ['{{input.empty}}', 3, null],
        '{{input.n}}': 'keys are literal',
      },
      context,
    );
    expect(body).toEqual({
      person: { name: 'Ann', tags: ['a'] },
      n: 7,
      ok: true,
      text: 'n=7 p={"name":"Ann","tags":["a"]}',
      list: ['', 3, null],
      '{{input.n}}': 'keys are literal',
    });
  });
});

describe('connector URL origins (SSRF at configuration time)', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', /must use https/],
    ['https://169.254.169.254/latest/meta-data/', /not a public address/],
    ['https://10.0.0.5/', /not a public address/],
    ['https://[::1]/', /not a public address/],
    ['https://[::ffff:127.0.0.1]/x', /not a public address/],
    ['https://2130706433/', /not a public address/],
    ['https://0x7f.1/', /not a public address/],
    ['http://example.com/', /must use https/],
    ['ftp://example.com/', /must use https/],
    ['https://user:pw@example.com/', /credentials/],
    ['https://{{input.host}}/x', /not in its scheme or host/],
    ['https://api.example.com{{input.x}}', /not in its scheme or host/],
    ['https://api.example.com/a/../b', /path segments/],
    ['/relative/{{input.x}}', /absolute URL/],
  ])('refuses %s', (url, reason) => {
    expect(() => parseUrlTemplate(url, [])).toThrow(UrlTemplateError);
    expect(() => parseUrlTemplate(url, [])).toThrow(reason);
  });

  it('accepts public https hosts, and private or http ones only when the operator trusts them', () => {
    expect(parseUrlTemplate('https://api.example.com:8443/x?q={{input.q}}', []).origin).toBe(
      'https://api.example.com:8443',
    );
    expect(() => parseUrlTemplate('http://127.0.0.1:9999/x', [])).toThrow(UrlTemplateError);
    expect(parseUrlTemplate('http://127.0.0.1:9999/x', ['127.0.0.1']).origin).toBe('http://127.0.0.1:9999');
    expect(parseUrlTemplate('https://10.0.0.5:8443/x', ['10.0.0.5:8443']).origin).toBe(
      'https://10.0.0.5:8443',
    );
    expect(() => parseUrlTemplate('https://10.0.0.5:9443/x', ['10.0.0.5:8443'])).toThrow(UrlTemplateError);
  });
});

describe('connector configuration', () => {
  it('compiles a valid configuration and renders its request', () => {
    const { errors, compiled } = compileConfig(
      config({ method: 'POST', bodyTemplate: { phone: '{{input.phone}}' } }),
      { key: 's3cr3t' },
      [],
    );
    expect(errors).toEqual([]);
    const request = renderRequest(compiled as NonNullable<typeof compiled>, {
      input: { phone: '1' },
      secrets: { key: 's3cr3t' },
    });
    expect(request.headers).toMatchObject({ 'x-rapidapi-key': 's3cr3t', 'content-type': 'application/json' });
    expect(request.body).toBe('{"phone":"1"}');
  });

  it('reports every problem with its field', () => {
    const { errors, compiled } = compileConfig(
      config({
        urlTemplate: 'https://api.example.com/{{secrets.nope}}',
        headers: [
          { name: 'Host', value: 'x' },
          { name: 'X-A', value: '{{secrets.key}}' },
          { name: 'x-a', value: 'dup' },
          { name: 'bad name', value: 'x' },
        ],
        bodyTemplate: { a: '{{input.a}}' },
        mapping: '{ "a": body.x ',
        successRule: 'status = ',
        healthCheck: { method: 'GET', urlTemplate: 'https://other.example.com/health', expectStatus: 200 },
      }),
      { key: 'line\nbreak' },
      [],
    );
    expect(compiled).toBeUndefined();
    const pointers = errors.map((e) => e.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining([
        '#/urlTemplate',
        '#/headers/0/name',
        '#/headers/2/name',
        '#/headers/3/name',
        '#/secrets/key',
        '#/bodyTemplate',
        '#/mapping',
        '#/successRule',
        '#/healthCheck/urlTemplate',
      ]),
    );
    expect(errors.find((e) => e.pointer === '#/urlTemplate')?.detail).toBe(
      'references the unknown secret nope',
    );
    expect(errors.find((e) => e.pointer === '#/mapping')?.detail).toMatch(
      /^is not valid JSONata: .*at character \d+\)$/,
    );
  });

  it('refuses a health check that needs input and sample input that does not fit', () => {
    const health = compileConfig(
      config({
        healthCheck: {
          method: 'GET',
          urlTemplate: 'https://phone.example.com/h/{{input.x}}',
          expectStatus: 200,
        },
      }),
      { key: 'k' },
      [],
    );
    expect(health.errors.map((e) => e.pointer)).toEqual(['#/healthCheck/urlTemplate']);
    const sample = compileConfig(config({ sampleInput: { other: 1 } }), { key: 'k' }, []);
    expect(sample.errors).toEqual([
      { in: 'body', pointer: '#/sampleInput/phone', detail: 'input.phone is required by the templates' },
    ]);
  });
});

describe('JSONata checks', () => {
  it('gives the position of a syntax error', () => {
    expect(syntaxError('{ "a": body.x }')).toBeNull();
    expect(syntaxError('$sum(')).toMatch(/at character \d+/);
  });

  it('accepts JSON objects of claims only', () => {
    expect(claimsProblem({ a: 'x', b: 1, c: true, d: { e: ['f'] } })).toBeNull();
    expect(claimsProblem('text')).toMatch(/JSON object/);
    expect(claimsProblem([1])).toMatch(/JSON object/);
    expect(claimsProblem(undefined)).toMatch(/JSON object/);
    expect(claimsProblem({ id: 'did:x' })).toMatch(/`id`/);
    expect(claimsProblem({ a: { '@context': 'x' } })).toMatch(/@context/);
    expect(claimsProblem({ a: null })).toMatch(/null at \/a/);
    expect(claimsProblem({ a: 'x'.repeat(70_000) })).toMatch(/bytes/);
    let deep: Record<string, unknown> = { v: 1 };
    for (let i = 0; i < 10; i++) deep = { d: deep };
    expect(claimsProblem(deep)).toMatch(/deeper/);
  });
});
