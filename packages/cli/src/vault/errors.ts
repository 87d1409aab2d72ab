import {
  type AccessDecision,
  VaultAccessError,
  VaultFormatError,
  VaultIntegrityError,
} from '@personachain/sdk';
import { CliError } from '../errors.js';
import { sdkError } from '../sdk.js';

/**
 * A vault call's failure as the CLI reports it: an access refusal with the decision that made it (score,
 * votes, what would let it through), a server answer that failed a client-side check (the server may be
 * lying: nothing was trusted), bad vault input, or the API's own errors.
 */
export function vaultError(error: unknown, url: string): unknown {
  if (error instanceof VaultAccessError) return accessRefusal(error);
  if (error instanceof VaultIntegrityError) {
    return new CliError(`the server's answer failed verification (${error.code}): ${error.message}`, 1, [
      'nothing from that answer was trusted or written; the verified state on this machine is unchanged',
    ]);
  }
  if (error instanceof VaultFormatError) {
    return new CliError(error.path ? `${error.message} (at ${error.path})` : error.message);
  }
  return sdkError(error, url);
}

function accessRefusal(error: VaultAccessError): CliError {
  const { access } = error;
  // Without a decision (e.g. not a recipient of an item version) the problem's detail says why.
  if (!access) return new CliError(`access refused: ${error.message}`);
  const details = describeDecision(access);
  if (error.outcome === 'step_up_required') {
    details.push('re-authenticate the member with a second factor and run again with --mfa');
  } else if (error.outcome === 'guardian_approval_required' && access.approvalId) {
    details.push(
      `guardians approve with \`persona vault access approve <vaultId> ${access.approvalId} …\`; then run again with --approval ${access.approvalId}`,
    );
  }
  return new CliError(`access refused (${error.outcome}): ${error.title}`, 1, details);
}

/** The decision in a few lines: score, each vote with its reasons, the rule. */
function describeDecision(access: AccessDecision): string[] {
  return [
    `score ${access.score}/100${access.id ? `, access-log entry ${access.id}` : ''}`,
    ...access.votes.map(
      (vote) =>
        `${vote.evaluator}: ${vote.vote}${vote.reasons.length > 0 ? ` (${vote.reasons.join('; ')})` : ''}`,
    ),
    `rule: ${access.rule.explanation}`,
  ];
}
