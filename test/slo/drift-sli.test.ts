// The drift SLI: closed drift windows of a model version are the events of an SLO, and go
// through the same windows, burn rates and alerts as requests do. Driven by the real
// DriftRecorder on fraud traffic against the committed baseline, wired the way
// app/gateway.ts wires it, and by the generated Prometheus rules in promtool.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { DRIFT_METRIC, DRIFTED_VALUE, ManualClock, SLO_RULE } from '../../common/index.ts';
import { loadConfig, parseConfig } from '../../config/index.ts';
import type { Config } from '../../config/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics } from '../../drift/index.ts';
import type { BaselineProfile } from '../../drift/index.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import type { FraudRow } from '../../examples/data/fraud-reference.ts';
import { SloEngine } from '../../slo/engine.ts';
import type { AlertTransition, SloStatus } from '../../slo/status.ts';
import { rulesFile } from '../../slo/rules-yaml.ts';
import { errorRatioExpr, requestsExpr, sloRuleGroup } from '../../slo/rules.ts';
import type { Slo } from '../../slo/definitions.ts';
import { tfServingRowBodies } from '../drift/helpers.ts';
import type { RunningServer } from '../../server/index.ts';
import { ALL_VERSIONS, exampleModel, startTestServer } from '../helpers/server.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { havePromtool, promtool } from './promtool.ts';
import { MINUTE } from './helpers.ts';

const EXAMPLE = 'examples/modelgate.yaml';
const WINDOW = 5 * MINUTE;
/** Drift windows start at multiples of drift.window; start on one. */
const START = Math.floor(1_700_000_000_000 / WINDOW) * WINDOW;

let config: Config;
let baselines: BaselineProfile[] = [];
let fraudDrift: Slo;
before(async () => {
  config = loadConfig(EXAMPLE);
  fraudDrift = config.slos.find((s) => s.name === 'fraud-drift')!;
  assert.ok(fraudDrift, 'the example config has the fraud-drift SLO');
  const loaded = await loadBaselines(fileURLToPath(new URL('../../examples/baselines', import.meta.url)));
  assert.deepEqual(loaded.problems, []);
  baselines = loaded.profiles;
});

type Kind = 'drifted' | 'clean' | 'inconclusive';

/**
 * 500 rows like the reference (clean), 500 with hour_of_day flattened (drift: the recorder
 * tests show this feature alone fires), or 50 rows, below minSamples 200 (inconclusive).
 */
function rowsFor(kind: Kind, seed: number): FraudRow[] {
  if (kind === 'inconclusive') return fraudRows(50, seed);
  return fraudRows(500, seed, kind === 'drifted' ? { flatHours: true } : {});
}

/** The example's fraud-drift SLO and drift: section, wired like app/gateway.ts. */
function gateway() {
  const clock = new ManualClock(START);
  const transitions: AlertTransition[] = [];
  const engine = new SloEngine([fraudDrift], { clock, onTransition: (t) => transitions.push(t) });
  const drift = new DriftRecorder(config.drift, { clock, baselines });
  drift.onWindowClosed((w) => w.drifted !== null && engine.recordWindow({ model: w.model, version: w.version, good: !w.drifted, atMs: w.endMs }));
  let seed = 100;
  /** One drift window of traffic, then the gateway tick at its end: drift closes it, the SLOs evaluate. */
  async function window(kind: Kind, version = '1'): Promise<SloStatus> {
    const rows = rowsFor(kind, seed++);
    for (let i = 0; i < rows.length; i += 10) {
      drift.offer({ model: 'fraud', version, api: 'predict', protocol: 'rest', ...tfServingRowBodies(rows.slice(i, i + 10)), contentType: 'application/json' });
    }
    await drift.flush();
    clock.advance(WINDOW);
    drift.evaluate();
    return engine.evaluate().find((s) => s.version === version)!;
  }
  return { clock, engine, drift, transitions, window };
}

const hourWindow = (s: SloStatus) => s.windows.find((w) => w.window === '1h')!;

test('windows with drift burn the budget and page through the burn-rate alerts once four have closed', async () => {
  const g = gateway();
  const first = await g.window('drifted');
  assert.equal(first.alerts.page.firing, false, 'one drifted window alone does not page (minEvents 4)');
  assert.equal(first.verdict, 'inconclusive');
  assert.equal((await g.window('drifted')).alerts.page.firing, false);
  assert.equal((await g.window('drifted')).alerts.page.firing, false);
  const fourth = await g.window('drifted');
  assert.equal(fourth.alerts.page.firing, true);
  assert.equal(fourth.verdict, 'fail');
  assert.deepEqual({ bad: hourWindow(fourth).bad, total: hourWindow(fourth).total }, { bad: 4, total: 4 });
  assert.equal(hourWindow(fourth).burnRate, 1 / (1 - fraudDrift.objective), 'every window drifted');
  assert.ok(fourth.budget.remaining! < 1);
  const page = g.transitions.find((t) => t.severity === 'page');
  assert.deepEqual(page && { status: page.status, slo: page.slo.name, model: page.model, version: page.version, startsAt: page.startsAt }, {
    status: 'firing', slo: 'fraud-drift', model: 'fraud', version: '1', startsAt: START + 4 * WINDOW,
  });
});

test('a page for drift resolves once clean windows bring both windows of every pair under the factor', async () => {
  const g = gateway();
  for (let i = 0; i < 5; i++) await g.window('drifted');
  let resolvedAfter = 0;
  for (let i = 1; i <= 12 && resolvedAfter === 0; i++) if (!(await g.window('clean')).alerts.page.firing) resolvedAfter = i;
  assert.ok(resolvedAfter > 0, 'the page resolves within an hour of clean windows');
  const resolved = g.transitions.find((t) => t.severity === 'page' && t.status === 'resolved');
  assert.equal(resolved?.endsAt, START + (5 + resolvedAfter) * WINDOW);
});

test('windows without drift keep the drift SLO passing with its budget untouched', async () => {
  const g = gateway();
  let last: SloStatus | undefined;
  for (let i = 0; i < 5; i++) last = await g.window('clean');
  assert.equal(last!.verdict, 'pass');
  assert.deepEqual({ bad: hourWindow(last!).bad, total: hourWindow(last!).total }, { bad: 0, total: 5 });
  assert.equal(last!.budget.remaining, 1);
  assert.deepEqual(g.transitions, []);
});

test('inconclusive windows count neither way: they neither dilute drift nor delay the page', async () => {
  const g = gateway();
  await g.window('drifted');
  const quiet = await g.window('inconclusive');
  assert.deepEqual(g.drift.windows('fraud', '1').map((w) => w.drifted), [true, null], 'the recorder closed an inconclusive window');
  assert.deepEqual({ bad: hourWindow(quiet).bad, total: hourWindow(quiet).total }, { bad: 1, total: 1 });
  for (let i = 0; i < 2; i++) assert.equal((await g.window('drifted')).alerts.page.firing, false, 'fewer than four conclusive windows');
  const s = await g.window('drifted');
  assert.deepEqual({ bad: hourWindow(s).bad, total: hourWindow(s).total }, { bad: 4, total: 4 });
  assert.equal(s.alerts.page.firing, true);
});

test('one drifted window among a new version\'s first windows opens a ticket but never pages', () => {
  const clock = new ManualClock(START);
  const engine = new SloEngine([fraudDrift], { clock });
  const pages: number[] = [];
  const tickets: number[] = [];
  for (let k = 1; k <= 12; k++) {
    clock.set(START + k * WINDOW);
    engine.recordWindow({ model: 'fraud', version: '3', good: k !== 2, atMs: clock.now() });
    const [s] = engine.evaluate();
    if (s!.alerts.page.firing) pages.push(k);
    if (s!.alerts.ticket.firing) tickets.push(k);
  }
  assert.deepEqual(pages, [], '1 of 4 is 25%, under the 30% of the 6x page');
  // 3x over 1d/2h needs > 15%: 1 of 4 to 1 of 6; 1x over 3d/6h needs > 5%: up to 1 of 19.
  assert.deepEqual(tickets, [4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

test('a drift SLO counts only its own model version and ignores requests', async () => {
  const g = gateway();
  g.engine.record({ model: 'fraud', version: '1', api: 'predict', protocol: 'rest', variant: 'stable', code: '503', httpStatus: 503, durationSeconds: 9, endMs: START + 1 });
  g.engine.recordWindow({ model: 'mlp', version: '1', good: false, atMs: START + WINDOW });
  g.engine.recordWindow({ model: 'fraud', version: '2', good: false, atMs: START + WINDOW });
  g.clock.set(START + WINDOW);
  const statuses = g.engine.evaluate();
  assert.deepEqual(statuses.map((s) => [s.version, hourWindow(s).bad, hourWindow(s).total]), [['2', 1, 1]]);
  assert.equal(g.engine.dropped, 0);
});

test('the drift windows counter exports every outcome from 0 and counts each closed window once', async () => {
  const clock = new ManualClock(START);
  const drift = new DriftRecorder(config.drift, { clock, baselines });
  const registry = new Registry();
  registerDriftMetrics(registry, drift);
  const read = async () => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === DRIFT_METRIC.windows);
    return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels['drifted']), v.value]));
  };
  assert.deepEqual(await read(), {}, 'nothing before the first row');
  const send = async (rows: FraudRow[]) => {
    for (let i = 0; i < rows.length; i += 10) {
      drift.offer({ model: 'fraud', version: '1', api: 'predict', protocol: 'rest', ...tfServingRowBodies(rows.slice(i, i + 10)), contentType: 'application/json' });
    }
    await drift.flush();
  };
  await send(rowsFor('drifted', 1));
  assert.deepEqual(await read(), { [DRIFTED_VALUE.drifted]: 0, [DRIFTED_VALUE.clean]: 0, [DRIFTED_VALUE.inconclusive]: 0 }, 'zeros before the first window closes');
  clock.advance(WINDOW);
  drift.evaluate();
  await send(rowsFor('inconclusive', 2));
  clock.advance(WINDOW);
  drift.evaluate();
  drift.evaluate();
  assert.deepEqual(await read(), { [DRIFTED_VALUE.drifted]: 1, [DRIFTED_VALUE.clean]: 0, [DRIFTED_VALUE.inconclusive]: 1 });
});

test('the drift rules count drifted windows over conclusive ones, with no api matcher', () => {
  const ratio = errorRatioExpr(fraudDrift, 20 * MINUTE);
  assert.match(ratio, /increase\(modelgate_drift_windows_total\{model="fraud",drifted="true"\}\[20m\]\)/);
  assert.match(ratio, /increase\(modelgate_drift_windows_total\{model="fraud",drifted=~"true\|false"\}\[20m\]\)/);
  assert.equal(requestsExpr(fraudDrift, MINUTE * 60), 'sum by (model, version) (increase(modelgate_drift_windows_total{model="fraud",drifted=~"true|false"}[1h]))');
  assert.doesNotMatch(ratio, /api=/);
  const pinned = errorRatioExpr({ ...fraudDrift, version: '2' }, 20 * MINUTE);
  assert.match(pinned, /\{model="fraud",version="2",drifted="true"\}/);
  const alert = sloRuleGroup(fraudDrift).rules.find((r) => 'alert' in r && r.labels['severity'] === 'page');
  assert.ok(alert && 'annotations' in alert);
  assert.match(alert.annotations['description']!, /^Drift evaluation windows that found drift burn the budget of a 95% objective over 30d at 14.4x over 1h\/25m or 6x over 6h\/30m\./);
});

describe('the gateway: drift through the proxy pages through the drift SLO', () => {
  let server: RunningServer;
  let gw: TestGateway;
  let agent: Agent;
  const clock = new ManualClock(START);
  before(async () => {
    server = await startTestServer([exampleModel('fraud', { policy: ALL_VERSIONS, labels: { stable: 1, canary: 2 } })]);
    gw = await startTestGateway(server.restUrl, {
      // No notification targets: the alert is read from the admin API, nothing leaves the test.
      config: { ...config, slos: config.slos.map((s) => ({ ...s, notify: [] })) },
      clock,
      proxy: (p) => ({ ...p, bodies: { ...p.bodies, sampleRate: 1 } }),
    });
    agent = new Agent({ connections: 4 });
  });
  after(async () => {
    await agent.close();
    await gw.close();
    await server.close();
  });

  test('four windows of drifted fraud traffic fire the fraud-drift page, and /metrics counts the windows', async () => {
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 30; i++) {
        const r = await request(`${gw.proxy.restUrl}/v1/models/fraud/versions/1:predict`, {
          method: 'POST', body: JSON.stringify({ instances: fraudRows(20, 3000 + 30 * k + i, { flatHours: true }) }), dispatcher: agent,
        });
        await r.body.text();
        assert.equal(r.statusCode, 200);
      }
      await gw.drift!.flush();
      clock.advance(WINDOW);
      gw.tick();
    }
    const snap = (await (await fetch(`${gw.proxy.adminUrl}/api/v1/slos`)).json()) as {
      slos: { name: string; sli: string; series: { version: string; verdict: string; alerts: { page: { firing: boolean } }; windows: { window: string; bad: number; total: number }[] }[] }[];
    };
    const slo = snap.slos.find((s) => s.name === 'fraud-drift')!;
    assert.equal(slo.sli, 'drift');
    const v1 = slo.series.find((s) => s.version === '1')!;
    assert.deepEqual(v1.windows.find((w) => w.window === '1h'), { ...v1.windows.find((w) => w.window === '1h'), bad: 4, total: 4 });
    assert.equal(v1.alerts.page.firing, true);
    assert.equal(v1.verdict, 'fail');
    const metrics = await (await fetch(`${gw.proxy.adminUrl}/metrics`)).text();
    assert.match(metrics, /modelgate_drift_windows_total\{model="fraud",version="1",drifted="true"\} 4/);
    assert.match(metrics, /modelgate_slo_alert\{slo="fraud-drift",model="fraud",version="1",severity="page"\} 1/);
  });
});

// ---- config -----------------------------------------------------------------------

function check(slo: string, drift = 'drift: {window: 5m, models: {fraud: {inputs: [amount]}}}') {
  const text = `apiVersion: modelgate/v1\n${drift}\nslos:\n  - {name: d, model: fraud, ${slo}}\n`;
  const { config: c, issues } = parseConfig(text, 'drift-sli.yaml');
  return { slo: c?.slos[0], issues: issues.map((i) => `${i.severity} ${i.path}: ${i.message}`) };
}

test('sli: {drift: {}} is a drift SLI that needs four conclusive windows before it can fire', () => {
  const { slo, issues } = check(`sli: {drift: {}}, objective: 95, alerting: {windows: [{severity: page, long: 1h, short: 25m, factor: 14.4}]}`);
  assert.deepEqual(issues, []);
  assert.deepEqual(slo?.sli, { kind: 'drift' });
  assert.equal(slo?.alerting.minEvents, 4);
  assert.equal(fraudDrift.alerting.minEvents, 4);
});

test('drift SLI configs that cannot work are reported with the fix', () => {
  const table: Array<{ slo: string; drift?: string; expect: RegExp }> = [
    { slo: 'sli: {drift: {psi: 0.2}}, objective: 95', expect: /error slos\[0\]\.sli\.drift: takes no settings: write \{ drift: \{\} \}; thresholds and the verdict rule live in the drift: section/ },
    { slo: 'sli: {drift: {}}, objective: 95', drift: '', expect: /error slos\[0\]\.sli\.drift: the drift: section does not watch model "fraud".*add it under drift\.models/ },
    { slo: 'sli: {drift: {}}, objective: 95', drift: 'drift: {models: {mlp: {inputs: [x]}}}', expect: /error slos\[0\]\.sli\.drift: the drift: section does not watch model "fraud"/ },
    // Default windows: the 5m short window of the first page pair holds at most one 5m drift window.
    { slo: 'sli: {drift: {}}, objective: 95', expect: /warning slos\[0\]\.alerting\.windows: 5m are too short to hold minEvents \(4\) drift windows of 5m, so their alerts can never fire; make every window at least 25m/ },
    { slo: 'sli: {drift: {}}, objective: 95, alerting: {minEvents: 1, windows: [{severity: page, long: 1h, short: 5m, factor: 14.4}]}', expect: /warning slos\[0\]\.alerting\.windows: 5m hold fewer than minEvents \(1\) closed drift windows of 5m part of the time.*at least 10m/ },
    { slo: 'sli: {drift: {}}, objective: 95, apis: [predict]', expect: /warning slos\[0\]\.apis: is ignored by a drift SLI/ },
    { slo: 'sli: {drift: {}}, objective: 95', drift: 'drift: {enabled: false, models: {fraud: {inputs: [amount]}}}', expect: /warning slos\[0\]\.sli\.drift: drift\.enabled is false/ },
    // 14.4 × (1 − 0.9) = 1.44: the error ratio would have to exceed 144%.
    { slo: 'sli: {drift: {}}, objective: 90, alerting: {windows: [{severity: page, long: 1h, short: 20m, factor: 14.4}]}', expect: /warning slos\[0\]\.alerting\.windows: the page pair 1h\/20m at 14.4x needs more than 144% bad events and can never fire; with this objective a factor must stay below 10/ },
  ];
  for (const row of table) {
    const { issues } = check(row.slo, row.drift);
    assert.ok(issues.some((i) => row.expect.test(i)), `${row.slo}\n${row.drift ?? ''}\nexpected ${row.expect}\ngot:\n${issues.join('\n')}`);
  }
});

test('the example config loads its drift SLO without warnings', () => {
  assert.deepEqual(config.warnings.filter((w) => w.path.startsWith(`slos[${config.slos.indexOf(fraudDrift)}]`)), []);
});

// ---- Prometheus ---------------------------------------------------------------------

/**
 * Drift windows of two versions, one outcome per 5-minute window: version 1 drifts for an
 * hour and recovers, sees a stretch of inconclusive windows, then drifts now and then;
 * version 2 appears later with one drifted window among clean ones.
 */
function scenario(): Record<string, Kind[]> {
  const v1: Kind[] = [
    ...Array<Kind>(6).fill('clean'),
    ...Array<Kind>(12).fill('drifted'),
    ...Array<Kind>(22).fill('clean'),
    ...Array<Kind>(10).fill('inconclusive'),
    ...Array.from({ length: 30 }, (_, i): Kind => (i % 3 === 0 ? 'drifted' : 'clean')),
    ...Array<Kind>(16).fill('clean'),
  ];
  const v2: Kind[] = [...Array<Kind>(40).fill('inconclusive'), 'clean', 'drifted', ...Array<Kind>(54).fill('clean')];
  return { '1': v1, '2': v2 };
}

test('in-process evaluation and the generated rules fire the same drift alerts at the same times', (t) => {
  if (!havePromtool(t)) return;
  const data = scenario();
  const windows = Math.max(...Object.values(data).map((k) => k.length));
  const minutes = windows * (WINDOW / MINUTE);

  // 1. In-process: window k of each version ends at minute 5k; evaluate every minute.
  const clock = new ManualClock(0);
  const engine = new SloEngine([fraudDrift], { clock });
  const decisions = new Map<number, Array<{ version: string; severity: string }>>();
  for (let m = 1; m <= minutes; m++) {
    if (m % (WINDOW / MINUTE) === 0) {
      const k = m / (WINDOW / MINUTE) - 1;
      for (const [version, kinds] of Object.entries(data)) {
        const kind = kinds[k];
        if (kind === 'drifted' || kind === 'clean') engine.recordWindow({ model: 'fraud', version, good: kind === 'clean', atMs: m * MINUTE });
      }
    }
    clock.set(m * MINUTE);
    const firing: Array<{ version: string; severity: string }> = [];
    for (const s of engine.evaluate()) for (const sev of ['page', 'ticket'] as const) if (s.alerts[sev].firing) firing.push({ version: s.version, severity: sev });
    decisions.set(m, firing);
  }
  const all = [...decisions.values()].flat();
  for (const [version, severity] of [['1', 'page'], ['1', 'ticket']]) {
    assert.ok(all.some((d) => d.version === version && d.severity === severity), `the scenario has no version ${version} ${severity}`);
  }
  assert.ok([...decisions.values()].some((d) => d.length === 0), 'some minute with nothing firing');

  // 2. The windows counter scraped every minute (windows closed by then, zeros from the start).
  const input: Array<{ series: string; values: string }> = [];
  for (const [version, kinds] of Object.entries(data)) {
    for (const [kind, drifted] of Object.entries({ drifted: DRIFTED_VALUE.drifted, clean: DRIFTED_VALUE.clean, inconclusive: DRIFTED_VALUE.inconclusive })) {
      const values: number[] = [];
      for (let m = 0; m <= minutes; m++) values.push(kinds.slice(0, Math.floor(m / (WINDOW / MINUTE))).filter((k) => k === kind).length);
      input.push({ series: `${DRIFT_METRIC.windows}{model="fraud",version="${version}",drifted="${drifted}"}`, values: values.join(' ') });
    }
  }
  const annotations = new Map<string, Record<string, string>>();
  for (const rule of sloRuleGroup(fraudDrift).rules) if ('alert' in rule) annotations.set(rule.labels['severity']!, rule.annotations);
  const expand = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '');
  const alertTests = [...decisions.entries()].map(([m, firing]) => ({
    eval_time: `${m}m`,
    alertname: SLO_RULE.alert,
    exp_alerts: firing.map((d) => {
      const labels = { model: 'fraud', version: d.version, slo: 'fraud-drift', severity: d.severity, ...fraudDrift.alerting.labels };
      return { exp_labels: labels, exp_annotations: Object.fromEntries(Object.entries(annotations.get(d.severity)!).map(([k, v]) => [k, expand(v, labels)])) };
    }),
  }));
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-drift-sli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yaml'), rulesFile([fraudDrift], EXAMPLE));
  writeFileSync(
    join(dir, 'drift.test.yaml'),
    stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: input, alert_rule_test: alertTests }] }, { lineWidth: 0 }),
  );
  const r = promtool(['test', 'rules', 'drift.test.yaml'], dir);
  assert.equal(r.status, 0, `in-process and Prometheus disagree:\n${r.output.slice(0, 4000)}`);
});
