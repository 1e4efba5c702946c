// Past one machine, for real: two proxy replicas (the gateway, as users run it) in front of
// one model server, a real Prometheus scraping both replicas' /metrics every second, and
// traffic split across the replicas with version 2 failing 3 requests in 10 (a 30x burn
// of a 99% objective). Each replica evaluates its SLOs from Prometheus; the verdicts must
// agree with each other exactly and with one local engine fed every request of both
// replicas (what a single proxy would have seen).
//
// Windows are compressed (period 1h, page 20s/5s, ticket 40s/10s) so the test runs in
// about 20 s. Fails under CI=true without prometheus; skips loudly otherwise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../common/index.ts';
import { SloEngine } from '../../slo/index.ts';
import type { SloStatus } from '../../slo/index.ts';
import { needBinaries } from '../integration/programs.ts';
import { startLoad } from '../integration/traffic.ts';
import type { Load } from '../integration/traffic.ts';
import { BROKEN, HEALTHY, MODEL, startFleetRig, warmUp } from './replicas.ts';
import type { FleetRig } from './replicas.ts';

const skip = needBinaries(['prometheus']);

/** 3 in 10 failing: 30x the budget of a 99% objective, far above both factors (14.4, 3). */
const FAILURE_SHARE = 0.3;
/** Measured traffic before the comparison: at least the 5 s short window, well under the 20 s long one. */
const TRAFFIC_MS = 8_000;
/**
 * Tolerances between Prometheus (both replicas) and the single local engine, per window,
 * both evaluated at the same instant:
 * - request counts within 25%: Prometheus has each replica's counters as of its last
 *   scrape (≤ 1 s before the instant, more when a loaded machine delays the scrape) and
 *   extrapolates `increase()` to the window edges, which on the 5 s window is up to a fifth
 *   of it (16% was seen on the 20 s window with the machine at load 18 on 2 cores);
 * - error ratios within 0.05: the 3-in-10 failures are deterministic per request, so the
 *   ratio only moves with where the window edges cut the sequence.
 * Between the two replicas: none. They query the same instant and must be identical.
 */
const COUNT_TOLERANCE = 0.25;
const RATIO_TOLERANCE = 0.05;

function configText(identity: string, promUrl: string, upstream: string): string {
  return `
apiVersion: modelgate/v1
slos:
  - name: hpt-availability
    model: ${MODEL}
    version: each
    objective: 99
    period: 1h
    sli: { availability: {} }
    alerting:
      minEvents: 5
      windows:
        - { severity: page, long: 20s, short: 5s, factor: 14.4 }
        - { severity: ticket, long: 40s, short: 10s, factor: 3 }
sloSource:
  prometheus: { url: ${promUrl}, timeout: 3s, align: 1s }
leader:
  mode: single
  controller: replica-a
  identity: ${identity}
proxy:
  rest: { host: 127.0.0.1, port: 0, upstream: ${upstream} }
  admin: { port: 0 }
  splits: { ${MODEL}: { stable: "${HEALTHY}", canary: "${BROKEN}", weight: 50 } }
  labels: { statusPoll: 1s }
`;
}

const byVersion = (statuses: readonly SloStatus[]) => new Map(statuses.map((s) => [s.version, s]));

describe('two proxy replicas, one Prometheus: fleet-wide SLO verdicts', { skip }, () => {
  let rig: FleetRig;
  const replicas: FleetRig['replicas'] = [];
  let local: SloEngine;
  let localInstant: number | undefined;
  const loads: Load[] = [];

  before(async () => {
    rig = await startFleetRig({ identities: ['replica-a', 'replica-b'], configFor: configText, tickMs: 3_600_000 });
    replicas.push(...rig.replicas);
    // The single proxy's view: one engine fed by every request of both replicas, evaluated
    // at the instant the replicas query (its windows end there; later requests are left out).
    local = new SloEngine(replicas[0]!.fleet.source!.slos, { clock: { now: () => localInstant ?? systemClock.now() } });
    rig.injector.failVersion(BROKEN, FAILURE_SHARE);
    // Warm-up, not counted anywhere (see warmUp).
    await warmUp(rig);
    for (const r of replicas) r.proxy.onOutcome((o) => local.record(o));
    for (const r of replicas) loads.push(startLoad(`${r.proxy.restUrl}/v1/models/${MODEL}:predict`, { instances: [1.0, 2.0, 5.0] }, 2, 10));
    await new Promise((r) => setTimeout(r, TRAFFIC_MS));
  });

  after(async () => {
    for (const l of loads) await l.stop();
    await rig?.close();
  });

  test('both replicas reach the same verdicts as one engine that saw all the traffic', async () => {
    // Start both evaluations early in a second, so they fall in the same 1 s align step.
    const intoSecond = Date.now() % 1000;
    if (intoSecond > 300) await new Promise((r) => setTimeout(r, 1000 - intoSecond + 20));
    localInstant = replicas[0]!.fleet.source!.instant();
    const [a, b] = await Promise.all(replicas.map((r) => r.fleet.source!.evaluate()));
    const single = local.evaluate();
    assert.equal(a![0]!.evaluatedAt, localInstant, 'both evaluated at the same instant');

    assert.equal(replicas[0]!.fleet.source!.health().ok, true, JSON.stringify(replicas[0]!.fleet.source!.health()));
    // The replicas asked the same question at the same instant: identical statuses.
    assert.deepEqual(a, b);

    const fleet = byVersion(a!);
    const one = byVersion(single);
    for (const version of [HEALTHY, BROKEN]) {
      const f = fleet.get(version);
      const s = one.get(version);
      assert.ok(f && s, `version ${version} evaluated by both (fleet: ${[...fleet.keys()]}, single: ${[...one.keys()]})`);
      assert.equal(f.verdict, s.verdict, `version ${version}: fleet says ${f.verdict} (${f.reason}), single proxy ${s.verdict} (${s.reason})`);
      assert.equal(f.alerts.page.firing, s.alerts.page.firing, `page alert of version ${version}`);
      assert.equal(f.alerts.ticket.firing, s.alerts.ticket.firing, `ticket alert of version ${version}`);
      for (const [i, fw] of f.windows.entries()) {
        const sw: SloStatus['windows'][number] = s.windows[i]!;
        // FLEET_DEBUG=1 prints the compared numbers (docs/fleet.md has a run of them).
        if (process.env['FLEET_DEBUG']) console.log(version, fw.window, fw.total, sw.total, fw.errorRatio, sw.errorRatio);
        assert.equal(fw.windowMs, sw.windowMs);
        assert.ok(Math.abs(fw.total - sw.total) <= COUNT_TOLERANCE * sw.total, `version ${version} ${fw.window}: ${fw.total} requests in Prometheus, ${sw.total} seen by the proxies`);
        assert.ok(Math.abs((fw.errorRatio ?? -1) - (sw.errorRatio ?? -1)) <= RATIO_TOLERANCE, `version ${version} ${fw.window}: error ratio ${fw.errorRatio} in Prometheus, ${sw.errorRatio} seen by the proxies`);
      }
    }
    // And the verdicts are the expected ones, so agreement is not agreement on "no data".
    assert.equal(fleet.get(HEALTHY)!.verdict, 'pass');
    assert.equal(fleet.get(BROKEN)!.verdict, 'fail');
    assert.equal(fleet.get(BROKEN)!.reason, 'burn-rate alert firing: page, ticket');
  });

  test('each replica sees only part of the traffic, so its local engine alone undercounts', () => {
    const totals = replicas.map((r) => r.slo.evaluate().find((s) => s.version === BROKEN)!.windows.at(-1)!.total);
    const all = local.evaluate().find((s) => s.version === BROKEN)!.windows.at(-1)!.total;
    for (const t of totals) assert.ok(t < 0.75 * all, `one replica counted ${t} of ${all} requests`);
  });

  test('the rollout analysis reads fleet-wide burn rates from the last evaluation', () => {
    const source = replicas[1]!.fleet.source!;
    const r = source.burnRate('hpt-availability', MODEL, BROKEN, 20_000);
    assert.ok(r.total > 0 && r.burnRate !== null && r.burnRate > 14.4, JSON.stringify(r));
    assert.throws(() => source.burnRate('hpt-availability', MODEL, BROKEN, 15_000), { code: 'SLO_ERR_SOURCE_UNAVAILABLE' });
  });

  test('only the configured controller replica acts, and GET /api/v1/fleet says so', async () => {
    const answers = await Promise.all(replicas.map(async (r) => (await fetch(`${r.proxy.adminUrl}/api/v1/fleet`)).json() as Promise<{ source: string; leader: { acts: boolean } }>));
    assert.deepEqual(answers.map((a) => [a.source, a.leader.acts]), [['prometheus', true], ['prometheus', false]]);
  });

  test('GET /api/v1/slos on either replica serves the fleet-wide statuses', async () => {
    const bodies = await Promise.all(replicas.map(async (r) => (await fetch(`${r.proxy.adminUrl}/api/v1/slos`)).json() as Promise<{ slos: Array<{ series: Array<{ version: string; verdict: string }> }> }>));
    for (const body of bodies) {
      const verdicts = Object.fromEntries(body.slos[0]!.series.map((s) => [s.version, s.verdict]));
      assert.equal(verdicts[BROKEN], 'fail');
    }
  });
});
