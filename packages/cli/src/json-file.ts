import { readFile, writeFile } from 'node:fs/promises';
import { CliError, usageError } from './errors.js';
import { printJson } from './output.js';

/** Reads a file that must hold one JSON object; `what` names it in errors ("a credential"). */
export async function readJsonObject(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError(`${path} must hold a JSON object (${what})`);
  }
  return value as Record<string, unknown>;
}

/** Writes `value` as JSON to `path`, or prints it on stdout when there is no path. */
export async function writeJson(path: string | undefined, value: unknown): Promise<void> {
  if (path === undefined) {
    printJson(value);
    return;
  }
  try {
    await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`);
  }
}
