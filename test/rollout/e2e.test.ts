// Canary rollouts end to end: the real model server, the real proxy in front of it (through
// a chaos fixture that can make version 2 bad), the SLO engine and drift recorder, and the
// rollout controller, with windows compressed to half a second. Load goes to loopback only.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Issues, systemClock } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { startServer } from '../../server/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { SloEngine, validateSlos } from '../../slo/index.ts';
import { DriftRecorder, validateDriftSection } from '../../drift/index.ts';
import { attachRollouts, driftSource, managerLabels, sloBurnSource, validateRollouts } from '../../rollout/index.ts';
import type { RolloutController, RolloutView } from '../../rollout/index.ts';
import { run as rolloutCli } from '../../cli/commands/rollout.ts';
import { fraud } from '../../examples/models.ts';
import { fraudRows, FRAUD_INPUTS } from '../../examples/data/fraud-reference.ts';
import { TempRepo, eventually } from '../helpers/repo.ts';
import { startChaos, startLoad } from './e2e-fixtures.ts';
import type { Chaos, Load } from './e2e-fixtures.ts';

const TOKEN = 'rollout-test-token';
/**
 * One-second intervals: three steps and a promotion take about four seconds. The machine
 * running the tests may be busy (2 shared cores); every wait below is on a condition, and
 * the checks need only 15 canary requests per interval.
 */
const INTERVAL = '1s';
const WEIGHTS = [25, 50, 100];
const FAILURE_THRESHOLD = 2;
const WORKERS = 4;

/** Version 1's graph with the fraud bias raised from -3 to 0: every probability shifts up. */
function shiftedFraud() {
  const spec = fraud(1);
  return { ...spec, initializers: (spec.initializers ?? []).map((i) => (i.name === 'B' ? { ...i, values: [0, 0] } : i)) };
}

describe('canary rollouts end to end (server + proxy + load on loopback, 1 s intervals)', () => {
  let repo: TempRepo;
  let server: RunningServer;
  let chaos: Chaos;
  let proxy: Proxy;
  /** Undone after each test, pass or fail, so a failing case cannot leak load into the next. */
  let cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    const list = cleanups;
    cleanups = [];
    for (const c of list.reverse()) await c();
  });

  before(async () => {
    repo = await TempRepo.create();
    // fraud: version 2 is the same model as version 1 (a retrain that predicts the same), so
    // any badness comes from the chaos fixture. fraud_shifted: version 2 predicts differently.
    await repo.writeVersion('fraud', 1, fraud(1));
    await repo.writeVersion('fraud', 2, fraud(1));
    await repo.writeVersion('fraud_shifted', 1, fraud(1));
    await repo.writeVersion('fraud_shifted', 2, shiftedFraud());
    server = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, warmup: false,
      models: [
        { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1 } },
        { name: 'fraud_shifted', basePath: repo.path('fraud_shifted'), policy: { kind: 'all' }, labels: { stable: 1 } },
      ],
    });
    chaos = await startChaos(server.restUrl);
    const issues = new Issues();
    const config = readProxyConfig({
      rest: { host: '127.0.0.1', port: 0, upstream: chaos.url },
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
      bodies: { sampleRate: 1 },
      splits: { fraud: { stable: 1, weight: 0 }, fraud_shifted: { stable: 1, weight: 0 } },
    }, 'proxy', issues);
    assert.deepEqual(issues.errors, []);
    proxy = await createProxy({ config, registry: new Registry(), clock: systemClock });
  });

  after(async () => {
    await proxy.close();
    await chaos.close();
    await server.close();
    await repo.remove();
  });

  interface Run {
    controller: RolloutController;
    registry: Registry;
    stateDir: string;
    view(): RolloutView;
    audit(): Promise<Array<Record<string, any>>>;
    close(): Promise<void>;
  }

  /** A fresh controller (own state dir, SLO engine, drift recorder) for one model. */
  async function rollout(model: 'fraud' | 'fraud_shifted', extra: Record<string, unknown> = {}, stateDir?: string): Promise<Run> {
    const issues = new Issues();
    const specs = validateRollouts([{
      model, canary: 'newest', weights: WEIGHTS, interval: INTERVAL, minRequests: 15, failureThreshold: FAILURE_THRESHOLD,
      // Latency: on a busy 2-core machine (load average ~10 while these were written) two
      // ONNX sessions of the same model differ by 5-12 ms (up to ~50% of the median) for
      // whole intervals, so the test asks for a doubled median (tolerance 100%) of at least
      // 10 ms, and a p99 ratio of 4 (one process here runs server, proxy, chaos and load,
      // and its GC pauses land on whichever version is in flight); the 5x-slower case is
      // far beyond all three.
      // Drift runs only where the predictions differ (case c): between two versions that got
      // a random split of the same inputs, the drift recorder flagged input features in
      // about 1 run in 8 (reported to the drift area); a rollout would rightly roll back.
      analysis: { latency: { minSamples: 15, minDelta: '10ms', tolerance: 100, maxP99Ratio: 4 }, drift: { enabled: model === 'fraud_shifted' } }, ...extra,
    }], 'rollouts', issues);
    const slos = validateSlos([{ name: `${model}-availability`, model, version: 'each', sli: { availability: {} }, objective: 99.9, period: '1h' }], 'slos', issues);
    // pValue 0.001: drift verdicts of one window are re-read at every check, so a chance
    // deviation would repeat across consecutive checks; the shifted model's p-values are
    // far below this.
    const driftCfg = validateDriftSection({
      window: '10s', minSamples: 100, sampleRate: 1, thresholds: { pValue: 0.001 },
      models: { [model]: { baseline: { from: 'file' }, inputs: [...FRAUD_INPUTS], outputs: [{ name: 'fraud_probability', output: 'probabilities', column: 1 }, 'label'] } },
    }, 'drift', issues);
    assert.deepEqual(issues.errors, []);
    const engine = new SloEngine(slos, { clock: systemClock });
    const recorder = new DriftRecorder(driftCfg, { clock: systemClock });
    const unsub = [proxy.onOutcome((o) => engine.record(o)), proxy.onBodies((b) => recorder.offer(b))];
    const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'modelgate-rollout-e2e-')));
    if (!stateDir) cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const registry = new Registry();
    const server_ = managerLabels(server.manager);
    const attached = await attachRollouts({
      proxy, specs, stateDir: dir, registry, clock: systemClock, tickMs: 50,
      labels: server_, versions: server_, burn: sloBurnSource(engine), drift: driftSource(recorder),
    });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      for (const u of unsub) u();
      await attached.close();
    };
    cleanups.push(close);
    return {
      controller: attached.controller,
      registry,
      stateDir: dir,
      view: () => attached.controller.view(model),
      audit: async () => (await readFile(join(dir, 'rollouts-audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)),
      close,
    };
  }

  function reset(model: string): void {
    proxy.setSplit(model, { stable: '1', weight: 0 });
    server.manager.setLabel(model, 'stable', 1);
    chaos.set('1', undefined);
    chaos.set('2', undefined);
  }

  function load(model: string): Load {
    const l = startLoad(`${proxy.restUrl}/v1/models/${model}:predict`, (i) => ({ instances: fraudRows(8, i) }), WORKERS);
    cleanups.push(() => l.stop());
    return l;
  }

  /** Until the rollout ends; then lets the running tick finish its audit writes. */
  const finished = async (r: Run) => {
    await eventually(() => ['Succeeded', 'RolledBack', 'Failed'].includes(r.view().phase), 40_000);
    await r.controller.tick();
  };

  /** After a rollback or promotion: unpinned traffic sent from now on is all on `version`, all 200. */
  async function allTrafficOn(l: Load, version: string): Promise<void> {
    l.reset(); // requests in flight at the switch are not counted
    await eventually(() => l.stats().sent >= 40, 10_000);
    const seen = Object.fromEntries(l.stats().byVersionStatus);
    assert.deepEqual(Object.keys(seen), [`${version}:200`], `every response from ${version} with 200, got ${JSON.stringify(seen)}`);
  }

  const analyses = async (r: Run) => (await r.audit()).filter((l) => l['input'] === 'analysis');

  test('(a) a version 2 that fails 30% of requests is rolled back within failureThreshold intervals; then all traffic is on 1 with zero errors', async () => {
    reset('fraud');
    chaos.set('2', { failShare: 0.3 });
    const r = await rollout('fraud');
    const l = load('fraud');
    await finished(r);
    const v = r.view();
    assert.equal(v.phase, 'RolledBack', v.reason);
    // Rolled back at the failureThreshold-th failed check, with no conclusive pass before
    // (the first intervals may be inconclusive while traffic builds up).
    const verdicts = (await analyses(r)).map((c) => c['verdict']);
    assert.deepEqual(verdicts.filter((x) => x !== 'inconclusive'), Array(FAILURE_THRESHOLD).fill('fail'), `verdicts: ${verdicts}`);
    const checks = await analyses(r);
    const failing = (checks.at(-1)!['checks'] as Array<{ name: string; verdict: string }>).filter((c) => c.verdict === 'fail').map((c) => c.name);
    // error-ratio needs 15 stable requests in the interval too; on a slow machine the SLO
    // burn (canary alone) may be the only conclusive one.
    assert.ok(failing.includes('error-ratio') || failing.includes('slo-burn'), `failing checks: ${failing}`);
    assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', weight: 0 });
    await allTrafficOn(l, '1');
    await l.stop();
    await r.close();
  });

  test('(b) a version 2 about five times slower is rolled back on latency', async () => {
    reset('fraud');
    // 5x the upstream time, and at least 60 ms more: in this one busy test process the
    // proxy's own queueing can dwarf the model's few milliseconds.
    chaos.set('2', { slowdown: 5, minHoldMs: 60 });
    const r = await rollout('fraud');
    const l = load('fraud');
    await finished(r);
    const v = r.view();
    assert.equal(v.phase, 'RolledBack', v.reason);
    assert.match(v.reason, /latency: /);
    const latency = (v.lastAnalysis!.checks.find((c) => c.name === 'latency'))!;
    assert.ok((latency.values['pValue'] as number) < 0.02, `p-value ${latency.values['pValue']}`);
    await allTrafficOn(l, '1');
    await l.stop();
    await r.close();
  });

  test('(c) a version 2 whose predictions shifted is rolled back on drift', async () => {
    reset('fraud_shifted');
    const r = await rollout('fraud_shifted');
    const l = load('fraud_shifted');
    await finished(r);
    const v = r.view();
    assert.equal(v.phase, 'RolledBack', v.reason);
    const drift = v.lastAnalysis!.checks.find((c) => c.name === 'drift')!;
    assert.equal(drift.verdict, 'fail');
    assert.match(String(drift.values['driftedFeatures']), /fraud_probability/);
    assert.doesNotMatch(String(drift.values['driftedFeatures']), /amount/, 'inputs are the same for both versions');
    await allTrafficOn(l, '1');
    await l.stop();
    await r.close();
  });

  test('(d) a healthy version 2 is promoted through every step; the stable label and the split move to 2', async () => {
    reset('fraud');
    const r = await rollout('fraud');
    const l = load('fraud');
    await finished(r);
    const v = r.view();
    if (process.env.DEBUG_E2E) console.log(JSON.stringify((await analyses(r)).map((a) => a['checks']), null, 1));
    assert.equal(v.phase, 'Succeeded', v.reason);
    const lines = await r.audit();
    const weights = lines.filter((x) => x['action']?.type === 'setWeight').map((x) => x['action'].weight);
    assert.deepEqual(weights, WEIGHTS);
    assert.equal(server.manager.labels('fraud')['stable'], 2);
    assert.deepEqual(proxy.getSplit('fraud'), { stable: '2', weight: 0 });
    const metrics = await r.registry.metrics();
    assert.match(metrics, /modelgate_rollout_phase\{model="fraud",phase="Succeeded"\} 1/);
    assert.match(metrics, /modelgate_rollout_promotions_total\{model="fraud"\} 1/);
    await allTrafficOn(l, '2');
    await l.stop();
    await r.close();
  });

  test('(e) a single bad interval followed by good ones does not roll back', async () => {
    reset('fraud');
    // Errors only: in about 1 run in 6 here, version 2's p99 came out 2.5-5.5x stable's for
    // the interval right after the injected 503s (not explained yet; see the rollout report),
    // which is a second, different bad interval and would rightly roll back.
    const r = await rollout('fraud', { analysis: { latency: { enabled: false }, drift: { enabled: false } } });
    const l = load('fraud');
    // As the 50% step starts, the next 6 requests to version 2 fail: counted, not timed, so
    // they all land in that step's first interval (at 50% it has dozens of canary requests,
    // well above minRequests); the intervals after it are healthy.
    // Waits on the proxy's split, not the controller's state: the state says 50 as soon as
    // the intent is on disk, and the old step's traffic (the 25% split) is dropped when the
    // new split is set, so failures injected before it would never be judged.
    await eventually(() => proxy.getSplit('fraud')?.weight === 50, 30_000, 5);
    chaos.set('2', { failFirst: 6 });
    await finished(r);
    const v = r.view();
    assert.equal(v.phase, 'Succeeded', v.reason);
    const verdicts = (await analyses(r)).map((c) => c['verdict']);
    assert.ok(verdicts.includes('fail'), `one interval failed: ${verdicts}`);
    assert.ok(!(await r.audit()).some((x) => x['action']?.type === 'rollback'));
    await l.stop();
    await r.close();
  });

  test('(f) no traffic: no promotion; the rollout pauses at the first step and says why', async () => {
    reset('fraud');
    const r = await rollout('fraud');
    await eventually(async () => (await analyses(r)).length >= 3, 10_000);
    const v = r.view();
    assert.equal(v.phase, 'Paused');
    assert.equal(v.pausedBy, 'analysis');
    assert.equal(v.weight, WEIGHTS[0]);
    assert.match(v.reason, /fewer than minRequests 15/);
    assert.equal(r.controller.verdict('fraud').verdict, 'inconclusive');
    await r.close();
  });

  test('(g) a restart in the middle of a rollout resumes at the same step and finishes', async () => {
    reset('fraud');
    const first = await rollout('fraud');
    const l = load('fraud');
    await eventually(() => first.view().weight === 50, 30_000);
    await first.close();
    // The new process starts with the proxy's split lost.
    proxy.setSplit('fraud', { stable: '1', weight: 0 });
    const second = await rollout('fraud', {}, first.stateDir);
    const resumed = second.view();
    // Progressing, or Paused if the last interval before the restart was inconclusive.
    assert.ok(['Progressing', 'Paused'].includes(resumed.phase), `resumed in ${resumed.phase}`);
    assert.ok(resumed.weight >= 50, `resumed at ${resumed.weight}%`);
    assert.equal(proxy.getSplit('fraud')?.canary, '2', 'the split is re-asserted');
    await finished(second);
    assert.equal(second.view().phase, 'Succeeded', second.view().reason);
    assert.ok((await second.audit()).some((x) => x['input'] === 'restart'));
    await l.stop();
    await second.close();
  });

  test('admin API and CLI: reads are open, commands need the token; status, pause, verdict, abort', async () => {
    reset('fraud');
    const r = await rollout('fraud');
    await eventually(() => r.view().phase === 'Progressing', 5_000);
    const api = `${proxy.adminUrl}/api/v1/rollouts`;
    assert.equal((await fetch(`${api}/fraud/pause`, { method: 'POST' })).status, 401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const list = (await (await fetch(api)).json()) as { rollouts: RolloutView[]; auditLog: string };
    assert.deepEqual(list.rollouts.map((x) => x.model), ['fraud']);
    assert.match(list.auditLog, /rollouts-audit\.jsonl$/);

    const paused = await fetch(`${api}/fraud/pause`, { method: 'POST', headers: auth });
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as RolloutView).phase, 'Paused');
    const again = await fetch(`${api}/fraud/promote-now`, { method: 'POST', headers: auth });
    assert.equal(again.status, 400);
    const verdict = await fetch(`${api}/fraud/verdict?status=1`);
    assert.equal(verdict.status, 425, 'no analysis yet: inconclusive');
    assert.equal(((await verdict.json()) as { verdict: string }).verdict, 'inconclusive');

    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s), env: {} };
    assert.equal(await rolloutCli(['status', 'fraud', '--admin-url', proxy.adminUrl, '--token', TOKEN], io), 0);
    assert.match(out.join('\n'), /fraud: Paused \(by operator\)\s+canary 2 at 25%\s+stable 1/);
    assert.equal(await rolloutCli(['resume', 'fraud', '--admin-url', proxy.adminUrl], io), 1, 'no token');
    assert.match(err.join('\n'), /401[\s\S]*MODELGATE_ADMIN_TOKEN/);
    assert.equal(await rolloutCli(['abort', 'fraud', '--admin-url', proxy.adminUrl], { ...io, env: { MODELGATE_ADMIN_TOKEN: TOKEN } }), 0);
    assert.equal(r.view().phase, 'RolledBack');
    assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', weight: 0 });
    assert.equal(await rolloutCli(['abort', 'fraud', '--admin-url', proxy.adminUrl, '--token', TOKEN], io), 1, 'nothing left to abort');
    assert.match(err.at(-1)!, /409/);
    await r.close();
  });
});
