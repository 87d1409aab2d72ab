import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distanceKm, type Location, locate } from '../src/http/geo.js';
import { signalsOf } from '../src/modules/identity/adaptive-mfa.js';
import { HISTORY_LENGTH, SignInHistory } from '../src/modules/identity/sign-in-history.js';
import { assessRisk, DEFAULT_RISK_WEIGHTS, type RiskSignals } from '../src/modules/policy/risk.js';
import { migrate, openStore, type Store } from '../src/store/database.js';
import type { IdentitySignInsTable } from '../src/store/schema.js';
import { freshPgSchema, PG_URL } from './helpers.js';
import { ENGINES, TestClock } from './identity-helpers.js';

const LONDON: Location = { country: 'GB', latitude: 51.5, longitude: -0.12, accuracyKm: 20 };
const PARIS: Location = { country: 'FR', latitude: 48.86, longitude: 2.35, accuracyKm: 20 };
const SYDNEY: Location = { country: 'AU', latitude: -33.87, longitude: 151.21, accuracyKm: 20 };

const QUIET: RiskSignals = {
  newDevice: false,
  newAddress: false,
  newCountry: false,
  travel: null,
  signInsLastHour: 0,
  recentFailures: 0,
};

function row(at: Date, fields: Partial<IdentitySignInsTable> = {}, location: Location | null = LONDON) {
  return {
    id: `sgn_${Math.random()}`,
    project_id: 'prj',
    user_id: 'usr',
    at: at.toISOString(),
    address_hash: 'home',
    device_hash: 'laptop',
    country: location?.country ?? null,
    latitude: location?.latitude ?? null,
    longitude: location?.longitude ?? null,
    accuracy_km: location?.accuracyKm ?? null,
    ...fields,
  };
}

describe('risk scores', () => {
  it('are zero for a sign-in like the previous ones, and explain every point otherwise', () => {
    expect(assessRisk(QUIET)).toEqual({ score: 0, reasons: [] });
    const risky = assessRisk({
      ...QUIET,
      newDevice: true,
      newCountry: true,
      travel: { km: 17_000, hours: 2 },
    });
    expect(risky.score).toBe(100);
    expect(risky.reasons.map((reason) => [reason.signal, reason.points])).toEqual([
      ['impossible_travel', 60],
      ['new_device', 30],
      ['new_country', 30],
    ]);
    expect(risky.reasons[0]?.detail).toBe('17000 km from the previous sign-in in 2.0 h');
  });

  it('count velocity and failed attempts only past their limits, and a project can weigh signals', () => {
    expect(assessRisk({ ...QUIET, signInsLastHour: 4, recentFailures: 2 }).score).toBe(0);
    expect(assessRisk({ ...QUIET, signInsLastHour: 5, recentFailures: 3 }).score).toBe(40);
    const noDevices = { ...DEFAULT_RISK_WEIGHTS, new_device: 0 };
    expect(assessRisk({ ...QUIET, newDevice: true }, noDevices)).toEqual({ score: 0, reasons: [] });
  });

  it('treat travel slower than an airliner as travel', () => {
    expect(assessRisk({ ...QUIET, travel: { km: 340, hours: 6 } }).score).toBe(0);
    expect(assessRisk({ ...QUIET, travel: { km: 340, hours: 0.25 } }).reasons[0]?.signal).toBe(
      'impossible_travel',
    );
  });
});

describe('sign-in signals', () => {
  const now = new Date('2026-11-21T12:00:00Z');
  const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);
  const current = { addressHash: 'home', deviceHash: 'laptop', location: LONDON, at: now };

  it('on a first sign-in, say only that the device is new', () => {
    expect(signalsOf([], current, 0)).toEqual({ ...QUIET, newDevice: true });
  });

  it('see nothing new from the usual device, address and city', () => {
    expect(signalsOf([row(hoursAgo(30)), row(hoursAgo(50))], current, 0)).toEqual(QUIET);
  });

  it('notice a new device, address and country, and a flight no plane makes', () => {
    const signals = signalsOf(
      [row(hoursAgo(3))],
      { addressHash: 'cafe', deviceHash: null, location: SYDNEY, at: now },
      4,
    );
    expect(signals).toMatchObject({ newDevice: true, newAddress: true, newCountry: true, recentFailures: 4 });
    expect(signals.travel?.hours).toBeCloseTo(3);
    expect(signals.travel?.km).toBeGreaterThan(16_000);
    expect(assessRisk(signals).score).toBe(100);
  });

  it('measure travel beyond the accuracy of both places, so two guesses of one region are no trip', () => {
    const vague = { ...PARIS, accuracyKm: 500 };
    expect(signalsOf([row(hoursAgo(0.1))], { ...current, location: vague }, 0).travel).toBeNull();
    const precise = signalsOf([row(hoursAgo(0.5))], { ...current, location: PARIS }, 0).travel;
    expect(precise?.km).toBeCloseTo(distanceKm(LONDON, PARIS) - 40, 0);
  });

  it('count the sign-ins of the last hour', () => {
    const history = [0.1, 0.2, 0.5, 0.9, 1.5].map((hours) => row(hoursAgo(hours)));
    expect(signalsOf(history, current, 0).signInsLastHour).toBe(4);
  });

  it('never call an unlocated address a new country', () => {
    expect(signalsOf([row(hoursAgo(5))], { ...current, location: null }, 0).newCountry).toBe(false);
    expect(signalsOf([row(hoursAgo(5), {}, null)], { ...current, location: SYDNEY }, 0).newCountry).toBe(
      false,
    );
  });
});

describe('GeoLite lookups', () => {
  it('locate public addresses, v4 and v6, and nothing private or malformed', async () => {
    expect(await locate('81.2.69.142')).toMatchObject({ country: 'GB' });
    expect(await locate('2001:4860:4860::8888')).toMatchObject({ country: 'US' });
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.0.7', '::1', 'not-an-ip']) {
      expect(await locate(ip)).toBeNull();
    }
  });
});

describe.each(ENGINES)('sign-in history on %s', (engine) => {
  let store: Store;
  let history: SignInHistory;
  let cleanup: () => Promise<void>;
  const clock = new TestClock();

  beforeAll(async () => {
    if (engine === 'postgres' && PG_URL) {
      const schema = await freshPgSchema(PG_URL);
      store = openStore(schema.url);
      cleanup = async () => {
        await store.close();
        await schema.drop();
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'persona-sign-ins-'));
      store = openStore(`sqlite:${join(dir, 'db.sqlite')}`);
      cleanup = async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    await migrate(store);
    history = new SignInHistory(store.db, new Uint8Array(32).fill(7), clock.now);
  });
  afterAll(() => cleanup());

  it('keeps the newest sign-ins, with keyed hashes instead of addresses and devices', async () => {
    for (let i = 0; i < HISTORY_LENGTH + 5; i++) {
      clock.advance(60_000);
      await history.record('prj_a', 'usr_a', {
        ip: '81.2.69.142',
        deviceId: `device-${i}`,
        location: LONDON,
      });
    }
    const recent = await history.recent('prj_a', 'usr_a');
    expect(recent).toHaveLength(HISTORY_LENGTH);
    expect(recent[0]?.device_hash).toBe(history.deviceHash('prj_a', `device-${HISTORY_LENGTH + 4}`));
    const stored = await store.db.selectFrom('identity_sign_ins').selectAll().execute();
    expect(stored).toHaveLength(HISTORY_LENGTH);
    expect(JSON.stringify(stored)).not.toContain('81.2.69.142');
    expect(stored[0]).toMatchObject({ country: 'GB', latitude: 51.5, longitude: -0.12, accuracy_km: 20 });
    // The same address hashes differently in another project: histories cannot be joined across tenants.
    expect(history.addressHash('prj_b', '81.2.69.142')).not.toBe(history.addressHash('prj_a', '81.2.69.142'));
  });

  it('forgets sign-ins older than 90 days, and all of a user on erasure', async () => {
    clock.advance(91 * 86_400_000);
    expect(await history.recent('prj_a', 'usr_a')).toEqual([]);
    await history.record('prj_a', 'usr_a', { ip: '10.0.0.1', deviceId: null, location: null });
    expect(await store.db.selectFrom('identity_sign_ins').select('id').execute()).toHaveLength(1);
    await history.erase(store.db, 'prj_a', 'usr_a');
    expect(await history.recent('prj_a', 'usr_a')).toEqual([]);
  });
});
