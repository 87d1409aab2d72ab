import { describe, expect, it } from 'vitest';
import type { ProviderCapabilities, ProviderKind } from '../src/modules/kyc/providers/types.js';
import {
  checkRules,
  MAX_ROUTING_RULES,
  type ProviderChoice,
  type RoutingRule,
  route,
} from '../src/modules/kyc/routing.js';

const EVERYTHING: ProviderCapabilities = {
  checks: ['document', 'selfie', 'liveness', 'watchlist', 'age', 'address'],
  documentTypes: null,
  countries: null,
};

function provider(
  id: string,
  overrides: Partial<Omit<ProviderChoice, 'settings'>> & { kind?: ProviderKind } = {},
): ProviderChoice {
  const { kind = 'onfido', ...rest } = overrides;
  return {
    settings: { id, kind, baseUrl: 'https://api.example', secrets: {}, options: {} },
    capabilities: EVERYTHING,
    enabled: true,
    priority: 10,
    costCents: 100,
    timeoutMs: 1_000,
    maxRetries: 0,
    ...rest,
  };
}

const ids = (choices: ProviderChoice[]) => choices.map((choice) => choice.settings.id);

describe('route', () => {
  const onfido = provider('vpc_onfido', { priority: 1, costCents: 300 });
  const sumsub = provider('vpc_sumsub', { kind: 'sumsub', priority: 2, costCents: 150 });
  const veriff = provider('vpc_veriff', { kind: 'veriff', priority: 3, costCents: 90 });
  const all = [veriff, sumsub, onfido];

  it('orders every enabled provider by priority when no rule matches', () => {
    expect(ids(route([], all, { checks: ['document'] }))).toEqual(['vpc_onfido', 'vpc_sumsub', 'vpc_veriff']);
    const rules: RoutingRule[] = [{ name: 'uk', match: { countries: ['GBR'] }, order: 'cost' }];
    expect(ids(route(rules, all, { country: 'FRA', checks: ['document'] }))).toEqual([
      'vpc_onfido',
      'vpc_sumsub',
      'vpc_veriff',
    ]);
  });

  it('breaks priority ties by cost, then by id; cost ties by priority, then id', () => {
    const a = provider('vpc_a', { priority: 1, costCents: 200 });
    const b = provider('vpc_b', { priority: 1, costCents: 100 });
    const c = provider('vpc_c', { priority: 1, costCents: 100 });
    const d = provider('vpc_d', { priority: 0, costCents: 100 });
    expect(ids(route([], [a, c, b, d], { checks: [] }))).toEqual(['vpc_d', 'vpc_b', 'vpc_c', 'vpc_a']);
    const byCost: RoutingRule[] = [{ name: 'cheap', match: {}, order: 'cost' }];
    expect(ids(route(byCost, [a, c, b, d], { checks: [] }))).toEqual(['vpc_d', 'vpc_b', 'vpc_c', 'vpc_a']);
  });

  it('orders by cost when the matching rule says so', () => {
    const rules: RoutingRule[] = [
      { name: 'cheapest for ids', match: { documentTypes: ['ID_CARD'] }, order: 'cost' },
    ];
    expect(ids(route(rules, all, { documentType: 'ID_CARD', checks: ['document'] }))).toEqual([
      'vpc_veriff',
      'vpc_sumsub',
      'vpc_onfido',
    ]);
  });

  it('takes the first matching rule, with its own provider list in its order', () => {
    const rules: RoutingRule[] = [
      { name: 'germany', match: { countries: ['DEU'] }, providers: ['vpc_veriff', 'vpc_onfido'] },
      { name: 'passports', match: { documentTypes: ['PASSPORT'] }, providers: ['vpc_sumsub'] },
    ];
    // Both rules match a German passport: the first decides, and only its providers are tried.
    expect(
      ids(route(rules, all, { country: 'DEU', documentType: 'PASSPORT', checks: ['document'] })),
    ).toEqual(['vpc_veriff', 'vpc_onfido']);
    expect(
      ids(route(rules, all, { country: 'GBR', documentType: 'PASSPORT', checks: ['document'] })),
    ).toEqual(['vpc_sumsub']);
    // Country codes compare without regard to case.
    expect(ids(route(rules, all, { country: 'deu', checks: [] }))).toEqual(['vpc_veriff', 'vpc_onfido']);
  });

  it('needs every condition of a rule, and a session that names what the rule names', () => {
    const rules: RoutingRule[] = [
      {
        name: 'uk passports',
        match: { countries: ['GBR'], documentTypes: ['PASSPORT'] },
        providers: ['vpc_veriff'],
      },
    ];
    expect(ids(route(rules, all, { country: 'GBR', documentType: 'PASSPORT', checks: [] }))).toEqual([
      'vpc_veriff',
    ]);
    expect(route(rules, all, { country: 'GBR', documentType: 'ID_CARD', checks: [] })).toHaveLength(3);
    // No document type in the session: a rule naming types does not apply.
    expect(route(rules, all, { country: 'GBR', checks: [] })).toHaveLength(3);
  });

  it('matches a checks rule when the session asks for all of its checks (and maybe more)', () => {
    const rules: RoutingRule[] = [
      { name: 'screening', match: { checks: ['document', 'watchlist'] }, providers: ['vpc_sumsub'] },
    ];
    expect(ids(route(rules, all, { checks: ['document', 'selfie', 'watchlist'] }))).toEqual(['vpc_sumsub']);
    expect(route(rules, all, { checks: ['document', 'selfie'] })).toHaveLength(3);
  });

  it('leaves out disabled providers and those that cannot do a check, country or document type', () => {
    const noWatchlist = provider('vpc_doc_only', {
      priority: 0,
      capabilities: { checks: ['document', 'selfie'], documentTypes: null, countries: null },
    });
    const ukOnly = provider('vpc_uk', {
      priority: 0,
      capabilities: { ...EVERYTHING, countries: ['GBR'] },
    });
    const passportsOnly = provider('vpc_passports', {
      priority: 0,
      capabilities: { ...EVERYTHING, documentTypes: ['PASSPORT'] },
    });
    const disabled = provider('vpc_disabled', { priority: 0, enabled: false });
    const pool = [noWatchlist, ukOnly, passportsOnly, disabled, onfido];

    expect(
      ids(route([], pool, { country: 'FRA', documentType: 'ID_CARD', checks: ['document', 'watchlist'] })),
    ).toEqual(['vpc_onfido']);
    expect(ids(route([], pool, { country: 'GBR', documentType: 'PASSPORT', checks: ['document'] }))).toEqual([
      'vpc_doc_only',
      'vpc_passports',
      'vpc_uk',
      'vpc_onfido',
    ]);
    // 'connector' checks are the platform's: they do not exclude any provider.
    expect(ids(route([], [noWatchlist], { checks: ['document', 'connector'] }))).toEqual(['vpc_doc_only']);
    // An unknown country or type keeps limited providers in (they can answer 'unsupported').
    expect(route([], [ukOnly, passportsOnly], { checks: ['document'] })).toHaveLength(2);
  });

  it('filters a rule provider list the same way, and returns [] when none can', () => {
    const disabledVeriff = { ...veriff, enabled: false };
    const rules: RoutingRule[] = [
      {
        name: 'veriff first',
        match: {},
        providers: ['vpc_veriff', 'vpc_deleted', 'vpc_sumsub', 'vpc_veriff'],
      },
    ];
    expect(ids(route(rules, [disabledVeriff, sumsub, onfido], { checks: ['document'] }))).toEqual([
      'vpc_sumsub',
    ]);
    const limited = provider('vpc_limited', { capabilities: { ...EVERYTHING, checks: ['document'] } });
    expect(route([], [limited], { checks: ['liveness'] })).toEqual([]);
    expect(
      route([{ name: 'x', match: {}, providers: ['vpc_limited'] }], [limited], { checks: ['age'] }),
    ).toEqual([]);
  });
});

describe('checkRules', () => {
  const known = new Set(['vpc_a', 'vpc_b']);

  it('accepts valid rules, including an empty match last', () => {
    const rules: RoutingRule[] = [
      {
        name: 'uk',
        match: { countries: ['GBR'], documentTypes: ['PASSPORT'] },
        providers: ['vpc_b', 'vpc_a'],
      },
      { name: 'uk cheap', match: { countries: ['GBR'] }, order: 'cost' },
      { name: 'screening', match: { checks: ['watchlist'] } },
      { name: 'default', match: {}, order: 'priority' },
    ];
    expect(checkRules(rules, known)).toEqual([]);
    expect(checkRules([], known)).toEqual([]);
  });

  it('reports unknown providers, repeats, blanks and bad values with their pointers', () => {
    const rules = [
      {
        name: 'one',
        match: { countries: ['GBR', 'gbr', 'GBR'], documentTypes: ['VISA'], checks: ['selfie', 'selfie'] },
        providers: ['vpc_a', 'vpc_zzz', 'vpc_a'],
        order: 'random',
      },
      { name: 'one', match: { countries: [] }, providers: [] },
      { name: '  ', match: { checks: ['telepathy'] } },
    ] as unknown as RoutingRule[];
    expect(checkRules(rules, known, '#/routingRules')).toEqual([
      {
        pointer: '#/routingRules/0/match/countries/1',
        detail: expect.stringContaining('ISO 3166-1 alpha-3'),
      },
      { pointer: '#/routingRules/0/match/countries/2', detail: 'is listed twice' },
      { pointer: '#/routingRules/0/match/documentTypes/0', detail: expect.stringContaining('PASSPORT') },
      { pointer: '#/routingRules/0/match/checks/1', detail: 'is listed twice' },
      { pointer: '#/routingRules/0/providers/1', detail: 'is not a provider configuration of this project' },
      { pointer: '#/routingRules/0/providers/2', detail: 'is listed twice' },
      { pointer: '#/routingRules/0/order', detail: "must be 'priority' or 'cost'" },
      { pointer: '#/routingRules/1/name', detail: 'repeats the name of rule 0' },
      { pointer: '#/routingRules/1/match/countries', detail: expect.stringContaining('must not be empty') },
      { pointer: '#/routingRules/1/providers', detail: expect.stringContaining('must not be empty') },
      { pointer: '#/routingRules/2/name', detail: 'must not be blank' },
      {
        pointer: '#/routingRules/2/match/checks/0',
        detail: expect.stringContaining('must be one of document'),
      },
    ]);
  });

  it('reports rules an earlier rule makes unreachable', () => {
    const rules: RoutingRule[] = [
      { name: 'europe', match: { countries: ['DEU', 'FRA', 'GBR'] } },
      { name: 'uk passports', match: { countries: ['GBR'], documentTypes: ['PASSPORT'] } },
      { name: 'uk or us', match: { countries: ['GBR', 'USA'] } },
      { name: 'watchlist', match: { checks: ['watchlist'] } },
      { name: 'watchlist and age', match: { checks: ['age', 'watchlist'] } },
      { name: 'age', match: { checks: ['age'] } },
      { name: 'catch-all', match: {} },
      { name: 'after catch-all', match: { documentTypes: ['ID_CARD'] } },
    ];
    expect(checkRules(rules, known)).toEqual([
      { pointer: '#/1/match', detail: 'never applies: rule 0 matches every session this rule would' },
      { pointer: '#/4/match', detail: 'never applies: rule 3 matches every session this rule would' },
      { pointer: '#/7/match', detail: 'never applies: rule 6 matches every session this rule would' },
    ]);
  });

  it('limits the number of rules', () => {
    const rules: RoutingRule[] = Array.from({ length: MAX_ROUTING_RULES + 1 }, (_, index) => ({
      name: `rule ${index}`,
      match: {
        countries: [
          `A${String.fromCharCode(65 + (index % 26))}${String.fromCharCode(65 + Math.floor(index / 26))}`,
        ],
      },
    }));
    expect(checkRules(rules, known)).toEqual([
      { pointer: '#', detail: `at most ${MAX_ROUTING_RULES} rules` },
    ]);
  });
});
