import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeApi } from './fake-api.js';
import { assertBuilt, runCli } from './run-cli.js';

const SECRET = 'sk_admin';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let api: FakeApi;

/** Runs the CLI against the fake API with a valid key. */
const persona = (...args: string[]) => runCli([...args, '--url', api.url], { PERSONA_API_KEY: SECRET });

beforeAll(assertBuilt);

beforeEach(async () => {
  api = new FakeApi(SECRET);
  await api.start();
});

afterEach(async () => {
  await api.close();
});

describe('command line and environment errors exit 2 and send nothing', () => {
  it.each([
    ['a missing PERSONA_API_KEY', ['org', 'list'], {}, 'persona: PERSONA_API_KEY is not set'],
    [
      'an id of the wrong kind',
      ['org', 'get', 'prj_1'],
      { PERSONA_API_KEY: SECRET },
      'Expected an id like org_…',
    ],
    ['a path in place of an id', ['project', 'get', 'prj_1/../x'], { PERSONA_API_KEY: SECRET }, 'like prj_…'],
    [
      'an unknown role',
      ['apikey', 'create', 'prj_1', '--name', 'ci', '--role', 'root'],
      {},
      'Allowed choices',
    ],
    [
      'a local time',
      ['apikey', 'create', 'prj_1', '--name', 'x', '--expires-at', '2030-01-01T10:00'],
      {},
      'offset',
    ],
    ['a missing --name', ['apikey', 'create', 'prj_1'], {}, "required option '--name <name>' not specified"],
    ['--limit 0', ['org', 'list', '--limit', '0'], {}, 'Expected a positive integer'],
    ['a non-HTTP URL', ['org', 'list', '--url', 'ftp://x'], {}, 'Expected an http:// or https:// URL'],
    ['an unknown command', ['orgs', 'list'], {}, "persona: unknown command 'orgs'"],
  ])('%s', async (_, args, env, message) => {
    const result = await runCli([...args, ...(args.includes('--url') ? [] : ['--url', api.url])], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
    expect(api.requests).toEqual([]);
  });

  it('reads the server URL from PERSONA_URL and reports an invalid one', async () => {
    const listed = await runCli(['org', 'list'], { PERSONA_API_KEY: SECRET, PERSONA_URL: api.url });
    expect(listed).toEqual({ code: 0, stdout: 'no organizations\n', stderr: '' });
    const invalid = await runCli(['org', 'list'], { PERSONA_API_KEY: SECRET, PERSONA_URL: 'not a url' });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("from env 'PERSONA_URL' is invalid");
  });
});

describe('organizations', () => {
  it('creates one, printing fields or the API JSON, with an Idempotency-Key', async () => {
    const human = await persona('org', 'create', 'Acme Corp');
    expect(human.code).toBe(0);
    const org = api.orgs[0];
    expect(human.stdout).toBe(`id:       ${org?.id}\nname:     Acme Corp\ncreated:  ${org?.createdAt}\n`);
    expect(api.requests[0]?.body).toEqual({ name: 'Acme Corp' });
    expect(api.requests[0]?.headers['idempotency-key']).toMatch(UUID);

    const json = await persona('org', 'create', 'Beta', '--json');
    expect(JSON.parse(json.stdout)).toEqual(api.orgs[1]);
  });

  it('lists every page in aligned columns', async () => {
    for (let i = 0; i < 105; i++) api.addOrg(i === 3 ? 'A much longer name' : `org ${i}`);
    const result = await persona('org', 'list');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(106);
    expect(lines[0]).toMatch(/^ID {36}NAME {16}CREATED$/);
    const nameColumn = lines[0]?.indexOf('NAME');
    const createdColumn = lines[0]?.indexOf('CREATED');
    for (const [i, org] of api.orgs.entries()) {
      const line = lines[i + 1] ?? '';
      expect(line.startsWith(`${org.id}  `)).toBe(true);
      expect(line.indexOf(org.name)).toBe(nameColumn);
      expect(line.slice(createdColumn)).toBe(org.createdAt);
    }
    expect(api.requests).toHaveLength(2);
  });

  it('stops at --limit, prints the continuation cursor, and --json keeps the page shape', async () => {
    for (const name of ['a', 'b', 'c']) api.addOrg(name);
    const limited = await persona('org', 'list', '--limit', '2');
    expect(limited.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(limited.stderr).toMatch(/^more results: continue with --cursor \S+\n$/);

    const cursor = limited.stderr.trim().split(' ').at(-1) ?? '';
    const rest = await persona('org', 'list', '--cursor', cursor, '--json');
    expect(JSON.parse(rest.stdout)).toEqual({ data: [api.orgs[2]], nextCursor: null });
  });

  it('escapes control characters that come from the server', async () => {
    api.addOrg('evil\u001b]0;pwned\u0007');
    const result = await persona('org', 'list');
    expect(result.stdout).toContain('evil\\u001b]0;pwned\\u0007');
    expect(result.stdout).not.toContain('\u001b');
  });

  it('gets and deletes one', async () => {
    const org = api.addOrg('Acme');
    const got = await persona('org', 'get', org.id, '--json');
    expect(JSON.parse(got.stdout)).toEqual(org);

    const deleted = await persona('org', 'delete', org.id);
    expect(deleted).toEqual({ code: 0, stdout: `deleted organization ${org.id}\n`, stderr: '' });
    expect(api.orgs).toEqual([]);
    expect(api.requests.at(-1)?.method).toBe('DELETE');
  });
});

describe('API errors exit 1', () => {
  it('prints the problem title, detail, status and request id', async () => {
    const result = await persona('org', 'get', 'org_ffff');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'persona: Not found: No resource org_ffff.\n  HTTP 404, request id req-1\n',
    });
  });

  it('prints each field error on its own line', async () => {
    const result = await persona('org', 'create', '   ');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'persona: Invalid request: The request is not valid: body /name is invalid\n' +
        '  body /name: must be a non-empty string\n' +
        '  HTTP 400, request id req-1\n',
    );
  });

  it('reports a rejected key', async () => {
    const result = await runCli(['org', 'list', '--url', api.url], { PERSONA_API_KEY: 'sk_wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'persona: Unauthorized: The API key is missing, unknown, revoked or expired.',
    );
    expect(result.stderr).toContain('HTTP 401');
    expect(api.requests[0]?.headers.authorization).toBe('Bearer sk_wrong');
  });

  it('reports a non-problem error page by its status', async () => {
    api.replaceReplies = () => ({ status: 503, body: 'upstream down', contentType: 'text/plain' });
    const result = await persona('org', 'list');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'persona: HTTP 503 Service Unavailable\n  HTTP 503\n',
    });
  });

  it('names the URL when the server is down', async () => {
    const url = api.url;
    await api.close();
    const result = await runCli(['org', 'list', '--url', url], { PERSONA_API_KEY: SECRET });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`persona: cannot reach ${url}/: connect ECONNREFUSED`);
    expect(result.stderr).toContain('--url or PERSONA_URL');
    await api.start();
  });
});

describe('projects', () => {
  it('creates, lists, gets and deletes projects of an organization', async () => {
    const org = api.addOrg('Acme');
    const created = await persona('project', 'create', org.id, 'Web app', '--json');
    const project = JSON.parse(created.stdout) as { id: string; orgId: string; name: string };
    expect(project).toMatchObject({ orgId: org.id, name: 'Web app' });
    expect(api.requests[0]?.path).toBe(`/v1/organizations/${org.id}/projects`);

    const listed = await persona('project', 'list', org.id);
    expect(listed.stdout).toMatch(new RegExp(`^ID +NAME +CREATED\n${project.id}  Web app  \\S+\n$`));

    const got = await persona('project', 'get', project.id);
    expect(got.stdout).toContain(`organization:  ${org.id}\n`);

    const deleted = await persona('project', 'delete', project.id);
    expect(deleted.stdout).toBe(`deleted project ${project.id}\n`);
    expect(api.projects).toEqual([]);
  });
});

describe('API keys', () => {
  it('creates a key with role, scopes and expiry, showing the secret once with a warning', async () => {
    const project = (await persona('project', 'create', api.addOrg('Acme').id, 'App', '--json')).stdout;
    const { id: projectId } = JSON.parse(project) as { id: string };
    const args = ['apikey', 'create', projectId, '--name', 'ci', '--role', 'admin'];
    const result = await persona(
      ...args,
      '--scope',
      'org:read',
      '--scope',
      'projects:write',
      '--expires-at',
      '2031-02-03',
    );
    expect(result.code).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({
      name: 'ci',
      role: 'admin',
      scopes: ['org:read', 'projects:write'],
      expiresAt: '2031-02-03T00:00:00.000Z',
    });
    const key = api.keys[0];
    expect(result.stdout).toContain(`secret:     ${key?.secret}\n`);
    expect(result.stdout).toContain('scopes:     org:read, projects:write\n');
    expect(result.stdout).toContain('status:     active\n');
    expect(result.stderr).toBe('Store the secret now: it will not be shown again.\n');
  });

  it('sends only what was given, prints the secret in --json, lists without it, and revokes', async () => {
    const org = api.addOrg('Acme');
    const { id: projectId } = JSON.parse(
      (await persona('project', 'create', org.id, 'App', '--json')).stdout,
    ) as {
      id: string;
    };
    const created = await persona('apikey', 'create', projectId, '--name', 'deploy', '--json');
    expect(api.requests.at(-1)?.body).toEqual({ name: 'deploy' });
    expect(created.stderr).toBe('');
    const key = JSON.parse(created.stdout) as { id: string; secret: string };
    expect(key.secret).toMatch(/^sk_/);

    const listed = await persona('apikey', 'list', projectId);
    const [header, row] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +NAME +ROLE +SCOPES +PREFIX +STATUS +EXPIRES +LAST USED$/);
    expect(row).toMatch(new RegExp(`^${key.id}  deploy +developer +\\* +sk_\\S+ +active +- +-$`));
    expect(listed.stdout).not.toContain(key.secret);

    const revoked = await persona('apikey', 'revoke', projectId, key.id);
    expect(revoked.stdout).toBe(`revoked API key ${key.id}\n`);
    expect(api.requests.at(-1)?.path).toBe(`/v1/projects/${projectId}/api-keys/${key.id}`);
    expect((await persona('apikey', 'list', projectId)).stdout).toMatch(/ revoked /);
  });
});
