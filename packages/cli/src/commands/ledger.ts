import { cosignatureVerifier, LedgerError, type NoteVerifier, noteVerifier } from '@personachain/ledger';
import { type Command, InvalidArgumentError } from 'commander';
import { CliError, usageError } from '../errors.js';
import { HttpLog } from '../ledger-http.js';
import { type MonitorResult, monitorLog } from '../ledger-monitor.js';
import { VerificationError } from '../ledger-source.js';
import { defaultStatePath, readState, writeState } from '../ledger-state.js';
import { type Field, fields, printJson } from '../output.js';
import { urlOption } from './api.js';

/** Redraws of the progress line at most this often. */
const PROGRESS_INTERVAL_MS = 200;

/** A verifier key as typed and as parsed. */
interface Key {
  text: string;
  verifier: NoteVerifier;
}

interface VerifyOptions {
  url: string;
  key: Key;
  state?: string;
  witness?: Key[];
  entries?: boolean;
  json?: boolean;
}

export function registerLedgerCommands(program: Command): void {
  const ledger = program
    .command('ledger')
    .description('monitor the transparency log (the ledger) of a server');

  ledger
    .command('verify')
    .description(
      'verify the ledger: checkpoint signatures, the root from the tiles, and consistency with the ' +
        'checkpoint verified last time (exit 1 if the log is found wrong, 2 if it could not be verified)',
    )
    .addOption(urlOption())
    .requiredOption(
      '--key <vkey>',
      "the log's verifier key (name+hex+base64), from a source you trust",
      parseLogKey,
    )
    .option(
      '--state <file>',
      'state file (default: $XDG_STATE_HOME/persona/ledger-<hash of url and key>.json)',
    )
    .option('--witness <vkey>', 'require a cosignature from this witness; repeat for several', collectWitness)
    .option('--entries', 'full audit: also check every tile and every entry (slow on big logs)')
    .option('--json', 'print the result as JSON')
    .action(async (options: VerifyOptions) => {
      const witnesses = options.witness ?? [];
      checkDistinct([options.key, ...witnesses]);
      const statePath = options.state ?? defaultStatePath(options.url, options.key.text);
      const previous = await readState(statePath);
      const progress = options.entries && process.stderr.isTTY ? progressLine() : undefined;
      let result: MonitorResult;
      try {
        result = await monitorLog({
          source: new HttpLog(options.url),
          logKey: options.key.verifier,
          witnesses: witnesses.map((witness) => witness.verifier),
          previous,
          entries: options.entries === true,
          onProgress: progress?.update,
        });
      } catch (error) {
        if (options.json && error instanceof CliError) printFailure(error);
        throw error;
      } finally {
        progress?.end();
      }
      await writeState(statePath, result.state);
      if (options.json) printJson(summary(result, statePath));
      else process.stdout.write(fields(describe(result, statePath)));
    });
}

function describe(result: MonitorResult, statePath: string): Field[] {
  const { checkpoint, previous } = result;
  const rows: Field[] = [
    ['origin', checkpoint.origin],
    ['size', String(checkpoint.size)],
    ['root', base64(checkpoint.root)],
    ['signature', 'valid (log key)'],
  ];
  for (const witness of result.witnesses) {
    rows.push(['cosigned', `${witness.name} at ${new Date(witness.timestamp * 1000).toISOString()}`]);
  }
  rows.push(['tiles', 'hash to the root (recomputed here)']);
  if (!previous) rows.push(['previous', 'none: first run, state created']);
  else if (previous.relation === 'same') rows.push(['previous', `${previous.size}, same root`]);
  else if (previous.size === 0) rows.push(['previous', '0, empty (every tree extends it)']);
  else rows.push(['previous', `${previous.size}, consistent (proof computed from the tiles)`]);
  rows.push([
    'entries',
    result.entriesAudited === null
      ? 'not audited (--entries checks them all)'
      : `all ${result.entriesAudited} match the tiles, every tile matches the tree`,
  ]);
  rows.push(['state', statePath]);
  return rows;
}

function summary(result: MonitorResult, statePath: string) {
  const { checkpoint, previous } = result;
  return {
    verified: true,
    origin: checkpoint.origin,
    size: checkpoint.size,
    root: base64(checkpoint.root),
    witnesses: result.witnesses.map((witness) => ({
      name: witness.name,
      keyId: hex8(witness.keyId),
      timestamp: new Date(witness.timestamp * 1000).toISOString(),
    })),
    previous: previous && { size: previous.size, root: base64(previous.root), relation: previous.relation },
    entriesAudited: result.entriesAudited,
    state: statePath,
  };
}

/** With --json a failure is also a JSON result; stderr still carries the message. */
function printFailure(error: CliError): void {
  printJson({
    verified: false,
    reason: error instanceof VerificationError ? error.reason : 'could-not-verify',
    message: error.message,
    details: error.details,
  });
}

/** "auditing entries: n / total" on one redrawn stderr line (only when stderr is a terminal). */
function progressLine() {
  let last = 0;
  let drawn = false;
  return {
    update: (done: number, total: number) => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS && done < total) return;
      last = now;
      drawn = true;
      process.stderr.write(`\rauditing entries: ${done} / ${total}`);
    },
    end: () => {
      if (drawn) process.stderr.write('\n');
    },
  };
}

function parseLogKey(value: string): Key {
  const verifier = parseKey(value, noteVerifier);
  // A cosignature key (type 0x04) only attests what a witness saw; the log signs with type 0x01.
  if (verifier.timestampOf) throw new InvalidArgumentError('Expected the log key, not a cosignature key.');
  return { text: value.trim(), verifier };
}

function collectWitness(value: string, previous: Key[] = []): Key[] {
  return [...previous, { text: value.trim(), verifier: parseKey(value, cosignatureVerifier) }];
}

function parseKey(value: string, parse: (vkey: string) => NoteVerifier): NoteVerifier {
  try {
    return parse(value.trim());
  } catch (error) {
    if (error instanceof LedgerError) throw new InvalidArgumentError(`${error.message}.`);
    throw error;
  }
}

/** Two keys with one name and key ID cannot both be checked: a note has one signature line per pair. */
function checkDistinct(keys: readonly Key[]): void {
  const seen = new Set<string>();
  for (const { verifier } of keys) {
    const id = `${verifier.name}+${hex8(verifier.keyId)}`;
    if (seen.has(id)) throw usageError(`the key ${id} is given twice`);
    seen.add(id);
  }
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const hex8 = (keyId: number) => (keyId >>> 0).toString(16).padStart(8, '0');
