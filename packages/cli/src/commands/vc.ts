import type { ChangeStatusRequest, IssueOptions, VerificationOutcome } from '@personachain/sdk';
import { type Command, Option } from 'commander';
import { usageError } from '../errors.js';
import { readJsonObject } from '../json-file.js';
import { printable, printJson, showOne, table } from '../output.js';
import { sdkClient, sdkError } from '../sdk.js';
import { type ApiOptions, apiCommand, idParser, urlOption } from './api.js';

interface IssueCommandOptions extends ApiOptions {
  issuer: string;
  file: string;
  suite?: string;
}

interface VerifyCommandOptions extends ApiOptions {
  project: string;
  file: string;
}

interface RevokeCommandOptions extends ApiOptions {
  issuer: string;
  file: string;
  purpose: 'revocation' | 'suspension';
  reinstate?: boolean;
}

type StatusPurpose = RevokeCommandOptions['purpose'];

export function registerVcCommands(program: Command): void {
  const vc = program.command('vc').description('issue and verify verifiable credentials');

  vc.command('issue')
    .description("issue a credential with one of a project's issuers; prints the secured credential")
    .requiredOption('--issuer <issuerId>', 'issuer id (iss_…)', idParser('iss'))
    .requiredOption('--file <path>', 'the credential to issue (VC Data Model 2.0 JSON)')
    .option(
      '--suite <suite>',
      "one of the issuer's suites, e.g. eddsa-rdfc-2022, vc+jwt, vc+sd-jwt or vc+cose (default: the issuer's first)",
    )
    .addOption(urlOption())
    .action(async (options: IssueCommandOptions) => {
      const credential = await readJsonObject(options.file, 'a credential');
      const client = sdkClient(options, 'required');
      const issued = await client.credentials
        .issue(options.issuer, credential, issueOptions(options.suite))
        .catch((error: unknown) => {
          throw sdkError(error, options.url);
        });
      printJson(issued);
    });

  apiCommand(vc, 'verify', 'verify a credential with the verifier of a project')
    .requiredOption('--project <projectId>', 'project id (prj_…)', idParser('prj'))
    .requiredOption('--file <path>', 'the credential (JSON, as `persona vc issue` prints it)')
    .addHelpText(
      'after',
      '\nExit status: 0 verified, 1 not verified (the reasons are printed), 2 bad usage or the request failed.',
    )
    .action(async (options: VerifyCommandOptions) => {
      const credential = await readJsonObject(options.file, 'a credential');
      const client = sdkClient(options, 'required');
      // Exit status 1 means "not verified" only: every other failure is a 2.
      const outcome = await client.credentials.verify(options.project, credential).catch((error: unknown) => {
        throw sdkError(error, options.url, 2);
      });
      if (options.json) printJson(outcome);
      else process.stdout.write(describe(outcome));
      if (!outcome.verified) process.exitCode = 1;
    });

  apiCommand(vc, 'revoke', 'revoke or suspend a credential of an issuer (or reinstate a suspended one)')
    .requiredOption('--issuer <issuerId>', 'issuer id (iss_…)', idParser('iss'))
    .requiredOption('--file <path>', 'the issued credential (its `id`, or else its status entry, names it)')
    .addOption(
      new Option('--purpose <purpose>', 'which status list')
        .choices(['revocation', 'suspension'])
        .default('revocation'),
    )
    .option('--reinstate', 'clear a suspension instead (a revocation is final)')
    .action(async (options: RevokeCommandOptions) => {
      const credential = await readJsonObject(options.file, 'a credential');
      const body = statusChange(credential, options.purpose, !options.reinstate);
      const client = sdkClient(options, 'required');
      const changed = await client.credentials.changeStatus(options.issuer, body).catch((error: unknown) => {
        throw sdkError(error, options.url);
      });
      showOne(options, changed, (change) => [
        ['list', change.statusListCredential],
        ['purpose', change.statusPurpose],
        ['status', change.status ? 'set' : 'cleared'],
        [
          'entries',
          change.entries
            .map((entry) => `${entry.statusListIndex}${entry.changed ? '' : ' (unchanged)'}`)
            .join(', '),
        ],
      ]);
    });

  apiCommand(vc, 'status', "show a credential's status entries as the project's verifier checks them")
    .requiredOption('--project <projectId>', 'project id (prj_…)', idParser('prj'))
    .requiredOption('--file <path>', 'the credential (JSON)')
    .addHelpText(
      'after',
      '\nExit status: 0 verified and no entry set, 1 revoked, suspended or otherwise not verified, 2 bad usage or the request failed.',
    )
    .action(async (options: VerifyCommandOptions) => {
      const credential = await readJsonObject(options.file, 'a credential');
      const client = sdkClient(options, 'required');
      const outcome = await client.credentials.verify(options.project, credential).catch((error: unknown) => {
        throw sdkError(error, options.url, 2);
      });
      if (options.json) printJson(outcome);
      else {
        const entries = outcome.credentialStatus ?? [];
        process.stdout.write(
          entries.length === 0
            ? 'no status entries\n'
            : table(
                ['PURPOSE', 'INDEX', 'STATUS', 'LIST'],
                entries.map((entry) => [
                  entry.statusPurpose,
                  entry.statusListIndex,
                  entry.status ? 'set' : 'not set',
                  entry.statusListCredential,
                ]),
              ),
        );
        if (!outcome.verified) process.stdout.write(describe(outcome));
      }
      if (!outcome.verified) process.exitCode = 1;
    });
}

/**
 * The status change for a credential: named by its `id`, or without one by its own entry of `purpose`
 * (which the server accepts as it is).
 */
function statusChange(
  credential: Record<string, unknown>,
  purpose: StatusPurpose,
  status: boolean,
): ChangeStatusRequest {
  if (typeof credential.id === 'string') {
    return {
      credentialId: credential.id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: purpose },
      status,
    };
  }
  const entries = [credential.credentialStatus].flat() as Array<Record<string, unknown> | undefined>;
  const entry = entries.find(
    (item) => item?.type === 'BitstringStatusListEntry' && item.statusPurpose === purpose,
  );
  if (entry === undefined) {
    throw usageError(`the credential has neither an "id" nor a ${purpose} BitstringStatusListEntry`);
  }
  return { credentialStatus: entry as ChangeStatusRequest['credentialStatus'], status };
}

/** The VC-JOSE-COSE suites and the media type `options.format` names for each. */
const ENVELOPE_FORMATS = {
  'vc+jwt': 'application/vc+jwt',
  'vc+sd-jwt': 'application/vc+sd-jwt',
  'vc+cose': 'application/vc+cose',
} as const satisfies Record<string, NonNullable<IssueOptions['format']>>;

/** `--suite`: a Data Integrity cryptosuite or a VC-JOSE-COSE suite; the server checks it is the issuer's. */
function issueOptions(suite: string | undefined): IssueOptions | undefined {
  if (suite === undefined) return undefined;
  if (Object.hasOwn(ENVELOPE_FORMATS, suite)) {
    return { format: ENVELOPE_FORMATS[suite as keyof typeof ENVELOPE_FORMATS] };
  }
  return { cryptosuite: suite as NonNullable<IssueOptions['cryptosuite']> };
}

function describe(outcome: VerificationOutcome): string {
  const lines = [outcome.verified ? 'verified' : 'not verified', `checks: ${outcome.checks.join(', ')}`];
  if (!outcome.verified) {
    for (const { code, message, path } of outcome.errors) {
      lines.push(`  ${code}${path ? ` at ${path}` : ''}: ${message}`);
    }
  }
  return lines.map((line) => `${printable(line)}\n`).join('');
}
