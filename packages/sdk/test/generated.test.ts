import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GENERATED = 'packages/sdk/src/generated/api.ts';

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

describe('generated API types', () => {
  it(`${GENERATED} is what openapi-typescript makes of docs/openapi.json`, async () => {
    // What `npm run -w packages/sdk generate` does: generate, then format with the repository's biome.
    const generated = await run(process.execPath, [
      'packages/sdk/node_modules/openapi-typescript/bin/cli.js',
      'docs/openapi.json',
    ]);
    const formatted = await run(
      process.execPath,
      ['node_modules/@biomejs/biome/bin/biome', 'format', `--stdin-file-path=${GENERATED}`],
      generated,
    );
    const checkedIn = readFileSync(new URL(`../../../${GENERATED}`, import.meta.url), 'utf8');
    expect(checkedIn === formatted, `${GENERATED} is stale: run \`npm run openapi\` and commit it`).toBe(
      true,
    );
  });
});
