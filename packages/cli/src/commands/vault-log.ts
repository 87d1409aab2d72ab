import { setTimeout as sleep } from 'node:timers/promises';
import { noteVerifier } from '@personachain/ledger';
import {
  type AccessLogEntry,
  type AccessLogPage,
  FileVaultStateStore,
  verifyAccessLog,
} from '@personachain/sdk';
import type { Command } from 'commander';
import type { ApiClient } from '../client.js';
import { CliError, usageError } from '../errors.js';
import { printable, printJson, table } from '../output.js';
import { vaultError } from '../vault/errors.js';
import {
  keyringOption,
  openVaultKeyring,
  projectOption,
  stateDirectory,
  type VaultKeyringOptions,
} from '../vault/member.js';
import { vaultIdArgument } from '../vault/parse.js';
import { connect, listCommand } from './api.js';

interface LogOptions extends VaultKeyringOptions {
  verify?: boolean;
  ledgerKey?: string;
  limit?: number;
  cursor?: string;
}

type ShownEntry = AccessLogEntry & { inLedger?: boolean };

/** The API's largest page. */
const PAGE_SIZE = 100;
/** Entries are integrated into the ledger within milliseconds; a page with pending ones is read again. */
const PENDING_RETRIES = [100, 200, 400, 800];

/** `persona vault log`: the vault's access log, each entry checked against the ledger with --verify. */
export function registerVaultLogCommand(vault: Command): void {
  listCommand(vault, 'log', "the vault's access log: every decision on a member request (API key only)")
    .addArgument(vaultIdArgument())
    .option(
      '--verify',
      "check every entry against the ledger: its text, its inclusion proof, the checkpoint's signature",
    )
    .option(
      '--ledger-key <vkey>',
      "the ledger's verifier key to trust (default: the one pinned for this vault, else the server's, pinned then)",
    )
    .addOption(projectOption('project id (prj_…; default: the one the keyring recorded for the vault)'))
    .addOption(keyringOption())
    .addHelpText(
      'after',
      '\nWith --verify, exit status 1 means an entry or proof does not verify: the server shows a log the ledger does not back.',
    )
    .action(async (vaultId: string, options: LogOptions) => {
      if (options.ledgerKey !== undefined && !options.verify)
        throw usageError('--ledger-key goes with --verify');
      const keyring = await openVaultKeyring(options);
      const projectId = options.project ?? keyring.vault(vaultId)?.projectId;
      if (projectId === undefined) {
        throw usageError(`--project is required: the keyring ${keyring.path} has no record of ${vaultId}`);
      }
      const api = connect(options);
      const path = `v1/projects/${projectId}/vaults/${vaultId}/access-log`;
      const ledgerKey = options.verify
        ? await trustedLedgerKey(options, vaultId, stateDirectory(keyring))
        : undefined;
      const entries: ShownEntry[] = [];
      let cursor = options.cursor;
      let nextCursor: string | null = null;
      do {
        const limit = Math.min(PAGE_SIZE, (options.limit ?? Number.POSITIVE_INFINITY) - entries.length);
        const page =
          ledgerKey === undefined
            ? await api.get<AccessLogPage>(path, { limit, cursor })
            : await verifiedPage(api, path, { limit, cursor }, vaultId, ledgerKey, options.url);
        entries.push(...page.data);
        nextCursor = page.nextCursor;
        cursor = nextCursor ?? undefined;
      } while (nextCursor !== null && entries.length < (options.limit ?? Number.POSITIVE_INFINITY));
      show(options, entries, nextCursor, ledgerKey);
    });
}

/** A page whose every entry was checked; pending entries (not yet in the ledger) are waited for a moment. */
async function verifiedPage(
  api: ApiClient,
  path: string,
  query: { limit: number; cursor: string | undefined },
  vaultId: string,
  ledgerKey: string,
  url: string,
): Promise<{ data: ShownEntry[]; nextCursor: string | null }> {
  for (let attempt = 0; ; attempt++) {
    const page = await api.get<AccessLogPage>(path, { ...query, proof: 'true' });
    const { entries } = await verifyAccessLog(page, { vaultId, ledgerKey }).catch((error: unknown) => {
      throw vaultError(error, url);
    });
    const wait = PENDING_RETRIES[attempt];
    if (wait === undefined || entries.every((entry) => entry.inLedger)) {
      return { data: entries, nextCursor: page.nextCursor };
    }
    await sleep(wait);
  }
}

/**
 * The ledger key to check against: --ledger-key, else the one pinned in this keyring's verified state of
 * the vault, else the server's (trusted on first use, and pinned there when there is such a state).
 */
async function trustedLedgerKey(options: LogOptions, vaultId: string, stateDir: string): Promise<string> {
  const store = new FileVaultStateStore(stateDir);
  const state = await store.load(vaultId).catch((error: unknown) => {
    throw new CliError(
      `the verified state of ${vaultId} in ${stateDir} is unreadable: ${(error as Error).message}`,
    );
  });
  let key = options.ledgerKey ?? state?.ledgerKey;
  if (
    state?.ledgerKey !== undefined &&
    options.ledgerKey !== undefined &&
    state.ledgerKey !== options.ledgerKey
  ) {
    throw usageError(`--ledger-key is not the ledger key pinned for ${vaultId} in ${stateDir}`);
  }
  if (key === undefined) {
    key = await fetchLedgerKey(options.url);
    if (state) await store.save({ ...state, ledgerKey: key });
  }
  try {
    noteVerifier(key);
  } catch (error) {
    throw usageError(`the ledger verifier key is not usable: ${(error as Error).message}`);
  }
  return key;
}

async function fetchLedgerKey(base: string): Promise<string> {
  const url = new URL('ledger/verifier-key', base.endsWith('/') ? base : `${base}/`);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new CliError(`cannot reach ${url.origin}: ${cause}`);
  }
  if (!response.ok) throw new CliError(`${url.pathname} answered HTTP ${response.status}`);
  return (await response.text()).trim();
}

function show(
  options: LogOptions,
  entries: ShownEntry[],
  nextCursor: string | null,
  ledgerKey: string | undefined,
) {
  if (options.json) {
    printJson({
      data: entries,
      nextCursor,
      ...(ledgerKey === undefined ? {} : { verified: true, ledgerKey }),
    });
    return;
  }
  if (entries.length === 0) process.stdout.write('no access-log entries\n');
  else {
    process.stdout.write(
      table(
        ['AT', 'SUBJECT', 'ACTION', 'ITEM', 'OUTCOME', 'SCORE', 'LEDGER'],
        entries.map((entry) => [
          entry.at,
          entry.subject,
          entry.action,
          entry.itemId ?? '-',
          entry.outcome,
          String(entry.score),
          ledgerColumn(entry, ledgerKey !== undefined),
        ]),
      ),
    );
  }
  if (ledgerKey !== undefined) {
    const pending = entries.filter((entry) => !entry.inLedger).length;
    process.stderr.write(
      `${printable(`verified ${entries.length - pending} entries against the ledger key ${ledgerKey}`)}${pending > 0 ? `; ${pending} not in the ledger yet` : ''}\n`,
    );
  }
  if (nextCursor !== null)
    process.stderr.write(`more results: continue with --cursor ${printable(nextCursor)}\n`);
}

function ledgerColumn(entry: ShownEntry, verified: boolean): string {
  if (entry.ledgerIndex === null) return 'pending';
  if (!verified) return `#${entry.ledgerIndex}`;
  return entry.inLedger ? `#${entry.ledgerIndex} verified` : 'pending';
}
