import { readFile } from 'node:fs/promises';
import { hashLeaf, noteVerifier, verifyTlogProof } from '@personachain/ledger';
import { type DeletionAttestation, keyCommitment, verifyAttestation } from '@personachain/node/attestation';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, usageError } from '../errors.js';
import { printable, printJson } from '../output.js';

/** A file of attestations is a few KiB; a node's or platform's answer for one commitment stays far below. */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;
const MAX_ATTESTATIONS = 1000;
const REQUEST_TIMEOUT_MS = 30_000;
const ENTRY_TYPE = 'ephemeral/deletion-attestation';
const MEMBERS = ['keyCommitment', 'deletedAt', 'reason', 'nodeId', 'signature'] as const;

interface VerifyOptions {
  salt?: string;
  key?: string;
  ledger?: string;
  ledgerKey?: string;
  project?: string;
  json?: boolean;
}

interface Item {
  attestation: DeletionAttestation;
  inclusionProof?: string;
  ledgerEntry?: string;
}

interface Result {
  attestation: DeletionAttestation;
  valid: boolean;
  signature: 'valid' | 'invalid';
  commitment?: 'matches' | 'differs';
  ledger?: { index: number; treeSize: number } | { error: string };
  errors: string[];
}

/** `persona node verify-attestation <file|->`. */
export function registerVerifyAttestationCommand(node: Command): void {
  node
    .command('verify-attestation')
    .description(
      "verify deletion attestations: each node's signature, optionally the key commitment and the ledger inclusion",
    )
    .argument(
      '<file>',
      'an attestation (JSON), an array of them, or the answer of a node (GET /v1/attestations/…) or of the ' +
        'platform (GET …/ephemeral/attestations); "-" reads standard input',
    )
    .option('--salt <base64url>', 'the compliance salt the write used (with --key: recompute the commitment)')
    .option('--key <storageKey>', 'the storage key of the entry (with --salt)')
    .option(
      '--ledger <platformUrl>',
      'also check each attestation is in this platform’s ledger (inclusion proof)',
    )
    .option(
      '--ledger-key <vkey>',
      'the ledger’s signed-note verifier key to trust (default: fetched from <platformUrl>/ledger/verifier-key)',
    )
    .addOption(
      new Option(
        '--project <projectId>',
        'fetch inclusion proofs from this project (PERSONA_API_KEY with ephemeral:read) when the input has none',
      ).argParser((value) => {
        if (!/^prj_[A-Za-z0-9]+$/.test(value)) throw new InvalidArgumentError('Expected an id like prj_….');
        return value;
      }),
    )
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      '\nExit status: 0 every attestation verified, 1 one did not (the reasons are printed), 2 bad usage or a request failed.',
    )
    .action(async (file: string, options: VerifyOptions) => {
      if ((options.salt === undefined) !== (options.key === undefined)) {
        throw usageError('--salt and --key go together: the commitment is computed from both');
      }
      if (options.project !== undefined && options.ledger === undefined) {
        throw usageError('--project needs --ledger <platformUrl>');
      }
      const expected =
        options.salt !== undefined ? commitmentOf(options.salt, options.key as string) : undefined;
      const items = parseItems(await readInput(file), file);
      const ledger = options.ledger === undefined ? undefined : await LedgerCheck.open(options);
      const results: Result[] = [];
      for (const item of items) results.push(await check(item, expected, ledger));
      const allValid = results.every((r) => r.valid);
      if (options.json) printJson({ valid: allValid, results });
      else process.stdout.write(describe(results, ledger?.trustedKey));
      if (!allValid) process.exitCode = 1;
    });
}

async function check(
  item: Item,
  expected: string | undefined,
  ledger: LedgerCheck | undefined,
): Promise<Result> {
  const { attestation } = item;
  const errors: string[] = [];
  const verified = await verifyAttestation(attestation);
  if (!verified.valid) errors.push(verified.error);
  const result: Result = {
    attestation,
    valid: false,
    signature: verified.valid ? 'valid' : 'invalid',
    errors,
  };
  if (expected !== undefined) {
    result.commitment = expected === attestation.keyCommitment ? 'matches' : 'differs';
    if (result.commitment === 'differs')
      errors.push('the key commitment is not the one --salt and --key give');
  }
  if (ledger !== undefined) {
    result.ledger = await ledger.inclusion(item);
    if ('error' in result.ledger) errors.push(`ledger: ${result.ledger.error}`);
  }
  result.valid = errors.length === 0;
  return result;
}

function commitmentOf(salt: string, key: string): string {
  const bytes = Buffer.from(salt, 'base64url');
  if (bytes.toString('base64url') !== salt) throw usageError('--salt must be unpadded base64url');
  try {
    return keyCommitment(new Uint8Array(bytes), key);
  } catch (error) {
    throw usageError(`--salt: ${(error as Error).message}`);
  }
}

async function readInput(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        size += (chunk as Buffer).length;
        if (size > MAX_INPUT_BYTES) throw usageError(`standard input is over ${MAX_INPUT_BYTES} bytes`);
        chunks.push(chunk as Buffer);
      }
      bytes = Buffer.concat(chunks);
    } else {
      bytes = await readFile(file);
      if (bytes.length > MAX_INPUT_BYTES) throw usageError(`${file} is over ${MAX_INPUT_BYTES} bytes`);
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw usageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return bytes.toString('utf8');
}

/** Accepts one attestation, an array, a node's answer ({attestations}) or the platform's ({data}). */
function parseItems(text: string, file: string): Item[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`${file === '-' ? 'standard input' : file} is not JSON: ${(error as Error).message}`);
  }
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (isObject(value) && Array.isArray(value.attestations)) list = value.attestations;
  else if (isObject(value) && Array.isArray(value.data)) list = value.data;
  else list = [value];
  if (list.length === 0) throw usageError('there are no attestations to verify');
  if (list.length > MAX_ATTESTATIONS) throw usageError(`at most ${MAX_ATTESTATIONS} attestations at once`);
  return list.map((entry, i) => {
    if (!isObject(entry)) throw usageError(`item ${i} is not a JSON object`);
    // Only the signed members form the attestation; the rest (log index, proofs) is material about it.
    const attestation = Object.fromEntries(
      MEMBERS.filter((m) => m in entry).map((m) => [m, entry[m]]),
    ) as unknown as DeletionAttestation;
    const item: Item = { attestation };
    if (typeof entry.inclusionProof === 'string') item.inclusionProof = entry.inclusionProof;
    if (typeof entry.ledgerEntry === 'string') item.ledgerEntry = entry.ledgerEntry;
    return item;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks inclusion in a platform's ledger: with the proof in the input, or fetched from a project. */
class LedgerCheck {
  private readonly fetched = new Map<string, Array<Record<string, unknown>>>();

  private constructor(
    private readonly base: string,
    readonly trustedKey: string,
    private readonly project: string | undefined,
  ) {}

  static async open(options: VerifyOptions): Promise<LedgerCheck> {
    const base = parseBase(options.ledger as string);
    const key =
      options.ledgerKey ??
      String(await request(new URL('ledger/verifier-key', base), undefined, 'text')).trim();
    try {
      noteVerifier(key);
    } catch (error) {
      throw usageError(`the ledger verifier key is not usable: ${(error as Error).message}`);
    }
    return new LedgerCheck(base.href, key, options.project);
  }

  async inclusion(item: Item): Promise<{ index: number; treeSize: number } | { error: string }> {
    let { inclusionProof, ledgerEntry } = item;
    if ((inclusionProof === undefined || ledgerEntry === undefined) && this.project !== undefined) {
      const found = (await this.list(item.attestation.keyCommitment)).find(
        (d) => d.signature === item.attestation.signature,
      );
      if (found === undefined) return { error: 'the project has no record of this attestation' };
      inclusionProof = typeof found.inclusionProof === 'string' ? found.inclusionProof : undefined;
      ledgerEntry = typeof found.ledgerEntry === 'string' ? found.ledgerEntry : undefined;
      if (inclusionProof === undefined)
        return { error: 'recorded, but not in a checkpoint yet; retry shortly' };
    }
    if (inclusionProof === undefined || ledgerEntry === undefined) {
      return { error: 'no inclusion proof: give the platform’s list output, or --project to fetch it' };
    }
    const entry = new Uint8Array(Buffer.from(ledgerEntry, 'base64url'));
    const mismatch = entryMismatch(entry, item.attestation);
    if (mismatch !== undefined) return { error: mismatch };
    try {
      const proven = await verifyTlogProof(inclusionProof, hashLeaf(entry), [noteVerifier(this.trustedKey)]);
      return { index: proven.index, treeSize: proven.checkpoint.size };
    } catch (error) {
      return { error: `the inclusion proof does not verify: ${(error as Error).message}` };
    }
  }

  private async list(commitment: string): Promise<Array<Record<string, unknown>>> {
    const cached = this.fetched.get(commitment);
    if (cached) return cached;
    const apiKey = process.env.PERSONA_API_KEY;
    if (!apiKey) throw usageError('PERSONA_API_KEY is not set; --project needs a key with ephemeral:read');
    const url = new URL(
      `v1/projects/${encodeURIComponent(this.project as string)}/ephemeral/attestations`,
      this.base,
    );
    url.searchParams.set('keyCommitment', commitment);
    const body = (await request(url, apiKey, 'json')) as { data?: unknown };
    const data = Array.isArray(body.data) ? body.data.filter(isObject) : [];
    this.fetched.set(commitment, data);
    return data;
  }
}

/** The ledger entry must be the attestation's framing: `{at, attestation: <the five members>, type}`. */
function entryMismatch(entry: Uint8Array, a: DeletionAttestation): string | undefined {
  let framed: unknown;
  try {
    framed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry));
  } catch {
    return 'the ledger entry is not JSON';
  }
  if (!isObject(framed) || framed.type !== ENTRY_TYPE || !isObject(framed.attestation)) {
    return `the ledger entry is not an ${ENTRY_TYPE} entry`;
  }
  const logged = framed.attestation;
  const same =
    Object.keys(logged).length === MEMBERS.length &&
    MEMBERS.every((m) => logged[m] === (a as unknown as Record<string, unknown>)[m]);
  return same ? undefined : 'the ledger entry records a different attestation';
}

function parseBase(value: string): URL {
  let url: URL;
  try {
    url = new URL(value.endsWith('/') ? value : `${value}/`);
  } catch {
    throw usageError('--ledger expects a URL like https://persona.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError('--ledger expects an http(s) URL');
  return url;
}

async function request(url: URL, apiKey: string | undefined, as: 'text' | 'json'): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new CliError(`cannot reach ${url.origin}: ${cause}`, 2);
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = '';
    try {
      detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? '');
    } catch {
      // not a problem document
    }
    throw new CliError(`${url.pathname} answered HTTP ${response.status}${detail ? `: ${detail}` : ''}`, 2);
  }
  if (as === 'text') return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${url.pathname} did not answer JSON`, 2);
  }
}

function describe(results: readonly Result[], ledgerKey: string | undefined): string {
  const lines: string[] = [];
  for (const [i, r] of results.entries()) {
    const a = r.attestation;
    const head = `${r.valid ? 'VALID  ' : 'INVALID'} #${i} ${String(a.reason)} at ${String(a.deletedAt)} by ${String(a.nodeId)}`;
    lines.push(printable(head));
    lines.push(
      printable(
        `  commitment ${String(a.keyCommitment)}${r.commitment ? ` (${r.commitment} --salt/--key)` : ''}`,
      ),
    );
    lines.push(`  signature ${r.signature}`);
    if (r.ledger && !('error' in r.ledger))
      lines.push(`  ledger index ${r.ledger.index} in a checkpoint of size ${r.ledger.treeSize}`);
    for (const e of r.errors) lines.push(printable(`  - ${e}`));
  }
  const bad = results.filter((r) => !r.valid).length;
  lines.push(bad === 0 ? `all ${results.length} verified` : `${bad} of ${results.length} did not verify`);
  if (ledgerKey !== undefined) lines.push(printable(`ledger key: ${ledgerKey}`));
  return `${lines.join('\n')}\n`;
}
