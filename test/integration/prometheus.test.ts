// The dashboards and the generated alert rules, proven against a real Prometheus and a real
// Alertmanager: the model server and the proxy run on loopback under generated load (normal,
// then 30% failures injected on version 2 of half_plus_two), Prometheus scrapes both every
// second and evaluates the rules generated for a compressed SLO (10s/3s page windows), and
// Alertmanager delivers the page to a webhook receiver in this test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Issues, PROXY_METRIC, SLO_RULE, systemClock } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { startServer } from '../../server/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { AlertNotifier, SloEngine, errorRatioRecord, registerSloMetrics, rulesFile, validateSlo } from '../../slo/index.ts';
import type { Slo } from '../../slo/index.ts';
import { buildDashboards, dashboardQueries, expandQuery, VARIABLE_SERIES } from '../../dashboards/index.ts';
import { RolloutMetrics } from '../../rollout/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics, validateDriftSection } from '../../drift/index.ts';
import { FRAUD_INPUTS, fraudRows } from '../../examples/data/fraud-reference.ts';
import { DRIFT_THRESHOLDS } from '../../dashboards/index.ts';
import type { RolloutState } from '../../rollout/index.ts';
import { EXAMPLES, TempRepo } from '../helpers/repo.ts';
import { needBinaries, startAlertmanager, startPrometheus, startReceiver, waitFor } from './programs.ts';
import type { Alertmanager, Prometheus, Receiver } from './programs.ts';
import { startFaultInjector, startLoad } from './traffic.ts';
import type { FaultInjector, Load } from './traffic.ts';

const skip = needBinaries(['prometheus', 'prometheus-alertmanager']);

const MODEL = 'half_plus_two';
const BROKEN = '2';
const HEALTHY = '1';
/** 3 failures in 10 on the broken version: a 30x burn of a 99% objective, above the 14.4x page. */
const FAILURE_SHARE = 0.3;
const PAGE_LONG_MS = 10_000;
/**
 * Tolerance between Prometheus' recorded burn rate and the in-process one over the same
 * window: the windows end up to one scrape + one evaluation (2 s) apart and Prometheus
 * extrapolates `increase()` to the window edges, so ±10% of the burn rate.
 */
const BURN_RATE_TOLERANCE = 0.1;

function compressedSlo(): Slo {
  const issues = new Issues();
  const slo = validateSlo(
    {
      name: 'hpt-availability',
      model: MODEL,
      objective: 99,
      period: '1h',
      sli: { availability: {} },
      notify: ['alertmanager'],
      alerting: {
        minEvents: 5,
        windows: [
          { severity: 'page', long: '10s', short: '3s', factor: 14.4 },
          { severity: 'ticket', long: '20s', short: '5s', factor: 3 },
        ],
      },
    },
    'slos[0]',
    issues,
  );
  assert.ok(slo && issues.ok, JSON.stringify(issues.errors));
  return slo;
}

/** A rollout of version 2 as the rollout controller reports it (the exporter is real, the state a fixture). */
function rolloutState(phase: RolloutState['phase'], weight: number): RolloutState {
  const now = Date.now();
  return {
    model: MODEL, phase, canary: BROKEN, stable: HEALTHY, step: 1, weight, failedChecks: phase === 'RolledBack' ? 3 : 0, pausedBy: null,
    reason: phase === 'RolledBack' ? 'canary burn rate above the page factor for 3 checks' : 'analysis passed',
    startedAtMs: now, stepStartedAtMs: now, lastCheckAtMs: now, updatedAtMs: now, rolledBack: phase === 'RolledBack' ? [BROKEN] : [], lastAnalysis: null,
  };
}

/** Alertmanager: every alert to the test's webhook, at once. */
function alertmanagerConfig(webhookUrl: string): string {
  return [
    'route:',
    '  receiver: test-webhook',
    '  group_by: [alertname, slo, model, version, severity]',
    // One second: the test waits for the first notification, not for batching.
    '  group_wait: 1s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: test-webhook',
    '    webhook_configs:',
    `      - url: ${webhookUrl}`,
    '        send_resolved: false',
    '',
  ].join('\n');
}

/** Prometheus: scrape the proxy's admin port and the server every second, with the rules. */
function prometheusConfig(rulesFile: string, alertmanagerUrl: string, scrape: { proxy: string; server: string }): string {
  const host = (url: string) => new URL(url).host;
  return [
    'global:',
    // 1 s scrapes and evaluations so the 3 s short window has three samples.
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${rulesFile}`,
    'alerting:',
    '  alertmanagers:',
    '    - static_configs:',
    `        - targets: ['${host(alertmanagerUrl)}']`,
    'scrape_configs:',
    '  - job_name: modelgate-proxy',
    '    static_configs:',
    `      - targets: ['${host(scrape.proxy)}']`,
    '  - job_name: modelgate-server',
    '    static_configs:',
    `      - targets: ['${host(scrape.server)}']`,
    '',
  ].join('\n');
}

describe('dashboards and alerts against a real Prometheus and Alertmanager', { skip }, () => {
  let dir: string;
  let repo: TempRepo;
  let server: RunningServer;
  let injector: FaultInjector;
  let proxy: Proxy;
  let engine: SloEngine;
  let notifier: AlertNotifier | undefined;
  let tick: NodeJS.Timeout | undefined;
  let rollout: RolloutMetrics;
  let recorder: DriftRecorder;
  let prometheus: Prometheus;
  let alertmanager: Alertmanager;
  let receiver: Receiver;
  let load: Load;
  let burstStartedAt = 0;
  const slo = compressedSlo();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-prom-'));
    repo = await TempRepo.create();
    const onnx = await readFile(join(EXAMPLES, MODEL, '123', 'model.onnx'));
    for (const v of [HEALTHY, BROKEN]) await repo.writeVersion(MODEL, Number(v), onnx);
    // The fraud example, for the drift panels (its committed baseline is for version 1).
    await repo.copyExample('fraud');
    // Dynamic batching on, so the Debug dashboard's queue and batch panels have data.
    const batching = { maxBatchSize: 8, batchTimeoutMicros: 1000, maxEnqueuedBatches: 100, numBatchThreads: 1, allowedBatchSizes: [], preferredBatchSizes: [] };
    server = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, models: [{ name: MODEL, basePath: repo.path(MODEL), policy: { kind: 'all' }, labels: {}, batching }, { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'specific', versions: [1] }, labels: {} }] });
    injector = await startFaultInjector(server.restUrl);

    const issues = new Issues();
    const config = readProxyConfig(
      { rest: { host: '127.0.0.1', port: 0, upstream: injector.url }, admin: { port: 0 }, splits: { [MODEL]: { stable: HEALTHY, canary: BROKEN, weight: 50 } }, labels: { statusPoll: '1s' }, bodies: { sampleRate: 1 } },
      'proxy',
      issues,
    );
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    // Wired as the lead wires the proxy process: outcomes → engine, gauges in the proxy's
    // registry, an evaluation tick, transitions → the Alertmanager notifier.
    const registry = new Registry();
    proxy = await createProxy({ config, registry, env: {} });
    engine = new SloEngine([slo], { clock: systemClock, onTransition: (t) => notifier?.notify(t) });
    proxy.onOutcome((o) => engine.record(o));
    registerSloMetrics(registry, engine);
    const driftConfig = validateDriftSection({ models: { fraud: { inputs: [...FRAUD_INPUTS] } } }, 'drift', issues);
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    recorder = new DriftRecorder(driftConfig, { baselines: (await loadBaselines(join(EXAMPLES, '..', 'baselines'))).profiles });
    registerDriftMetrics(registry, recorder);
    proxy.onBodies((b) => recorder.offer(b));
    rollout = new RolloutMetrics(registry);
    rollout.init(MODEL);
    rollout.update(rolloutState('Progressing', 50));
    tick = setInterval(() => engine.evaluate(), 500);

    receiver = await startReceiver();
    alertmanager = await startAlertmanager(dir, alertmanagerConfig(receiver.url));

    notifier = new AlertNotifier({ targets: [{ name: 'alertmanager', kind: 'alertmanager', url: alertmanager.url, timeoutMs: 5000 }], clock: systemClock, externalUrl: proxy.adminUrl });

    await writeFile(join(dir, 'rules.yaml'), rulesFile([slo], 'test/integration/prometheus.test.ts'));
    prometheus = await startPrometheus(dir, prometheusConfig(join(dir, 'rules.yaml'), alertmanager.url, { proxy: proxy.adminUrl, server: server.restUrl }));

    // The model really serves through the proxy before any load is measured.
    const first = await fetch(`${proxy.restUrl}/v1/models/${MODEL}/versions/${BROKEN}:predict`, { method: 'POST', body: JSON.stringify({ instances: [1.0, 2.0, 5.0] }) });
    assert.deepEqual(await first.json(), { predictions: [2.5, 3.0, 4.5] });

    // Fraud traffic with the hour of day flattened (a bot running round the clock): drift on
    // that one feature. 600 rows, over the recorder's 200-row minimum.
    const rows = fraudRows(600, 31, { flatHours: true });
    for (let i = 0; i < rows.length; i += 40) {
      const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: rows.slice(i, i + 40) }) });
      assert.equal(r.status, 200, await r.text());
    }
    await waitFor('the drift recorder to parse every body', () => recorder.stats.processed + recorder.stats.unparsable >= 15, 10_000, 100);
    await recorder.flush();
    recorder.evaluate();

    load = startLoad(`${proxy.restUrl}/v1/models/${MODEL}:predict`, { instances: [1.0, 2.0, 5.0] });
    // Normal traffic first, until Prometheus has a full page window of it for both versions,
    // so its windows and the in-process ones cover the same requests when the burst starts.
    const scrapedFrom = Date.now();
    await waitFor('normal traffic scraped for both versions', async () => {
      const r = await prometheus.query(`sum by (version) (rate(${PROXY_METRIC.requests}{model="${MODEL}"}[5s]))`);
      return r.status === 'success' && r.result.length === 2 && r.result.every((s) => Number(s.value[1]) > 1);
    }, 20_000);
    const settle = scrapedFrom + PAGE_LONG_MS + 2000 - Date.now();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    injector.failVersion(BROKEN, FAILURE_SHARE);
    burstStartedAt = Date.now();
  });

  after(async () => {
    if (tick) clearInterval(tick);
    await load?.stop();
    await notifier?.close();
    await prometheus?.stop();
    await alertmanager?.stop();
    await receiver?.close();
    await proxy?.close();
    await injector?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await repo?.remove();
  });

  test('every dashboard query parses and runs in Prometheus without error', async () => {
    const queries = dashboardQueries(buildDashboards());
    const failures: string[] = [];
    for (const q of queries) {
      const expr = expandQuery(q.expr, { model: MODEL, version: '.*', rateInterval: '10s', range: '5m', interval: '1s' });
      const r = await prometheus.query(expr);
      if (r.status !== 'success') failures.push(`${q.dashboard} / ${q.title} [${q.refId}]: ${r.error}\n  ${expr}`);
    }
    assert.deepEqual(failures, []);
  });

  test('the model and version variables list what Grafana would offer', async () => {
    // Grafana's label_values(<selector>, <label>) is /api/v1/label/<label>/values?match[]=<selector>.
    const values = async (label: string, selector: string) => {
      const r = await fetch(`${prometheus.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': selector })}`);
      const j = (await r.json()) as { status: string; data: string[] };
      assert.equal(j.status, 'success');
      return j.data;
    };
    assert.deepEqual(await values('model', VARIABLE_SERIES.model), ['fraud', MODEL]);
    assert.deepEqual(await values('version', expandQuery(VARIABLE_SERIES.version, { model: MODEL })), [HEALTHY, BROKEN]);
  });

  test('the core panels return data for the selected model and version only', async () => {
    const core: Record<string, string[]> = {
      'modelgate-overview': ['Rollouts in progress', 'Error budget remaining', 'Burn rate (worst window per SLO)', 'Request rate', 'p99 latency', 'Availability over the time range', 'Traffic share by version (last 5 minutes)', 'Active versions'],
      'modelgate-oncall': ['Burn rate per window against its thresholds', 'Request rate by model and version', 'Latency p50 / p95 / p99 by model and version', 'Error rate by model and version', 'Responses by status code'],
      'modelgate-debug': ['Server queue wait p50 / p99', 'Batch size (mean rows per run)', 'Latency heatmap, version $version', 'Model version states', 'Load and warmup times', 'Request rate, canary vs stable', 'Canary weight'],
    };
    const queries = dashboardQueries(buildDashboards());
    for (const [dashboard, titles] of Object.entries(core)) {
      for (const title of titles) {
        const qs = queries.filter((q) => q.dashboard === dashboard && q.title === title);
        assert.ok(qs.length > 0, `${dashboard} has no panel "${title}"`);
        for (const q of qs) {
          const expr = expandQuery(q.expr, { model: MODEL, version: BROKEN, rateInterval: '10s', range: '5m' });
          const r = await prometheus.query(expr);
          assert.equal(r.status, 'success', `${title}: ${expr}`);
          if (r.status !== 'success') continue;
          assert.ok(r.result.length > 0, `${dashboard} / ${title} [${q.refId}] returned no data:\n  ${expr}`);
          for (const s of r.result) {
            if (s.metric['model'] !== undefined) assert.equal(s.metric['model'], MODEL, title);
            // The canary-vs-stable panels show both versions of the model on purpose.
            if (s.metric['version'] !== undefined && !title.includes('canary vs stable')) assert.equal(s.metric['version'], BROKEN, `${title}: ${JSON.stringify(s.metric)}`);
          }
        }
      }
    }
  });

  test('the traffic-share panel shows the 50/50 split the proxy applied', async () => {
    const q = dashboardQueries(buildDashboards()).find((x) => x.title === 'Traffic share by version (last 5 minutes)')!;
    const r = await prometheus.query(expandQuery(q.expr, { model: MODEL, version: '.*' }));
    assert.equal(r.status, 'success');
    if (r.status !== 'success') return;
    const share = Object.fromEntries(r.result.map((s) => [s.metric['version'], Number(s.value[1])]));
    // A 50% random split over a few hundred requests: within ±15 points.
    for (const v of [HEALTHY, BROKEN]) assert.ok(Math.abs((share[v] ?? 0) - 0.5) < 0.15, `share of v${v}: ${share[v]}`);
  });

  test('the page alert fires for the broken version and not for the healthy one', async () => {
    const firing = await waitFor('ModelgateSLOErrorBudgetBurn page firing for version 2', async () => {
      const r = await prometheus.query(`ALERTS{alertname="${SLO_RULE.alert}",alertstate="firing",severity="page",model="${MODEL}"}`);
      return r.status === 'success' && r.result.some((s) => s.metric['version'] === BROKEN) ? r.result : undefined;
    }, 30_000, 500);
    assert.ok(firing.every((s) => s.metric['version'] !== HEALTHY), 'the healthy version must not page');
    assert.equal(firing.find((s) => s.metric['version'] === BROKEN)!.metric['slo'], slo.name);
    const healthy = await prometheus.query(`ALERTS{alertname="${SLO_RULE.alert}",version="${HEALTHY}"}`);
    assert.equal(healthy.status, 'success');
    if (healthy.status === 'success') assert.deepEqual(healthy.result, [], 'no alert of any severity or state for the healthy version');
    // The on-call "Firing alerts" panel lists it from both sources (Prometheus ALERTS and the
    // in-process gauge), and only for the broken version.
    const panel = dashboardQueries(buildDashboards()).filter((q) => q.title === 'Firing alerts');
    assert.equal(panel.length, 2);
    for (const q of panel) {
      const shown = await waitFor(`"Firing alerts" ${q.refId} shows version 2`, async () => {
        const r = await prometheus.query(expandQuery(q.expr, { model: MODEL, version: '.*' }));
        return r.status === 'success' && r.result.some((s) => s.metric['version'] === BROKEN) ? r.result : undefined;
      }, 10_000, 500);
      assert.ok(shown.every((s) => s.metric['version'] === BROKEN), `${q.refId}: ${JSON.stringify(shown.map((s) => s.metric))}`);
    }
    // The in-process evaluator reaches the same decision (within its own evaluation tick).
    const statuses = await waitFor('the in-process page for version 2', () => {
      const all = engine.evaluate();
      return all.find((s) => s.version === BROKEN)?.alerts.page.firing ? all : undefined;
    }, 10_000);
    assert.equal(statuses.find((s) => s.version === HEALTHY)?.alerts.page.firing, false);
  });

  test(`the recording rules give the in-process burn rates over the page window within ${BURN_RATE_TOLERANCE * 100}%`, async () => {
    const windowMs = PAGE_LONG_MS;
    // Wait until the long window holds nothing but burst traffic.
    const wait = burstStartedAt + windowMs + 3000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const record = errorRatioRecord(windowMs);
    const r = await prometheus.query(`${record}{slo="${slo.name}"}`);
    assert.equal(r.status, 'success');
    if (r.status !== 'success') return;
    const prom = Object.fromEntries(r.result.map((s) => [s.metric['version'], Number(s.value[1]) / (1 - slo.objective)]));
    const local = (v: string) => engine.burnRate(slo.name, MODEL, v, windowMs).burnRate;
    const broken = local(BROKEN);
    assert.ok(broken !== null && prom[BROKEN] !== undefined, `no burn rate: prometheus ${prom[BROKEN]}, in-process ${broken}`);
    // 30% failures on a 1% budget is a 30x burn; both must see it.
    assert.ok(Math.abs(broken - FAILURE_SHARE / (1 - slo.objective)) < 3, `in-process burn rate ${broken}`);
    assert.ok(Math.abs(prom[BROKEN]! - broken) <= BURN_RATE_TOLERANCE * broken, `prometheus ${prom[BROKEN]} vs in-process ${broken}`);
    assert.equal(prom[HEALTHY], 0);
    assert.equal(local(HEALTHY), 0);
  });

  test('Alertmanager delivers the page alert from Prometheus to the webhook receiver', async () => {
    type Webhook = { version: string; status: string; alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }> };
    const alert = await waitFor('a webhook with the page alert for version 2', () => {
      for (const b of receiver.bodies as Webhook[]) {
        const a = b.alerts?.find((x) => x.labels['alertname'] === SLO_RULE.alert && x.labels['severity'] === 'page' && x.labels['version'] === BROKEN);
        if (a) return { body: b, alert: a };
      }
      return undefined;
    }, 20_000, 250);
    assert.equal(alert.body.version, '4', 'Alertmanager webhook payload version');
    assert.equal(alert.alert.status, 'firing');
    assert.equal(alert.alert.labels['model'], MODEL);
    assert.equal(alert.alert.labels['slo'], slo.name);
    assert.match(alert.alert.annotations['summary'] ?? '', /half_plus_two version 2/);
    const healthyPages = (receiver.bodies as Webhook[]).flatMap((b) => b.alerts ?? []).filter((a) => a.labels['version'] === HEALTHY);
    assert.deepEqual(healthyPages, []);
  });

  test("Alertmanager's /api/v2/alerts accepts the proxy's own notifications", async () => {
    // The proxy's alert has the labels of the Prometheus rule's alert on purpose, so
    // Alertmanager deduplicates the two; what proves acceptance is Alertmanager's 2xx to
    // every POST the notifier made, and the alert being active there.
    await waitFor('the notifier to deliver the page to Alertmanager', () => notifier!.stats.sent > 0, 20_000, 250);
    assert.equal(notifier!.stats.failed, 0, 'no notification rejected or given up');
    assert.equal(notifier!.stats.dropped, 0);
    type AmAlert = { labels: Record<string, string>; status: { state: string } };
    const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as AmAlert[];
    const page = alerts.find((a) => a.labels['alertname'] === SLO_RULE.alert && a.labels['version'] === BROKEN && a.labels['severity'] === 'page');
    assert.ok(page, JSON.stringify(alerts.map((a) => a.labels)));
    assert.equal(page.status.state, 'active');
    assert.ok(!alerts.some((a) => a.labels['version'] === HEALTHY));
  });

  test('a rollback shows as On-call annotations and leaves "Rollouts in progress"', async () => {
    const queries = dashboardQueries(buildDashboards());
    const run = async (title: string) => {
      const q = queries.filter((x) => x.title === title);
      assert.ok(q.length > 0, title);
      return Promise.all(q.map(async (x) => {
        const r = await prometheus.query(expandQuery(x.expr, { model: MODEL, version: '.*' }));
        assert.equal(r.status, 'success', x.expr);
        return r.status === 'success' ? r.result : [];
      }));
    };
    assert.ok((await run('Rollouts in progress')).every((r) => r.length === 1), 'the rollout is listed while progressing');
    // What the controller does on rollback: weight 0 at once, the counter, the phase.
    proxy.setSplit(MODEL, { stable: HEALTHY, canary: BROKEN, weight: 0 });
    rollout.rollbacks.inc({ model: MODEL });
    rollout.update(rolloutState('RolledBack', 0));
    for (const title of ['Rollbacks', 'Canary weight changes']) {
      const [r] = await waitFor(`the "${title}" annotation`, async () => {
        const res = await run(title);
        return res[0]!.length > 0 ? res : undefined;
      }, 10_000, 500);
      assert.equal(r![0]!.metric['model'], MODEL, title);
    }
    await waitFor('"Rollouts in progress" to be empty', async () => (await run('Rollouts in progress')).every((r) => r.length === 0), 10_000, 500);
    const promotions = await run('Promotions');
    assert.deepEqual(promotions[0], [], 'a rollback is not a promotion');
  });

  test('the Debug drift panels show the shifted feature past its threshold and no other', async () => {
    const queries = dashboardQueries(buildDashboards()).filter((q) => q.dashboard === 'modelgate-debug');
    const scores = async (title: string) => {
      const q = queries.find((x) => x.title === title)!;
      const r = await prometheus.query(expandQuery(q.expr, { model: 'fraud', version: '1' }));
      assert.equal(r.status, 'success');
      return r.status === 'success' ? r.result : [];
    };
    const js = await scores('Jensen-Shannon distance per feature');
    assert.equal(js.length, FRAUD_INPUTS.length, 'one series per feature');
    assert.deepEqual(js.filter((s) => Number(s.value[1]) >= DRIFT_THRESHOLDS.js).map((s) => s.metric['feature']), ['hour_of_day']);
    const p = await scores('Test p-values per feature (KS, chi-square)');
    assert.ok(p.length >= FRAUD_INPUTS.length);
    assert.ok(p.some((s) => s.metric['feature'] === 'hour_of_day' && Number(s.value[1]) < DRIFT_THRESHOLDS.pValue));
    const psi = await scores('PSI per feature');
    assert.equal(psi.length, FRAUD_INPUTS.length);
  });

  test('the On-call upstream-errors panel shows connection resets by kind', async () => {
    await load.stop();
    const resetRequests = async (n: number) => {
      injector.resetNext(n);
      for (let i = 0; i < n; i++) {
        const r = await fetch(`${proxy.restUrl}/v1/models/${MODEL}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[1.0]}' });
        assert.equal(r.status, 502, 'the proxy answers a reset upstream with 502');
        await r.arrayBuffer();
      }
    };
    // The counter's series appears at the first reset, and rate() cannot see the step from
    // "no series" to 1; so one reset first, scraped, then the ones the panel must show.
    await resetRequests(1);
    await waitFor('the reset counter scraped', async () => {
      const r = await prometheus.query(`${PROXY_METRIC.upstreamErrors}{kind="reset"}`);
      return r.status === 'success' && r.result.length > 0;
    }, 10_000, 250);
    await resetRequests(3);
    const q = dashboardQueries(buildDashboards()).find((x) => x.title === 'Upstream errors by kind')!;
    const series = await waitFor('a reset in the upstream-errors panel', async () => {
      const r = await prometheus.query(expandQuery(q.expr, { rateInterval: '10s' }));
      return r.status === 'success' && r.result.some((s) => s.metric['kind'] === 'reset' && Number(s.value[1]) > 0) ? r.result : undefined;
    }, 10_000, 500);
    assert.ok(series.every((s) => s.metric['protocol'] === 'rest'));
  });
});
