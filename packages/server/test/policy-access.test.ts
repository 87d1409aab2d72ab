import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { evaluatorContext } from '../src/modules/policy/access/access-policy.js';
import { type EvaluatorContext, Evaluators } from '../src/modules/policy/access/evaluators.js';
import {
  type AccessDecision,
  AccessPolicy,
  type AccessRequest,
  authenticationStrength,
  DEFAULT_TRUST_TEMPLATE,
  parseTrustTemplate,
  type TrustTemplate,
  templateHash,
  type Vote,
} from '../src/modules/policy/access/index.js';
import { applyRule } from '../src/modules/policy/access/rule.js';
import { trustScore } from '../src/modules/policy/access/score.js';

// Vault access decisions: trust score, the four evaluators, the decision rule, step-up and guardian
// approval, and trust template validation. The simulate endpoint: policy-access-simulate.test.ts.

const policy = AccessPolicy.load();
/** The defaults, with an allow-list of countries so the country signals all show. */
const TEMPLATE = parseTrustTemplate({ countries: { allowed: ['DE', 'FR'] } });

const TUESDAY_10_UTC = new Date('2025-03-04T10:00:00Z');
const SATURDAY_10_UTC = new Date('2025-03-08T10:00:00Z');

/** A member at its registered device, in an allowed country, in business hours, fresh from MFA: 95. */
function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    action: 'read',
    role: 'owner',
    at: TUESDAY_10_UTC,
    device: { registered: true, fingerprintPresent: true },
    network: { country: 'DE' },
    authentication: { methods: ['pwd', 'otp', 'mfa'], ageSeconds: 60 },
    recent: { lastMinute: 0, lastHour: 0, deniedLastHour: 0 },
    proofs: { verified: 0, unverified: 0 },
    guardiansAvailable: false,
    ...overrides,
  };
}

const PASSWORD = { methods: ['pwd'], ageSeconds: 60 };
const UNKNOWN_DEVICE = { registered: false, fingerprintPresent: true };
const NO_FINGERPRINT = { registered: false, fingerprintPresent: false };

type V = Vote['vote'];

function votesOf(decision: AccessDecision): V[] {
  return decision.votes.map((v) => v.vote);
}

describe('the evaluator matrix (default thresholds: strict 80, permissive 50, neutral 65/50)', () => {
  // Each row: a context, its score, each evaluator's vote [strict, permissive, neutral, watchdog], outcome.
  const rows: Array<[string, Partial<AccessRequest>, number, [V, V, V, V], AccessDecision['outcome']]> = [
    ['trusted read', {}, 95, ['allow', 'allow', 'allow', 'abstain'], 'allow'],
    ['trusted admin action', { action: 'admin' }, 95, ['allow', 'allow', 'allow', 'abstain'], 'allow'],
    ['single factor read', { authentication: PASSWORD }, 70, ['deny', 'allow', 'allow', 'abstain'], 'allow'],
    [
      'single factor write (strict wants MFA)',
      { action: 'write', role: 'write', authentication: PASSWORD },
      70,
      ['deny', 'allow', 'allow', 'abstain'],
      'allow',
    ],
    [
      'MFA write from an unknown device',
      { action: 'write', device: UNKNOWN_DEVICE },
      65,
      ['deny', 'allow', 'allow', 'abstain'],
      'allow',
    ],
    [
      'unknown device, single factor',
      { device: UNKNOWN_DEVICE, authentication: PASSWORD },
      40,
      ['deny', 'deny', 'deny', 'abstain'],
      'step_up_required',
    ],
    [
      'no fingerprint, single factor',
      { device: NO_FINGERPRINT, authentication: PASSWORD },
      30,
      ['deny', 'deny', 'deny', 'abstain'],
      'deny',
    ],
    [
      'no fingerprint, MFA: neutral abstains, a tie denies',
      { device: NO_FINGERPRINT },
      55,
      ['deny', 'allow', 'abstain', 'abstain'],
      'deny',
    ],
    [
      'country not allowed: watchdog veto',
      { network: { country: 'US' } },
      50,
      ['deny', 'allow', 'abstain', 'deny'],
      'deny',
    ],
    [
      'unknown country is no anomaly',
      { network: { country: null } },
      85,
      ['allow', 'allow', 'allow', 'abstain'],
      'allow',
    ],
    [
      'over the minute limit: watchdog veto',
      { recent: { lastMinute: 31, lastHour: 31, deniedLastHour: 0 } },
      70,
      ['deny', 'allow', 'allow', 'deny'],
      'deny',
    ],
    [
      'over the hour limit: watchdog veto',
      { recent: { lastMinute: 1, lastHour: 601, deniedLastHour: 0 } },
      80,
      ['allow', 'allow', 'allow', 'deny'],
      'deny',
    ],
    [
      'four recent denials',
      { recent: { lastMinute: 4, lastHour: 4, deniedLastHour: 4 } },
      75,
      ['deny', 'allow', 'allow', 'abstain'],
      'allow',
    ],
    [
      'five recent denials: watchdog veto',
      { recent: { lastMinute: 5, lastHour: 5, deniedLastHour: 5 } },
      70,
      ['deny', 'allow', 'allow', 'deny'],
      'deny',
    ],
    ['off-hours read', { at: SATURDAY_10_UTC }, 80, ['allow', 'allow', 'allow', 'abstain'], 'allow'],
    [
      'off-hours admin action: watchdog veto',
      { at: SATURDAY_10_UTC, action: 'admin' },
      80,
      ['allow', 'allow', 'allow', 'deny'],
      'deny',
    ],
    [
      'admin below its minimum score of 70',
      { action: 'admin', device: UNKNOWN_DEVICE },
      65,
      ['deny', 'deny', 'deny', 'abstain'],
      'deny',
    ],
    [
      'a read member writing',
      { action: 'write', role: 'read' },
      95,
      ['deny', 'deny', 'deny', 'deny'],
      'deny',
    ],
    [
      'a write member administering',
      { action: 'admin', role: 'write' },
      95,
      ['deny', 'deny', 'deny', 'deny'],
      'deny',
    ],
    [
      'a write member deleting',
      { action: 'delete', role: 'write' },
      95,
      ['allow', 'allow', 'allow', 'abstain'],
      'allow',
    ],
    [
      'stale authentication',
      { authentication: { methods: ['mfa'], ageSeconds: 50_000 } },
      80,
      ['allow', 'allow', 'allow', 'abstain'],
      'allow',
    ],
  ];

  it.each(rows)('%s', (_name, overrides, score, votes, outcome) => {
    const decision = policy.decide(TEMPLATE, request(overrides));
    expect(decision.score).toBe(score);
    expect(votesOf(decision)).toEqual(votes);
    expect(decision.votes.map((v) => v.evaluator)).toEqual(['strict', 'permissive', 'neutral', 'watchdog']);
    expect(decision.outcome).toBe(outcome);
    for (const vote of decision.votes) {
      // A vote has reasons exactly when it is not an abstention.
      expect(vote.reasons.length > 0).toBe(vote.vote !== 'abstain');
    }
  });

  it('gives the reasons of the policies that fired, with the numbers filled in', () => {
    const decision = policy.decide(
      TEMPLATE,
      request({ action: 'write', role: 'read', device: UNKNOWN_DEVICE }),
    );
    const [strict, permissive, , watchdog] = decision.votes;
    expect(strict?.reasons).toEqual([
      "score 65 is below strict's threshold of 80",
      'write needs a registered device',
      'a read member may not write',
    ]);
    expect(permissive?.reasons).toEqual(['a read member may not write']);
    expect(watchdog?.reasons).toEqual(['a read member may not write']);

    const vetoed = policy.decide(
      TEMPLATE,
      request({ recent: { lastMinute: 40, lastHour: 40, deniedLastHour: 6 } }),
    );
    expect(vetoed.votes[3]?.reasons).toEqual([
      'more accesses in the last minute than the template allows',
      '6 denied accesses in the last hour (the limit is 5)',
    ]);
    expect(vetoed.rule.explanation).toMatch(/^watchdog veto \(more accesses in the last minute.*\): denied/);
  });

  it('takes every threshold from the template', () => {
    const lenient = parseTrustTemplate({
      evaluators: { strict: { allowAt: 60, deviceAndMfaFor: [] }, neutral: { allowAt: 30, denyBelow: 10 } },
      minimumScore: { admin: 0 },
    });
    const decision = policy.decide(
      lenient,
      request({ action: 'admin', device: UNKNOWN_DEVICE, authentication: PASSWORD }),
    );
    expect(decision.score).toBe(40);
    expect(votesOf(decision)).toEqual(['deny', 'deny', 'allow', 'abstain']);
    expect(decision.votes[0]?.reasons).toEqual(["score 40 is below strict's threshold of 60"]);
  });

  it('memoizes without sharing: changing a returned decision changes no later one', () => {
    const first = policy.decide(TEMPLATE, request());
    first.votes[0]?.reasons.push('tampered');
    (first.votes[1] as Vote).vote = 'deny';
    const second = policy.decide(TEMPLATE, request());
    expect(second.votes[0]?.reasons).toEqual(["score 95 reaches strict's threshold of 80"]);
    expect(second.votes[1]?.vote).toBe('allow');
  });
});

describe('the evaluators in one Cedar call', () => {
  const POLICIES = new URL('../policies/access/', import.meta.url);
  const text = (file: string) => readFileSync(new URL(file, POLICIES), 'utf8');

  /** A context with every field drawn from a small deterministic generator. */
  function contexts(count: number): EvaluatorContext[] {
    let state = 7;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    const flag = () => next() < 0.5;
    const actions = ['read', 'list', 'write', 'delete', 'admin'] as const;
    return Array.from({ length: count }, () => ({
      action: pick(actions),
      role: pick(['read', 'write', 'admin', 'owner']),
      score: pick([0, 30, 49, 50, 64, 65, 70, 79, 80, 100]),
      minimumScore: pick([0, 60, 70]),
      deviceRegistered: flag(),
      fingerprintPresent: flag(),
      country: pick(['allowed', 'not_allowed', 'unknown']),
      businessHours: flag(),
      overMinuteLimit: next() < 0.2,
      overHourLimit: next() < 0.2,
      deniedLastHour: pick([0, 0, 0, 4, 5, 9]),
      mfa: flag(),
      passkey: flag(),
      authenticationStale: flag(),
      strict: {
        allowAt: pick([60, 80]),
        deviceAndMfaFor: pick([[], ['write', 'delete', 'admin'], ['admin']]),
      },
      permissive: { allowAt: pick([40, 50]) },
      neutral: { allowAt: 65, denyBelow: pick([40, 50, 65]) },
      watchdog: {
        velocity: flag(),
        disallowedCountry: flag(),
        maxRecentDenials: pick([1, 5]),
        offHoursActions: pick([[], ['admin', 'delete']]),
      },
    }));
  }

  it('builds contexts that match access.cedarschema (not checked per call, for speed)', () => {
    const schema = text('access.cedarschema');
    const checkContext = (context: unknown, action: string) =>
      cedar.checkParseContext({
        context: context as Record<string, cedar.CedarValueJson>,
        schema,
        action: { type: 'Access::Action', id: action },
      });
    for (const overrides of [
      {},
      { action: 'admin' as const, role: 'write' as const },
      { network: { country: null } },
    ]) {
      const access = request(overrides);
      const context = evaluatorContext(TEMPLATE, access, trustScore(TEMPLATE, access));
      expect(checkContext(context, access.action)).toEqual({ type: 'success' });
    }
    // The check has teeth: a mistyped or missing attribute fails it.
    const context = evaluatorContext(TEMPLATE, request(), trustScore(TEMPLATE, request()));
    expect(checkContext({ ...context, score: '95' }, 'read').type).toBe('failure');
    const { mfa: _mfa, ...withoutMfa } = context;
    expect(checkContext(withoutMfa, 'read').type).toBe('failure');
  });

  it('votes as each evaluator\u2019s own policy set decides on its own', () => {
    // Each file on its own, as Cedar reads it (policy ids policy0..N), to compare with.
    expect(cedar.preparseSchema('test-access', text('access.cedarschema')).type).toBe('success');
    for (const name of ['strict', 'permissive', 'neutral', 'watchdog']) {
      expect(cedar.preparsePolicySet(`test-${name}`, { staticPolicies: text(`${name}.cedar`) }).type).toBe(
        'success',
      );
    }
    // The first Evaluators answers most of these from the set that reads the thresholds from the
    // context (each context's settings are new to it); the second writes each context's thresholds into
    // a set of their own at once, and keeps only three such sets, so most calls replace one.
    const evaluators = Evaluators.load(contexts(1)[0] as EvaluatorContext);
    const fewSets = Evaluators.load(contexts(1)[0] as EvaluatorContext, { settingsSets: 3, promoteAfter: 1 });
    const seen = new Set<string>();
    for (const context of contexts(150)) {
      const combined = evaluators.votes(context);
      expect(fewSets.votes(context)).toEqual(combined);
      for (const vote of combined) {
        const alone = cedar.statefulIsAuthorized({
          principal: { type: 'Access::Member', id: 'member' },
          action: { type: 'Access::Action', id: context.action },
          resource: { type: 'Access::Vault', id: 'vault' },
          context: context as unknown as Record<string, cedar.CedarValueJson>,
          entities: [],
          preparsedPolicySetId: `test-${vote.evaluator}`,
          preparsedSchemaName: 'test-access',
          validateRequest: true,
        });
        if (alone.type !== 'success') throw new Error(JSON.stringify(alone.errors));
        const { decision, diagnostics } = alone.response;
        const expected = diagnostics.reason.length === 0 ? 'abstain' : decision;
        expect(vote.vote, `${vote.evaluator} on ${JSON.stringify(context)}`).toBe(expected);
        expect(vote.reasons.length).toBe(diagnostics.reason.length);
        seen.add(`${vote.evaluator}:${vote.vote}`);
      }
    }
    // The sample reached every vote each evaluator can cast.
    expect([...seen].sort()).toEqual(
      [
        'neutral:abstain',
        'neutral:allow',
        'neutral:deny',
        'permissive:allow',
        'permissive:deny',
        'strict:allow',
        'strict:deny',
        'watchdog:abstain',
        'watchdog:deny',
      ].sort(),
    );
  });
});

describe('the decision rule', () => {
  const votes = (...cast: [V, V, V, V]): Vote[] =>
    (['strict', 'permissive', 'neutral', 'watchdog'] as const).map((evaluator, i) => ({
      evaluator,
      vote: cast[i] as V,
      reasons: cast[i] === 'abstain' ? [] : [`${evaluator} says so`],
    }));

  it('majority: more allows than denies among the votes cast; a tie or no vote denies', () => {
    expect(applyRule('majority', true, votes('allow', 'deny', 'allow', 'abstain'))).toMatchObject({
      allowed: true,
      vetoed: false,
      explanation: 'majority (2 allow, 1 deny, 1 abstain): more allow than deny votes: allowed',
    });
    expect(applyRule('majority', true, votes('allow', 'deny', 'abstain', 'abstain'))).toMatchObject({
      allowed: false,
      explanation: 'majority (1 allow, 1 deny, 2 abstain): a tie denies: denied',
    });
    expect(applyRule('majority', true, votes('abstain', 'abstain', 'abstain', 'abstain'))).toMatchObject({
      allowed: false,
      explanation: 'majority (0 allow, 0 deny, 4 abstain): every evaluator abstained: denied',
    });
    expect(applyRule('majority', false, votes('deny', 'deny', 'allow', 'abstain')).allowed).toBe(false);
  });

  it('unanimous: at least one allow and no deny', () => {
    expect(applyRule('unanimous', true, votes('allow', 'abstain', 'allow', 'abstain')).allowed).toBe(true);
    expect(applyRule('unanimous', true, votes('allow', 'allow', 'deny', 'abstain'))).toMatchObject({
      allowed: false,
      explanation: 'unanimous (2 allow, 1 deny, 1 abstain): not every vote cast allows: denied',
    });
    expect(applyRule('unanimous', true, votes('abstain', 'abstain', 'abstain', 'abstain')).allowed).toBe(
      false,
    );
  });

  it('any: one allow is enough', () => {
    expect(applyRule('any', true, votes('deny', 'allow', 'deny', 'abstain')).allowed).toBe(true);
    expect(applyRule('any', true, votes('deny', 'deny', 'abstain', 'abstain')).allowed).toBe(false);
  });

  it('a watchdog deny is a veto when the rule says so, else one vote among four', () => {
    const threeToOne = votes('allow', 'allow', 'allow', 'deny');
    for (const kind of ['majority', 'unanimous', 'any'] as const) {
      expect(applyRule(kind, true, threeToOne)).toMatchObject({
        allowed: false,
        vetoed: true,
        explanation: 'watchdog veto (watchdog says so): denied whatever the others vote',
      });
    }
    expect(applyRule('majority', false, threeToOne)).toMatchObject({ allowed: true, vetoed: false });
    expect(applyRule('any', false, threeToOne).allowed).toBe(true);
    expect(applyRule('unanimous', false, threeToOne).allowed).toBe(false);
  });

  it('comes from the template: any without veto lets the permissive vote through', () => {
    const fromUs = request({ network: { country: 'US' } });
    expect(policy.decide(TEMPLATE, fromUs).outcome).toBe('deny');
    const anyNoVeto = parseTrustTemplate({
      countries: { allowed: ['DE'] },
      rule: { kind: 'any', watchdogVeto: false },
    });
    const decision = policy.decide(anyNoVeto, fromUs);
    expect(votesOf(decision)).toEqual(['deny', 'allow', 'abstain', 'deny']);
    expect(decision.outcome).toBe('allow');
    expect(decision.rule).toEqual({
      kind: 'any',
      watchdogVeto: false,
      explanation: 'any (1 allow, 2 deny, 1 abstain): at least one evaluator allows: allowed',
    });
  });
});

describe('step-up and guardian approval', () => {
  const weak = request({ device: UNKNOWN_DEVICE, authentication: PASSWORD });

  it('asks for a step-up when fresh MFA would turn the deny into an allow', () => {
    const decision = policy.decide(TEMPLATE, weak);
    expect(decision.outcome).toBe('step_up_required');
    // The decision shown is the one taken now; the explanation gives the counterfactual.
    expect(decision.score).toBe(40);
    expect(decision.rule.explanation).toBe(
      'majority (0 allow, 3 deny, 1 abstain): more deny than allow votes: denied; with fresh multi-factor ' +
        'authentication the score would be 65 and the access allowed: step-up required',
    );
    // After the step-up, the same member is allowed.
    const stepped = policy.decide(TEMPLATE, {
      ...weak,
      authentication: { methods: ['pwd', 'mfa'], ageSeconds: 0 },
    });
    expect(stepped.outcome).toBe('allow');
  });

  it('does not ask for a step-up the template turns off, or one that would not help', () => {
    const noStepUp = parseTrustTemplate({ countries: { allowed: ['DE'] }, onDeny: { stepUp: false } });
    expect(policy.decide(noStepUp, weak).outcome).toBe('deny');
    // Already fresh MFA: nothing to step up to.
    const fresh = request({ device: NO_FINGERPRINT });
    expect(policy.decide(TEMPLATE, fresh).outcome).toBe('deny');
    // MFA, but older than freshSeconds and still denied: a step-up would not raise the score enough.
    const older = request({ device: NO_FINGERPRINT, authentication: { methods: ['mfa'], ageSeconds: 3600 } });
    expect(policy.decide(TEMPLATE, older).outcome).toBe('deny');
    // Too weak even with MFA (30 + 25 = 55: a tie).
    expect(
      policy.decide(TEMPLATE, request({ device: NO_FINGERPRINT, authentication: PASSWORD })).outcome,
    ).toBe('deny');
  });

  it('asks the guardians when no step-up helps and the vault has guardians', () => {
    const hopeless = request({ device: NO_FINGERPRINT, authentication: PASSWORD, guardiansAvailable: true });
    const decision = policy.decide(TEMPLATE, hopeless);
    expect(decision.outcome).toBe('guardian_approval_required');
    expect(decision.rule.explanation).toMatch(/: denied; the vault's guardians may approve it$/);
    const noGuardians = parseTrustTemplate({ onDeny: { guardianApproval: false } });
    expect(policy.decide(noGuardians, hopeless).outcome).toBe('deny');
  });

  it('neither step-up nor guardians lift a watchdog veto unless the template lets guardians', () => {
    const racing = request({
      authentication: PASSWORD,
      recent: { lastMinute: 50, lastHour: 50, deniedLastHour: 0 },
      guardiansAvailable: true,
    });
    const decision = policy.decide(TEMPLATE, racing);
    expect(decision.votes[3]?.vote).toBe('deny');
    expect(decision.outcome).toBe('deny');
    const overridable = parseTrustTemplate({ onDeny: { guardiansOverrideVeto: true } });
    expect(policy.decide(overridable, racing).outcome).toBe('guardian_approval_required');
  });
});

describe('the trust score', () => {
  const sum = (decision: { contributions: Array<{ points: number }> }) =>
    decision.contributions.reduce((total, c) => total + c.points, 0);

  it('explains every point: the contributions add up to the score', () => {
    const uncached = AccessPolicy.load({ cacheSize: 0 });
    let checked = 0;
    for (const device of [{ registered: true, fingerprintPresent: true }, UNKNOWN_DEVICE, NO_FINGERPRINT]) {
      for (const country of ['DE', 'US', null]) {
        for (const methods of [[], ['pwd'], ['pwd', 'otp'], ['hwk', 'user', 'mfa']]) {
          for (const deniedLastHour of [0, 2, 9]) {
            for (const at of [TUESDAY_10_UTC, SATURDAY_10_UTC]) {
              const varied = request({
                device,
                network: { country },
                at,
                authentication: { methods, ageSeconds: 100_000 },
                recent: { lastMinute: deniedLastHour * 5, lastHour: 700, deniedLastHour },
                proofs: { verified: deniedLastHour, unverified: 1 },
              });
              const decision = policy.decide(TEMPLATE, varied);
              expect(sum(decision)).toBe(decision.score);
              // The memo changes nothing: a policy that evaluates every decision agrees.
              expect(uncached.decide(TEMPLATE, varied)).toEqual(decision);
              expect(decision.score).toBeGreaterThanOrEqual(0);
              expect(decision.score).toBeLessThanOrEqual(100);
              checked += 1;
            }
          }
        }
      }
    }
    expect(checked).toBe(216);
  });

  it('lists each signal with its points and what it saw', () => {
    const { contributions } = trustScore(
      TEMPLATE,
      request({
        device: UNKNOWN_DEVICE,
        network: { country: 'US' },
        at: SATURDAY_10_UTC,
        authentication: { methods: ['swk', 'user', 'mfa'], ageSeconds: 50_000 },
        recent: { lastMinute: 31, lastHour: 601, deniedLastHour: 9 },
        proofs: { verified: 3, unverified: 2 },
      }),
    );
    expect(contributions).toEqual([
      { signal: 'base', points: 50, detail: 'the template\u2019s base score' },
      { signal: 'device', points: -10, detail: 'a device the member has not registered' },
      { signal: 'country', points: -40, detail: 'US is not an allowed country' },
      { signal: 'hours', points: -10, detail: 'sat 10:00 UTC: outside business hours' },
      {
        signal: 'velocity.minute',
        points: -25,
        detail: '31 accesses in the last minute, over the limit of 30',
      },
      {
        signal: 'velocity.hour',
        points: -15,
        detail: '601 accesses in the last hour, over the limit of 600',
      },
      // 9 × -5, limited to 25.
      { signal: 'recent-denials', points: -25, detail: '9 denied accesses in the last hour' },
      { signal: 'authentication.factors', points: 15, detail: 'multi-factor (amr swk, user, mfa)' },
      { signal: 'authentication.passkey', points: 5, detail: 'a passkey' },
      { signal: 'authentication.age', points: -15, detail: 'authenticated 50000 s ago, more than 43200 s' },
      // 3 × 5, limited to 10; unverified proofs count for nothing and say so.
      { signal: 'proofs', points: 10, detail: '3 verified context proofs' },
      { signal: 'proofs.unverified', points: 0, detail: '2 unverified context proofs: not counted' },
      // The signals sum to -60: the score stops at 0.
      { signal: 'bounds', points: 60, detail: 'the score is kept in 0..100 (signals sum to -60)' },
    ]);
  });

  it('keeps the score at most 100', () => {
    const generous = parseTrustTemplate({ signals: { base: 90 } });
    const scored = trustScore(generous, request({ proofs: { verified: 2, unverified: 0 } }));
    expect(scored.score).toBe(100);
    expect(scored.contributions.at(-1)).toEqual({
      signal: 'bounds',
      points: -45,
      detail: 'the score is kept in 0..100 (signals sum to 145)',
    });
  });

  it('reads business hours in the template\u2019s time zone', () => {
    // 07:30 UTC on a Tuesday is 08:30 in Berlin (business hours) and 02:30 in New York (not).
    const at = new Date('2025-03-04T07:30:00Z');
    const hours = (timeZone: string) =>
      trustScore(parseTrustTemplate({ businessHours: { timeZone } }), request({ at })).contributions.find(
        (c) => c.signal === 'hours',
      );
    expect(hours('Europe/Berlin')).toEqual({
      signal: 'hours',
      points: 5,
      detail: 'tue 08:30 Europe/Berlin: business hours',
    });
    expect(hours('America/New_York')).toEqual({
      signal: 'hours',
      points: -10,
      detail: 'tue 02:30 America/New_York: outside business hours',
    });
    expect(hours('UTC')?.points).toBe(-10);
    // The end is exclusive; the days are the local ones (Monday 01:00 in Tokyo is Sunday in UTC).
    const tokyo = parseTrustTemplate({
      businessHours: { timeZone: 'Asia/Tokyo', days: ['mon'], start: '00:00', end: '02:00' },
    });
    expect(
      trustScore(tokyo, request({ at: new Date('2025-03-02T16:00:00Z') })).contributions[3]?.points,
    ).toBe(5);
    expect(
      trustScore(tokyo, request({ at: new Date('2025-03-02T17:00:00Z') })).contributions[3]?.points,
    ).toBe(-10);
    // The local time of the last second read is kept per zone; the next second, a new minute, is read anew.
    const berlin = parseTrustTemplate({ businessHours: { timeZone: 'Europe/Berlin', start: '09:00' } });
    const detail = (at: string) =>
      trustScore(berlin, request({ at: new Date(at) })).contributions.find((c) => c.signal === 'hours')
        ?.detail;
    expect(detail('2025-03-04T07:59:59.100Z')).toBe('tue 08:59 Europe/Berlin: outside business hours');
    expect(detail('2025-03-04T07:59:59.900Z')).toBe('tue 08:59 Europe/Berlin: outside business hours');
    expect(detail('2025-03-04T08:00:00.000Z')).toBe('tue 09:00 Europe/Berlin: business hours');
  });

  it('treats every country as allowed when the template lists none', () => {
    const open = trustScore(DEFAULT_TRUST_TEMPLATE, request({ network: { country: 'US' } }));
    expect(open.contributions[2]).toEqual({
      signal: 'country',
      points: 5,
      detail: 'US: every country is allowed',
    });
    expect(
      policy.decide(DEFAULT_TRUST_TEMPLATE, request({ network: { country: 'US' } })).votes[3]?.vote,
    ).toBe('abstain');
  });

  it('knows MFA and passkeys from the amr values', () => {
    expect(authenticationStrength([])).toEqual({ mfa: false, passkey: false });
    expect(authenticationStrength(['pwd'])).toEqual({ mfa: false, passkey: false });
    expect(authenticationStrength(['pwd', 'pin'])).toEqual({ mfa: false, passkey: false });
    expect(authenticationStrength(['pwd', 'otp'])).toEqual({ mfa: true, passkey: false });
    expect(authenticationStrength(['otp', 'fpt'])).toEqual({ mfa: true, passkey: false });
    expect(authenticationStrength(['pwd', 'mfa'])).toEqual({ mfa: true, passkey: false });
    expect(authenticationStrength(['hwk', 'user', 'mfa'])).toEqual({ mfa: true, passkey: true });
    expect(authenticationStrength(['swk'])).toEqual({ mfa: false, passkey: true });
  });
});

describe('trust templates', () => {
  it('ships defaults that pass the schema, and fills every field left out with them', () => {
    expect(parseTrustTemplate({})).toEqual(DEFAULT_TRUST_TEMPLATE);
    expect(templateHash(parseTrustTemplate({}))).toBe(templateHash(DEFAULT_TRUST_TEMPLATE));
    const shipped = readFileSync(
      new URL('../policies/access/default-template.yaml', import.meta.url),
      'utf8',
    );
    expect(parseTrustTemplate(shipped, 'yaml')).toEqual(DEFAULT_TRUST_TEMPLATE);

    const partial = parseTrustTemplate({
      signals: { device: { registered: 30 } },
      countries: { allowed: ['CH'] },
    });
    expect(partial.signals.device).toEqual({ registered: 30, unknown: -10, noFingerprint: -20 });
    expect(partial.signals.base).toBe(DEFAULT_TRUST_TEMPLATE.signals.base);
    expect(partial.countries.allowed).toEqual(['CH']);
    expect(partial.rule).toEqual({ kind: 'majority', watchdogVeto: true });
    expect(Object.isFrozen(partial.signals.device)).toBe(true);
  });

  it('reads YAML and JSON text alike, and hashes the normalized form', () => {
    const yaml = `
rule:
  watchdogVeto: false
  kind: unanimous
businessHours:
  start: "09:00"
  days: [mon, wed]
`;
    const json =
      '{"businessHours":{"days":["mon","wed"],"start":"09:00"},"rule":{"kind":"unanimous","watchdogVeto":false}}';
    const fromYaml = parseTrustTemplate(yaml, 'yaml');
    const fromJson = parseTrustTemplate(json, 'json');
    expect(fromYaml).toEqual(fromJson);
    expect(fromYaml.businessHours).toEqual({
      timeZone: 'UTC',
      days: ['mon', 'wed'],
      start: '09:00',
      end: '19:00',
    });
    expect(templateHash(fromYaml)).toBe(templateHash(fromJson));
    expect(templateHash(fromYaml)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(templateHash(fromYaml)).not.toBe(templateHash(DEFAULT_TRUST_TEMPLATE));
    expect(policy.decide(fromYaml, request()).templateHash).toBe(templateHash(fromYaml));
  });

  /** The field errors of a template that must be refused. */
  function errorsOf(input: unknown, contentType?: 'json' | 'yaml', pointer?: string) {
    try {
      parseTrustTemplate(input, contentType, pointer ? { pointer } : {});
    } catch (error) {
      expect(error).toMatchObject({ slug: 'validation-error', status: 400 });
      return (error as { errors: Array<{ pointer: string; detail: string }> }).errors;
    }
    throw new Error('the template was accepted');
  }

  it('names every bad field by its path', () => {
    const errors = errorsOf({
      signals: { base: 101, device: { registered: 'many' }, colour: 3 },
      countries: { allowed: ['de'] },
      businessHours: { days: ['mon', 'mon'], start: '25:00' },
      rule: { kind: 'most' },
      evaluators: { watchdog: { offHoursActions: ['sleep'] } },
      extra: true,
    });
    expect(errors.map((e) => e.pointer).sort()).toEqual(
      [
        '#/extra',
        '#/signals/colour',
        '#/signals/base',
        '#/signals/device/registered',
        '#/countries/allowed/0',
        '#/businessHours/days',
        '#/businessHours/start',
        '#/rule/kind',
        '#/evaluators/watchdog/offHoursActions/0',
      ].sort(),
    );
    expect(errors).toContainEqual({ in: 'body', pointer: '#/extra', detail: 'is not a known field' });
    expect(errors).toContainEqual({
      in: 'body',
      pointer: '#/rule/kind',
      detail: 'must be one of "majority", "unanimous", "any"',
    });
  });

  it('checks the rules across fields', () => {
    const errors = errorsOf({
      businessHours: { timeZone: 'Mars/Olympus_Mons', start: '18:00', end: '09:00' },
      velocity: { perMinute: 100, perHour: 50 },
      authentication: { freshSeconds: 100, maxAgeSeconds: 60 },
      evaluators: { neutral: { allowAt: 40, denyBelow: 60 } },
    });
    expect(errors).toEqual([
      { in: 'body', pointer: '#/businessHours/timeZone', detail: 'is not an IANA time zone' },
      { in: 'body', pointer: '#/businessHours/end', detail: 'must be after businessHours.start' },
      { in: 'body', pointer: '#/velocity/perMinute', detail: 'must be at most velocity.perHour' },
      {
        in: 'body',
        pointer: '#/authentication/freshSeconds',
        detail: 'must be at most authentication.maxAgeSeconds',
      },
      {
        in: 'body',
        pointer: '#/evaluators/neutral/denyBelow',
        detail: 'must be at most evaluators.neutral.allowAt',
      },
    ]);
  });

  it('refuses text that does not parse, and what is not an object', () => {
    const [yamlError] = errorsOf('rule:\n  kind: any\n  kind: majority\n', 'yaml');
    expect(yamlError?.pointer).toBe('#');
    expect(yamlError?.detail).toMatch(/^is not valid YAML at line 3, column 3: Map keys must be unique/);
    expect(errorsOf('{"rule": ', 'json')[0]?.detail).toMatch(/^is not valid JSON/);
    expect(errorsOf('- a\n- b\n', 'yaml')).toEqual([
      { in: 'body', pointer: '#', detail: 'must be an object' },
    ]);
    expect(errorsOf(42)).toEqual([{ in: 'body', pointer: '#', detail: 'must be an object' }]);
    expect(errorsOf(`x: "${'y'.repeat(70_000)}"`, 'yaml')[0]?.detail).toBe('is longer than 65536 characters');
    // A YAML alias bomb is cut off rather than expanded.
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
    expect(errorsOf(bomb, 'yaml')[0]?.detail).toMatch(/^is not valid YAML: .*alias/i);
  });

  it('parses each distinct input once: the same input gives the same frozen template', () => {
    const input = { velocity: { perMinute: 12 } };
    const first = parseTrustTemplate(input);
    expect(parseTrustTemplate({ velocity: { perMinute: 12 } })).toBe(first);
    expect(Object.isFrozen(first.velocity)).toBe(true);
    // A field set to undefined is a field left out, as in JSON.
    expect(parseTrustTemplate({ velocity: undefined })).toEqual(DEFAULT_TRUST_TEMPLATE);
    // Refusals are not remembered: the same bad input is refused again.
    for (let i = 0; i < 2; i++)
      expect(errorsOf({ velocity: { perMinute: 0 } })[0]?.pointer).toBe('#/velocity/perMinute');
  });

  it('points below where the template sits in a larger body', () => {
    expect(errorsOf({ signals: { base: -1 } }, 'json', '#/template')).toEqual([
      { in: 'body', pointer: '#/template/signals/base', detail: 'must be >= 0' },
    ]);
  });

  it('decides with what the template says, not the defaults', () => {
    const template: TrustTemplate = parseTrustTemplate({ signals: { base: 0 }, rule: { kind: 'unanimous' } });
    const decision = policy.decide(template, request());
    expect(decision.score).toBe(45);
    expect(decision.rule.kind).toBe('unanimous');
    expect(decision.outcome).toBe('deny');
  });
});
