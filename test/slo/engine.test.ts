import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/index.ts';
import { SloEngine } from '../../slo/engine.ts';
import type { AlertTransition } from '../../slo/status.ts';
import { CountRing } from '../../slo/ring.ts';
import { availabilitySlo, MINUTE, minuteEvents, outcome, repeat, type MinuteTraffic } from './helpers.ts';

const START = 1_700_000_040_000 - (1_700_000_040_000 % MINUTE); // a whole minute, like a scrape

/** Replays traffic minute by minute, evaluating at the end of every minute. */
function run(minutes: MinuteTraffic[], slo = availabilitySlo()) {
  const clock = new ManualClock(START);
  const transitions: AlertTransition[] = [];
  const engine = new SloEngine([slo], { clock, onTransition: (t) => transitions.push(t) });
  const pages: number[] = [];
  const tickets: number[] = [];
  let minute = 0;
  const events = [...minuteEvents(START, minutes)];
  let i = 0;
  for (minute = 1; minute <= minutes.length; minute++) {
    while (i < events.length && events[i]!.minute === minute) {
      const e = events[i++]!;
      engine.record(outcome(e.endMs, e.bad ? '503' : '200'));
    }
    clock.set(START + minute * MINUTE);
    const [status] = engine.evaluate();
    if (status?.alerts.page.firing) pages.push(minute);
    if (status?.alerts.ticket.firing) tickets.push(minute);
  }
  return { engine, clock, pages, tickets, transitions };
}

test('a ring counts exactly the events in (t - W, t] at a bucket boundary', () => {
  const ring = new CountRing(MINUTE, 5);
  const t = 10 * MINUTE;
  ring.add(t - 5 * MINUTE, true); // on the left edge: outside (t - 5m, t]
  ring.add(t - 5 * MINUTE + 1, true);
  ring.add(t - 1, false);
  ring.add(t, false);
  const bad: number[] = [];
  const total: number[] = [];
  ring.sums(t, [1, 5], bad, total);
  assert.deepEqual([bad, total], [[0, 1], [2, 3]]);
});

test('a ring forgets what falls out of it and refuses events older than it', () => {
  const ring = new CountRing(MINUTE, 5);
  ring.add(MINUTE, true);
  assert.equal(ring.add(20 * MINUTE, false), true);
  assert.equal(ring.add(MINUTE, true), false);
  const bad: number[] = [];
  const total: number[] = [];
  ring.sums(20 * MINUTE, [5], bad, total);
  assert.deepEqual([bad, total], [[0], [1]]);
});

test('events stamped in the future (clock skew) count once their time comes, not before', () => {
  const ring = new CountRing(MINUTE, 5);
  ring.add(10 * MINUTE, false);
  ring.add(12 * MINUTE, true); // two minutes ahead of the evaluation below
  const bad = [0];
  const total = [0];
  ring.sums(10 * MINUTE, [5], bad, total);
  assert.deepEqual([bad, total], [[0], [1]]);
  ring.sums(12 * MINUTE, [5], bad, total);
  assert.deepEqual([bad, total], [[1], [2]]);
});

test('a total outage pages within 5 minutes', () => {
  const { pages } = run([...repeat(120, { total: 60, bad: 0 }), ...repeat(10, { total: 60, bad: 60 })]);
  assert.ok(pages.length > 0, 'paged');
  assert.ok(pages[0]! - 120 <= 5, `paged ${pages[0]! - 120} minutes into the outage`);
});

test('0.2% errors against 99.9% (2x burn) opens a ticket but never pages', () => {
  // 1000 requests a minute, 2 of them failing, for 1 day and 3 hours.
  const { pages, tickets } = run(repeat(27 * 60, { total: 1000, bad: 2 }));
  assert.deepEqual(pages, []);
  assert.ok(tickets.length > 0, 'ticket opened');
});

test('healthy traffic never alerts and passes', () => {
  const { pages, tickets, engine } = run(repeat(180, { total: 100, bad: 0 }));
  assert.deepEqual([pages, tickets], [[], []]);
  const [s] = engine.evaluate();
  assert.equal(s!.verdict, 'pass');
  assert.equal(s!.budget.remaining, 1);
});

test('a low-traffic blip does not page: 1 failure out of 2 requests is inconclusive', () => {
  const night: MinuteTraffic[] = [...repeat(30, { total: 0, bad: 0 }), { total: 2, bad: 1 }, ...repeat(30, { total: 0, bad: 0 })];
  const { pages, tickets, engine } = run(night);
  assert.deepEqual([pages, tickets], [[], []]);
  assert.equal(engine.evaluate()[0]!.verdict, 'inconclusive');
});

test('alerts resolve after recovery, with one firing and one resolved transition', () => {
  const { pages, transitions } = run([
    ...repeat(60, { total: 60, bad: 0 }),
    ...repeat(10, { total: 60, bad: 60 }),
    ...repeat(30, { total: 60, bad: 0 }),
  ]);
  const last = pages[pages.length - 1]!;
  assert.ok(last < 100, 'stopped paging before the end');
  const page = transitions.filter((t) => t.severity === 'page').map((t) => t.status);
  assert.deepEqual(page, ['firing', 'resolved']);
  const resolved = transitions.find((t) => t.severity === 'page' && t.status === 'resolved')!;
  assert.ok(resolved.endsAt! > resolved.startsAt);
});

test('no data is inconclusive, never healthy and never breached', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([availabilitySlo({ version: '2' })], { clock });
  const [s] = engine.evaluate();
  assert.equal(s!.verdict, 'inconclusive');
  assert.equal(s!.budget.remaining, null);
  assert.ok(s!.windows.every((w) => w.burnRate === null));
  assert.equal(s!.alerts.page.firing, false);
});

test('an SLO for each version keeps one series per version, created on first use', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([availabilitySlo()], { clock });
  assert.equal(engine.evaluate().length, 0);
  engine.record(outcome(START - 1, '200', { version: '1' }));
  engine.record(outcome(START - 1, '503', { version: '2' }));
  const statuses = engine.evaluate();
  assert.deepEqual(statuses.map((s) => [s.version, s.windows[0]!.bad]), [['1', 0], ['2', 1]]);
});

test('a pinned version ignores other versions; other models and probe APIs are not counted', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([availabilitySlo({ version: '2' })], { clock });
  engine.record(outcome(START, '503', { version: '1' }));
  engine.record(outcome(START, '503', { model: 'mlp' }));
  engine.record(outcome(START, '503', { api: 'health' }));
  engine.record(outcome(START, '503'));
  const [s] = engine.evaluate();
  assert.equal(s!.windows[0]!.total, 1);
});

test('gRPC code names and HTTP statuses are matched as the code label text', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([availabilitySlo()], { clock });
  for (const code of ['200', '404', '400', '503', '500', 'OK', 'UNAVAILABLE', 'INVALID_ARGUMENT']) engine.record(outcome(START, code));
  const w = engine.evaluate()[0]!.windows[0]!;
  assert.deepEqual([w.bad, w.total], [3, 8]);
});

test('a latency SLI counts requests slower than the threshold as bad, the threshold itself as good', () => {
  const clock = new ManualClock(START);
  const slo = availabilitySlo({ name: 'lat', sli: { kind: 'latency', thresholdSeconds: 0.25 } });
  const engine = new SloEngine([slo], { clock });
  for (const d of [0.01, 0.25, 0.2500001, 3, Number.NaN]) engine.record(outcome(START, '200', { durationSeconds: d }));
  const w = engine.evaluate()[0]!.windows[0]!;
  assert.deepEqual([w.bad, w.total], [3, 5]);
});

test('record never throws, whatever it is given, and counts what it drops', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([availabilitySlo()], { clock });
  const garbage: unknown[] = [
    { ...outcome(START), endMs: Number.NaN },
    { ...outcome(START), endMs: undefined },
    { ...outcome(START), version: undefined },
    { ...outcome(START), code: undefined },
  ];
  for (const g of garbage) assert.doesNotThrow(() => engine.record(g as never));
  assert.ok(engine.dropped >= 3, `dropped ${engine.dropped}`);
});

test('burnRate reads one version over a short window for rollout analysis', () => {
  const { engine } = run([...repeat(10, { total: 100, bad: 0 }), ...repeat(2, { total: 100, bad: 10 })]);
  const r = engine.burnRate('fraud-availability', 'fraud', '2', 2 * MINUTE);
  assert.deepEqual([r.bad, r.total], [20, 200]);
  assert.ok(Math.abs(r.burnRate! - 100) < 1e-6);
  assert.equal(engine.burnRate('fraud-availability', 'fraud', '9', MINUTE).burnRate, null);
  assert.throws(() => engine.burnRate('nope', 'fraud', '2', MINUTE), { code: 'SLO_ERR_UNKNOWN_SLO' });
  assert.throws(() => engine.burnRate('fraud-availability', 'fraud', '2', 0), { code: 'SLO_ERR_BAD_WINDOW' });
});

test('a burn-rate verdict over short windows fails a burning canary, passes a healthy one and is inconclusive without traffic', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([availabilitySlo()], { clock });
  for (let i = 0; i < 200; i++) {
    engine.record(outcome(START - i * 100, i % 10 === 0 ? '503' : '200', { version: 'canary' }));
    engine.record(outcome(START - i * 100, '200', { version: 'stable' }));
  }
  const windows = [{ windowMs: MINUTE, maxBurnRate: 14.4 }];
  assert.equal(engine.burnRateVerdict('fraud-availability', 'fraud', 'canary', windows).verdict, 'fail');
  assert.equal(engine.burnRateVerdict('fraud-availability', 'fraud', 'stable', windows).verdict, 'pass');
  assert.equal(engine.burnRateVerdict('fraud-availability', 'fraud', 'new', windows).verdict, 'inconclusive');
  assert.equal(engine.burnRateVerdict('fraud-availability', 'fraud', 'canary', windows, 1000).verdict, 'inconclusive');
});

test('a series holds at most 64 KiB of counts with the default windows', () => {
  const engine = new SloEngine([availabilitySlo()], { clock: new ManualClock(0) });
  const bytes = engine.bytesPerSeries('fraud-availability');
  assert.ok(bytes <= 64 * 1024, `${bytes} bytes`);
  assert.equal(bytes, (4320 + 720) * 8);
});

test('the error budget is spent over the period, not the alert windows', () => {
  const { engine } = run([...repeat(60, { total: 1000, bad: 1 }), ...repeat(60, { total: 1000, bad: 0 })]);
  const [s] = engine.evaluate();
  assert.ok(Math.abs(s!.budget.remaining! - 0.5) < 1e-9, String(s!.budget.remaining));
});

test('a snapshot is plain JSON with ISO times, listing SLOs without traffic', () => {
  const { engine } = run(repeat(5, { total: 100, bad: 0 }));
  const snap = engine.snapshot();
  const back = JSON.parse(JSON.stringify(snap));
  assert.deepEqual(back, snap);
  assert.equal(snap.slos[0]!.series[0]!.version, '2');
  assert.match(snap.evaluatedAt, /^\d{4}-\d\d-\d\dT/);
});

test('a listener that throws on a transition does not stop the evaluation or the other transitions', () => {
  const clock = new ManualClock(0);
  const seen: AlertTransition[] = [];
  const engine = new SloEngine([availabilitySlo()], {
    clock,
    onTransition: (t) => {
      seen.push(t);
      throw new Error('receiver bug');
    },
  });
  for (let m = 0; m < 10; m++) {
    clock.set(m * MINUTE);
    for (let i = 0; i < 60; i++) engine.record(outcome(clock.now(), '503'));
  }
  const statuses = engine.evaluate();
  assert.equal(statuses[0]!.verdict, 'fail');
  assert.deepEqual(seen.map((t) => [t.status, t.severity]).sort(), [['firing', 'page'], ['firing', 'ticket']]);
});
