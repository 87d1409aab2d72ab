import { afterAll, describe, expect, it } from 'vitest';
import { ExpressionEvaluator } from '../src/modules/connectors/evaluator.js';

/**
 * The evaluator runs tenant-written JSONata in a child process (built script: run `npx tsc -b` first).
 * Runaway expressions must fail their own evaluation and leave the evaluator usable.
 */
describe('JSONata evaluator process', () => {
  const restarts: string[] = [];
  const evaluator = new ExpressionEvaluator({ hardLimitMs: 1000, onRestart: (why) => restarts.push(why) });
  afterAll(() => evaluator.close());

  const document = { status: 200, body: { phone_valid: true, carrier: 'Acme', s: `${'a'.repeat(40)}b` } };

  it('evaluates mappings and rules with $input bound', async () => {
    const mapped = await evaluator.evaluate(
      '{ "valid": body.phone_valid, "carrier": body.carrier, "asked": $input.phone }',
      document,
      {
        input: { phone: '+15550100' },
      },
    );
    expect(mapped).toEqual({ ok: true, value: { valid: true, carrier: 'Acme', asked: '+15550100' } });
    expect(await evaluator.evaluate('status = 200 and body.phone_valid', document)).toEqual({
      ok: true,
      value: true,
    });
    expect(await evaluator.evaluate('body.missing', document)).toEqual({ ok: true, value: undefined });
  });

  it('stops endless loops and deep recursion with JSONata limits', async () => {
    const loop = await evaluator.evaluate('( $f := function($x){ $f($x + 1) }; $f(1) )', document);
    expect(loop).toMatchObject({ ok: false });
    expect(['D1011', 'D1012']).toContain((loop as { code: string }).code);
    const long = await evaluator.evaluate('$count([1..99999].($string($) & $string($)))', document);
    expect(long).toMatchObject({ ok: false, code: 'D1012' });
    const range = await evaluator.evaluate('[1..10000000]', document);
    expect(range).toMatchObject({ ok: false, code: 'D2015' });
  });

  it('kills an evaluation stuck in a catastrophic regular expression, then carries on', async () => {
    const started = Date.now();
    const stuck = await evaluator.evaluate('$match(body.s, /^(a+)+$/)', document);
    expect(stuck).toMatchObject({ ok: false, code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(restarts.some((why) => why.includes('longer than'))).toBe(true);
    expect(await evaluator.evaluate('body.carrier', document)).toEqual({ ok: true, value: 'Acme' });
  });

  it('survives an expression that exhausts its heap', async () => {
    const bomb = await evaluator.evaluate('[1..10].($pad("", 100000000))', document);
    expect(bomb).toMatchObject({ ok: false, code: 'crashed' });
    expect(await evaluator.evaluate('1 + 1', document)).toEqual({ ok: true, value: 2 });
  });

  it('refuses functions as results and queues concurrent evaluations', async () => {
    expect(await evaluator.evaluate('function($x){ $x }', document)).toMatchObject({
      ok: false,
      code: 'not-json',
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => evaluator.evaluate(`${i} * 2`, document)),
    );
    expect(results.map((r) => (r as { value: number }).value)).toEqual(
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
  });
});
