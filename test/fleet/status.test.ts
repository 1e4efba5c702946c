// The fleet source's maths is the engine's: the same counts give the same statuses,
// verdicts, reasons and alert transitions, step by step. Each scenario replays traffic into
// a real SloEngine on a manual clock, evaluates it every second, and hands the engine's
// own window counts to fleetStatus (what the Prometheus source would have read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/index.ts';
import { SloEngine, fleetStatus, newAlertMemory } from '../../slo/index.ts';
import type { AlertMemory, AlertTransition, Slo } from '../../slo/index.ts';
import { availabilitySlo, outcome } from '../slo/helpers.ts';

const START = 1_700_000_000_000;
const SECOND = 1000;

/** Compressed windows (period 1h), the e2e test's, with a low-traffic threshold of 5. */
const SLO: Slo = availabilitySlo({
  objective: 0.99,
  periodMs: 3_600_000,
  alerting: {
    minEvents: 5,
    labels: {},
    windows: [
      { severity: 'page', longMs: 20_000, shortMs: 5_000, factor: 14.4 },
      { severity: 'ticket', longMs: 40_000, shortMs: 10_000, factor: 3 },
    ],
  },
});

/** Requests per second and how many of them fail, for each second of the scenario. */
type Second = { total: number; bad: number };
const steady = (seconds: number, total: number, bad: number): Second[] => Array.from({ length: seconds }, () => ({ total, bad }));

const SCENARIOS: Array<{ name: string; slo?: Slo; traffic: Second[]; expectLast: string; expectTransitions: string[] }> = [
  { name: 'healthy traffic passes', traffic: steady(30, 10, 0), expectLast: 'pass', expectTransitions: [] },
  { name: 'an outage pages and tickets, then resolves after recovery', traffic: [...steady(10, 10, 0), ...steady(10, 10, 5), ...steady(45, 10, 0)], expectLast: 'pass', expectTransitions: ['firing ticket', 'firing page', 'resolved page', 'resolved ticket'] },
  { name: '5% errors against 99% (5x) tickets but never pages', traffic: steady(45, 20, 1), expectLast: 'fail', expectTransitions: ['firing ticket'] },
  { name: 'one failure out of two requests is inconclusive, not a page', traffic: [{ total: 2, bad: 1 }, ...steady(5, 0, 0)], expectLast: 'inconclusive', expectTransitions: [] },
  { name: 'a pinned version without traffic is inconclusive', slo: { ...SLO, version: '2' }, traffic: steady(5, 0, 0), expectLast: 'inconclusive', expectTransitions: [] },
];

for (const sc of SCENARIOS) {
  test(`the fleet maths agrees with the engine at every step: ${sc.name}`, () => {
    const slo = sc.slo ?? SLO;
    const clock = new ManualClock(START);
    const engineTransitions: AlertTransition[] = [];
    const engine = new SloEngine([slo], { clock, onTransition: (t) => engineTransitions.push(t) });
    const memory = new Map<string, AlertMemory>();
    const fleetTransitions: AlertTransition[] = [];
    let last = '';
    sc.traffic.forEach((sec, i) => {
      for (let j = 0; j < sec.total; j++) {
        // Spread over the second, ending inside it; the bad ones first.
        engine.record(outcome(START + i * SECOND + Math.floor(((j + 1) * SECOND) / (sec.total + 1)), j < sec.bad ? '503' : '200'));
      }
      clock.set(START + (i + 1) * SECOND);
      for (const s of engine.evaluate()) {
        const m = memory.get(s.version) ?? newAlertMemory();
        memory.set(s.version, m);
        const counts = { windows: s.windows.map((w) => ({ windowMs: w.windowMs, bad: w.bad, total: w.total })), period: { bad: s.budget.bad, total: s.budget.total } };
        const f = fleetStatus(slo, s.version, { ok: true, counts }, m, clock.now());
        assert.deepEqual(f.status, s, `second ${i + 1}`);
        fleetTransitions.push(...f.transitions);
        last = f.status.verdict;
      }
    });
    assert.deepEqual(fleetTransitions, engineTransitions);
    assert.deepEqual(fleetTransitions.map((t) => `${t.status} ${t.severity}`), sc.expectTransitions);
    assert.equal(last, sc.expectLast);
  });
}

test('a failed reading is inconclusive with its reason and neither fires nor resolves an alert', () => {
  const memory = newAlertMemory();
  memory.page = { firing: true, since: START };
  const r = fleetStatus(SLO, '2', { ok: false, reason: 'Prometheus at http://p:9090 unreachable: ECONNREFUSED' }, memory, START + 5 * SECOND);
  assert.equal(r.status.verdict, 'inconclusive');
  assert.equal(r.status.reason, 'Prometheus at http://p:9090 unreachable: ECONNREFUSED');
  assert.deepEqual(r.transitions, []);
  assert.equal(r.status.alerts.page.firing, true, 'a page in progress stays open while the source is blind');
  assert.equal(r.status.alerts.ticket.firing, false);
  assert.ok(r.status.windows.every((w) => w.burnRate === null && w.errorRatio === null));
  assert.ok([...r.status.alerts.page.pairs, ...r.status.alerts.ticket.pairs].every((p) => p.state === 'inconclusive'));
});
