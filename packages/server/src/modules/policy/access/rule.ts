import type { DecisionRuleKind, Vote } from './types.js';

/** The decision rule over the four votes: whether they allow, and why, in one sentence. */
export interface RuleResult {
  allowed: boolean;
  /** The watchdog denied and the rule makes that a veto. */
  vetoed: boolean;
  explanation: string;
}

export function applyRule(kind: DecisionRuleKind, watchdogVeto: boolean, votes: Vote[]): RuleResult {
  const watchdog = votes.find((v) => v.evaluator === 'watchdog');
  if (watchdogVeto && watchdog?.vote === 'deny') {
    return {
      allowed: false,
      vetoed: true,
      explanation: `watchdog veto (${watchdog.reasons.join('; ')}): denied whatever the others vote`,
    };
  }
  const allows = votes.filter((v) => v.vote === 'allow').length;
  const denies = votes.filter((v) => v.vote === 'deny').length;
  const abstains = votes.length - allows - denies;
  const tally = `${allows} allow, ${denies} deny, ${abstains} abstain`;
  const verdict = (allowed: boolean, why: string): RuleResult => ({
    allowed,
    vetoed: false,
    explanation: `${kind} (${tally}): ${why}: ${allowed ? 'allowed' : 'denied'}`,
  });

  if (allows + denies === 0) return verdict(false, 'every evaluator abstained');
  switch (kind) {
    case 'majority':
      if (allows > denies) return verdict(true, 'more allow than deny votes');
      return verdict(false, allows === denies ? 'a tie denies' : 'more deny than allow votes');
    case 'unanimous':
      if (denies === 0) return verdict(true, 'every vote cast allows');
      return verdict(false, 'not every vote cast allows');
    case 'any':
      if (allows > 0) return verdict(true, 'at least one evaluator allows');
      return verdict(false, 'no evaluator allows');
  }
}
