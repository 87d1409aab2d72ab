import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { Problem } from '../src/http/problem.js';
import { checkEndpointUrl } from '../src/modules/webhooks/endpoint-url.js';
import { isEventType, matchesFilters } from '../src/modules/webhooks/event-types.js';
import {
  DEFAULT_RETRY_SCHEDULE_MS,
  decide,
  HOUR,
  jittered,
  MINUTE,
  type RetryPolicy,
  retryAfterDelay,
  SECOND,
} from '../src/modules/webhooks/schedule.js';
import {
  generateKey,
  publicKeyText,
  signatureHeader,
  signingKey,
  signOne,
} from '../src/modules/webhooks/signing.js';

// Standard Webhooks spec test vector (libraries/javascript/src/webhook.test.ts, "sign function works").
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
// v1a fixture: RFC 8032 test 1 seed and public key (reference §4).
const V1A = {
  seed: 'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=',
  publicKey: 'whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=',
  signature: 'v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw==',
};

const keyOf = (secret: string) =>
  signingKey('v1', new Uint8Array(Buffer.from(secret.slice('whsec_'.length), 'base64')));

describe('Standard Webhooks signatures', () => {
  it('signs the spec test vector (v1, HMAC-SHA256 with the base64-decoded secret)', () => {
    expect(signOne(keyOf(VECTOR.secret), VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
    // The independent library agrees on the same inputs.
    const library = new Webhook(VECTOR.secret).sign(
      VECTOR.id,
      new Date(VECTOR.timestamp * 1000),
      VECTOR.payload,
    );
    expect(library).toBe(VECTOR.signature);
  });

  it('signs the v1a fixture (Ed25519, RFC 8032 test 1 key) and derives its whpk_ public key', () => {
    const seed = new Uint8Array(Buffer.from(V1A.seed, 'base64'));
    expect(publicKeyText(seed)).toBe(V1A.publicKey);
    expect(signOne(signingKey('v1a', seed), VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(V1A.signature);
  });

  it('is verified by the standardwebhooks library, also with two signatures during a rotation', () => {
    const current = generateKey('v1');
    const previous = generateKey('v1');
    const id = 'evt_0123';
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'verification.approved', data: { session_id: 'vrf_1' } });
    const header = signatureHeader(
      [signingKey('v1', current.material), signingKey('v1', previous.material)],
      id,
      timestamp,
      body,
    );
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': header };
    for (const secret of [current.shown, previous.shown]) {
      expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    }
    expect(() => new Webhook(generateKey('v1').shown).verify(body, headers)).toThrow();
    // One byte of the body changed: no signature matches.
    expect(() => new Webhook(current.shown).verify(`${body} `, headers)).toThrow();
  });

  it('makes v1a keys whose whpk_ public key verifies the signature', () => {
    const { material, shown } = generateKey('v1a');
    expect(shown).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const signature = signOne(signingKey('v1a', material), 'evt_1', 1700000000, '{}');
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(shown.slice(5), 'base64').toString('base64url') },
      format: 'jwk',
    });
    const ok = verify(
      null,
      Buffer.from('evt_1.1700000000.{}'),
      publicKey,
      Buffer.from(signature.slice(4), 'base64'),
    );
    expect(ok).toBe(true);
  });

  it('makes v1 secrets of 32 random bytes', () => {
    const a = generateKey('v1');
    const b = generateKey('v1');
    expect(a.shown).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.shown.slice(6), 'base64')).toHaveLength(32);
    expect(a.shown).not.toBe(b.shown);
  });
});

describe('retry decisions', () => {
  const policy: RetryPolicy = {
    retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
    jitter: 0,
    maxRetryAfterMs: 10 * HOUR,
    maxThrottles: 3,
    random: () => 0.5,
  };
  const now = 1_000_000;
  const answer = (statusCode: number | null, retryAfter: string | null = null, abort = false) => ({
    statusCode,
    retryAfter,
    abort,
  });
  const fresh = { failures: 0, throttles: 0 };

  it('follows the schedule 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up after 8 attempts', () => {
    const delays: number[] = [];
    let state = fresh;
    for (;;) {
      const verdict = decide(answer(500), state, now, policy);
      if (verdict.kind !== 'retry') {
        expect(verdict).toEqual({ kind: 'failed', failures: 8, throttles: 0 });
        break;
      }
      delays.push(verdict.nextAttemptAt - now);
      state = verdict;
    }
    expect(delays).toEqual([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
  });

  it('counts 2xx as success, everything else (3xx, 4xx, no answer) as failure, 410 as gone', () => {
    expect(decide(answer(200), fresh, now, policy).kind).toBe('succeeded');
    expect(decide(answer(204), fresh, now, policy).kind).toBe('succeeded');
    for (const status of [301, 302, 400, 401, 404, 500, 503, null]) {
      expect(decide(answer(status), fresh, now, policy)).toMatchObject({ kind: 'retry', failures: 1 });
    }
    expect(decide(answer(410), fresh, now, policy).kind).toBe('gone');
  });

  it('stops at once when the receiver answers webhook-delivery: abort-message', () => {
    expect(decide(answer(400, null, true), fresh, now, policy)).toMatchObject({ kind: 'failed' });
  });

  it('does not use up an attempt on 429, and honours Retry-After on 429, 502 and 504 (capped)', () => {
    // Two failures so far: the 429 waits the same 5 min again instead of moving on to 30 min.
    const throttled = decide(answer(429, '120'), { failures: 2, throttles: 0 }, now, policy);
    expect(throttled).toEqual({ kind: 'retry', failures: 2, throttles: 1, nextAttemptAt: now + 5 * MINUTE });
    expect(decide(answer(429, '7200'), fresh, now, policy)).toMatchObject({
      failures: 0,
      nextAttemptAt: now + 2 * HOUR,
    });
    expect(decide(answer(502, '600'), fresh, now, policy)).toMatchObject({
      failures: 1,
      nextAttemptAt: now + 10 * MINUTE,
    });
    expect(decide(answer(504, '99999999'), fresh, now, policy)).toMatchObject({
      nextAttemptAt: now + 10 * HOUR,
    });
    // A 503's Retry-After is not one of the honoured ones: the schedule applies.
    expect(decide(answer(503, '600'), fresh, now, policy)).toMatchObject({ nextAttemptAt: now + 5 * SECOND });
    // Endless 429s end up counting.
    expect(decide(answer(429), { failures: 0, throttles: 3 }, now, policy)).toMatchObject({
      failures: 1,
      throttles: 3,
    });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterDelay('30', now)).toBe(30 * SECOND);
    expect(retryAfterDelay(new Date(now + 90 * SECOND).toUTCString(), now)).toBe(90 * SECOND);
    expect(retryAfterDelay('soon', now)).toBeNull();
    expect(retryAfterDelay(null, now)).toBeNull();
  });

  it('jitters each delay within ±20 %', () => {
    expect(jittered(1000, 0.2, () => 0)).toBe(800);
    expect(jittered(1000, 0.2, () => 1)).toBe(1200);
    expect(jittered(1000, 0.2, () => 0.5)).toBe(1000);
  });
});

describe('event types and filters', () => {
  it('accepts dotted lower-case types only', () => {
    expect(isEventType('verification.approved')).toBe(true);
    expect(isEventType('verification.needs_review')).toBe(true);
    for (const bad of ['verification', 'Verification.approved', 'verification.', '.x', 'a.b-c']) {
      expect(isEventType(bad)).toBe(false);
    }
  });

  it('matches exact types and prefix wildcards; no filter matches all', () => {
    expect(matchesFilters([], 'verification.approved')).toBe(true);
    expect(matchesFilters(['verification.*'], 'verification.approved')).toBe(true);
    expect(matchesFilters(['verification.*'], 'verifications.approved')).toBe(false);
    expect(matchesFilters(['verification.approved'], 'verification.declined')).toBe(false);
    expect(matchesFilters(['webhook.test', 'verification.declined'], 'verification.declined')).toBe(true);
  });
});

describe('endpoint URLs', () => {
  const refused = (url: string, trusted: string[] = []) => {
    try {
      checkEndpointUrl(url, trusted);
    } catch (error) {
      expect(error).toBeInstanceOf(Problem);
      expect((error as Problem).errors?.[0]?.pointer).toBe('#/url');
      return (error as Problem).message;
    }
    throw new Error(`${url} was accepted`);
  };

  it('refuses plain http, private and metadata literals, credentials and fragments', () => {
    expect(refused('http://10.0.0.1/x')).toMatch(/https/);
    for (const url of [
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://169.254.169.254/latest/meta-data',
      'https://10.1.2.3/',
      'https://[::ffff:127.0.0.1]/',
      'https://2130706433/',
      'https://[fd00::1]/',
    ]) {
      expect(refused(url)).toMatch(/non-public address/);
    }
    expect(refused('https://user:pass@example.com/')).toMatch(/credentials/);
    expect(refused('https://example.com/#x')).toMatch(/fragment/);
    expect(refused('example.com/hook')).toMatch(/absolute/);
  });

  it('accepts public https URLs, and trusted hosts over http', () => {
    expect(checkEndpointUrl('https://hooks.example.com/in?x=1', [])).toBe('https://hooks.example.com/in?x=1');
    expect(checkEndpointUrl('http://127.0.0.1:8080/in', ['127.0.0.1'])).toBe('http://127.0.0.1:8080/in');
    expect(refused('http://127.0.0.1:8080/in', ['127.0.0.1:9090'])).toMatch(/https/);
  });
});
