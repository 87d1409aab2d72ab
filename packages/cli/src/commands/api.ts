import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, type ListOptions } from '../client.js';
import { usageError } from '../errors.js';
import type { OutputOptions } from '../output.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ApiOptions extends OutputOptions {
  url: string;
}

export type ApiListOptions = ApiOptions & ListOptions;

/** A subcommand that calls the API: it takes --url and --json. */
export function apiCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .addOption(urlOption())
    .option('--json', 'print the API response as JSON');
}

/** An API subcommand that lists: it also takes --limit and --cursor. */
export function listCommand(parent: Command, name: string, description: string): Command {
  return apiCommand(parent, name, description)
    .option('--limit <n>', 'list at most n items (default: all of them)', parsePositiveInteger)
    .option('--cursor <cursor>', 'start after this nextCursor of an earlier list');
}

export const orgIdArgument = () => idArgument('orgId', 'org', 'organization id (org_…)');
export const projectIdArgument = () => idArgument('projectId', 'prj', 'project id (prj_…)');
export const keyIdArgument = () => idArgument('keyId', 'key', 'API key id (key_…)');

/** A positional resource id; an id of the wrong kind is refused before anything is sent. */
function idArgument(name: string, prefix: string, description: string): Argument {
  return new Argument(`<${name}>`, description).argParser(idParser(prefix));
}

/** Parses an option's resource id (`prj_…`, `iss_…`); an id of the wrong kind is refused. */
export function idParser(prefix: string): (value: string) => string {
  const pattern = new RegExp(`^${prefix}_[A-Za-z0-9]+$`);
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`Expected an id like ${prefix}_….`);
    return value;
  };
}

/** The API client for a command, with the key from PERSONA_API_KEY. */
export function connect(options: ApiOptions): ApiClient {
  const apiKey = process.env.PERSONA_API_KEY;
  if (!apiKey) throw usageError('PERSONA_API_KEY is not set; export the API key this command should use');
  return new ApiClient(options.url, apiKey);
}

/** `--url` (or PERSONA_URL): the server to talk to. */
export function urlOption(): Option {
  return new Option('--url <url>', 'server URL').env('PERSONA_URL').default(DEFAULT_URL).argParser(parseUrl);
}

function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('Expected a URL like http://127.0.0.1:8080.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  }
  return value;
}

function parsePositiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('Expected a positive integer.');
  return Number(value);
}
