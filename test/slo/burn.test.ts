import { test } from 'node:test';
import assert from 'node:assert/strict';
import { burnRate, budgetRemaining, errorRatio, pairState } from '../../slo/burn.ts';
import { defaultWindows, WORKBOOK_WINDOWS } from '../../slo/windows.ts';
import { DAY, HOUR, MINUTE } from './helpers.ts';

test('burn rate is the error ratio over the error budget, and null without traffic', () => {
  const table: [bad: number, total: number, objective: number, expected: number | null][] = [
    [1, 1000, 0.999, 1],
    [2, 1000, 0.999, 2],
    [0, 1000, 0.999, 0],
    [1000, 1000, 0.999, 1000],
    [0, 0, 0.999, null],
    [5, 100, 0.95, 1],
  ];
  for (const [bad, total, objective, expected] of table) {
    const got = burnRate(errorRatio(bad, total), objective);
    if (expected === null) assert.equal(got, null);
    else assert.ok(Math.abs(got! - expected) < 1e-9, `${bad}/${total} at ${objective}: ${got}`);
  }
});

test('error budget remaining is 1 untouched, 0 spent, negative overspent, null without data', () => {
  const table: [number, number, number | null][] = [
    [0, 1000, 1],
    [1, 1000, 0],
    [2, 1000, -1],
    [0, 0, null],
  ];
  for (const [bad, total, expected] of table) {
    const got = budgetRemaining(bad, total, 0.999);
    if (expected === null) assert.equal(got, null);
    else assert.ok(Math.abs(got! - expected) < 1e-9);
  }
});

test('a window pair burns only when both windows exceed the factor with enough events', () => {
  const w = (bad: number, total: number) => ({ windowMs: 1, bad, total });
  const table: [long: ReturnType<typeof w>, short: ReturnType<typeof w>, state: string][] = [
    [w(100, 1000), w(20, 100), 'burning'], // 10% in both, threshold 1.44%
    [w(100, 1000), w(0, 100), 'ok'], // recovered: the short window resets the alert
    [w(0, 1000), w(20, 100), 'ok'], // a spike the long window has not seen
    [w(1, 2), w(1, 2), 'inconclusive'], // 1 of 2 at night: below minEvents
    [w(0, 0), w(0, 0), 'inconclusive'], // no data
    [w(15, 1000), w(2, 100), 'burning'], // 1.5% and 2% > 1.44%
    [w(14, 1000), w(2, 100), 'ok'], // 1.4% < 1.44%
  ];
  for (const [long, short, state] of table) assert.equal(pairState(long, short, 14.4, 0.999, 10), state, JSON.stringify([long, short]));
});

test('the default windows are the SRE workbook table for 30 days and scale with the period', () => {
  assert.deepEqual(
    defaultWindows(30 * DAY).map((w) => [w.severity, w.longMs, w.shortMs, w.factor]),
    [
      ['page', HOUR, 5 * MINUTE, 14.4],
      ['page', 6 * HOUR, 30 * MINUTE, 6],
      ['ticket', DAY, 2 * HOUR, 3],
      ['ticket', 3 * DAY, 6 * HOUR, 1],
    ],
  );
  // A one-hour demo period: the page pair is 5 s / 417 ms, factors unchanged.
  const demo = defaultWindows(HOUR);
  assert.equal(demo[0]!.longMs, 5000);
  assert.equal(demo[0]!.shortMs, 417);
  assert.deepEqual(demo.map((w) => w.factor), [14.4, 6, 3, 1]);
  // The factor is the budget share × period / long window (workbook definition).
  for (const r of WORKBOOK_WINDOWS) assert.ok(Math.abs((r.budgetConsumed * 30 * DAY) / r.longMs - r.factor) < 1e-9);
});
