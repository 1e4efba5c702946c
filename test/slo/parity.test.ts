// Parity: the same synthetic traffic replayed through the in-process evaluator and, as
// scraped counters, through the generated rules in `promtool test rules` must give the same
// firing decisions at the same evaluation times. The promtool test file is generated from
// the in-process decisions; promtool passing means every decision agreed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ManualClock, PROXY_METRIC, SLO_RULE } from '../../common/index.ts';
import { parseConfig } from '../../config/index.ts';
import { SloEngine } from '../../slo/engine.ts';
import { rulesFile } from '../../slo/rules-yaml.ts';
import { sloRuleGroup } from '../../slo/rules.ts';
import type { Slo } from '../../slo/definitions.ts';
import { havePromtool, promtool } from './promtool.ts';
import { MINUTE, outcome } from './helpers.ts';

const CONFIG = `apiVersion: modelgate/v1
slos:
  - name: fraud-availability
    model: fraud
    sli: {availability: {}}
    objective: 99.9
  - name: fraud-latency
    model: fraud
    sli: {latency: {threshold: 100ms}}
    objective: 99
    alerting: {minEvents: 30}
`;
const MINUTES = 420;
const EVAL_EVERY_MIN = 5;
const VERSIONS = ['1', '2'] as const;

/** Deterministic pseudo-random numbers (mulberry32), so the traffic is the same every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Minute {
  ok: number;
  err: number;
  slow: number;
}

/** Per version, per minute: requests answered 200 (fast or slow) and 503 (fast). */
function traffic(): Record<string, Minute[]> {
  const r = rng(42);
  const out: Record<string, Minute[]> = {};
  for (const v of VERSIONS) {
    out[v] = Array.from({ length: MINUTES }, (_, i) => {
      const m = i + 1;
      let total = v === '1' ? 50 + Math.floor(r() * 20) : 20 + Math.floor(r() * 10);
      let errRate = 0.0005;
      let slowRate = 0.002;
      if (v === '1' && m > 60 && m <= 72) errRate = 1; // outage: pages, then resolves
      if (v === '1' && m > 200 && m <= 260) {
        total = m % 7 === 0 ? 2 : 0; // night: 1 of 2 fails, below minEvents
        errRate = 0.5;
      }
      if (v === '2' && m > 100) errRate = 0.003; // slow 3x burn: a ticket
      if (v === '2' && m > 250 && m <= 300) slowRate = 0.3; // latency regression
      if (v === '2' && m > 330 && m <= 360) total = 0; // no traffic at all
      const err = Math.min(total, Math.round(total * errRate + (r() < (total * errRate) % 1 ? 1 : 0)));
      const ok = total - err;
      const slow = Math.min(ok, Math.floor(ok * slowRate + r()));
      return { ok, err, slow };
    });
  }
  return out;
}

function seriesValues(minutes: Minute[], pick: (m: Minute) => number): string {
  const values = [0];
  for (const m of minutes) values.push(values[values.length - 1]! + pick(m));
  return values.join(' ');
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
}

test('in-process evaluation and the generated Prometheus rules fire the same alerts at the same times', (t) => {
  if (!havePromtool(t)) return;
  const { config, issues } = parseConfig(CONFIG, 'parity.yaml');
  assert.ok(config, JSON.stringify(issues));
  const slos: readonly Slo[] = config.slos;
  const data = traffic();

  // 1. In-process: replay every minute's requests, evaluate every EVAL_EVERY_MIN minutes.
  const clock = new ManualClock(0);
  const engine = new SloEngine(slos, { clock });
  const decisions = new Map<number, Array<{ slo: string; version: string; severity: string }>>();
  let suppressed = 0;
  for (let m = 1; m <= MINUTES; m++) {
    for (const v of VERSIONS) {
      const { ok, err, slow } = data[v]![m - 1]!;
      const n = ok + err;
      for (let i = 0; i < n; i++) {
        const endMs = (m - 1) * MINUTE + 1 + Math.floor((i * (MINUTE - 1)) / Math.max(1, n));
        const isErr = i < err;
        const isSlow = !isErr && i - err < slow;
        engine.record(outcome(endMs, isErr ? '503' : '200', { version: v, durationSeconds: isSlow ? 0.3 : 0.02 }));
      }
    }
    if (m % EVAL_EVERY_MIN !== 0) continue;
    clock.set(m * MINUTE);
    const firing: Array<{ slo: string; version: string; severity: string }> = [];
    for (const s of engine.evaluate()) {
      for (const sev of ['page', 'ticket'] as const) {
        if (s.alerts[sev].firing) firing.push({ slo: s.slo, version: s.version, severity: sev });
        // A pair with a burning ratio but too few events: the minEvents guard at work.
        if (s.alerts[sev].pairs.some((p) => p.state === 'inconclusive') && s.windows.some((w) => (w.errorRatio ?? 0) >= 0.5)) suppressed++;
      }
    }
    decisions.set(m, firing);
  }
  const all = [...decisions.values()].flat();
  // The traffic must exercise every kind of decision, or agreeing proves little.
  for (const [slo, sev] of [['fraud-availability', 'page'], ['fraud-availability', 'ticket'], ['fraud-latency', 'page']] as const) {
    assert.ok(all.some((d) => d.slo === slo && d.severity === sev), `no ${slo} ${sev} in the replay`);
  }
  assert.ok([...decisions.values()].some((d) => d.length === 0), 'some evaluation with nothing firing');
  assert.ok(suppressed > 0, 'some low-traffic window held back by minEvents');

  // 2. The same traffic as counters scraped every minute, and the in-process decisions as expectations.
  const base = { model: 'fraud', api: 'predict', protocol: 'rest', variant: 'stable' };
  const input: Array<{ series: string; values: string }> = [];
  for (const v of VERSIONS) {
    const mins = data[v]!;
    const l200 = labelsText({ ...base, version: v, code: '200' });
    const l503 = labelsText({ ...base, version: v, code: '503' });
    input.push({ series: `${PROXY_METRIC.requests}{${l200}}`, values: seriesValues(mins, (x) => x.ok) });
    input.push({ series: `${PROXY_METRIC.requests}{${l503}}`, values: seriesValues(mins, (x) => x.err) });
    input.push({ series: `${PROXY_METRIC.requestDuration}_count{${l200}}`, values: seriesValues(mins, (x) => x.ok) });
    input.push({ series: `${PROXY_METRIC.requestDuration}_bucket{${l200},le="0.1"}`, values: seriesValues(mins, (x) => x.ok - x.slow) });
    input.push({ series: `${PROXY_METRIC.requestDuration}_count{${l503}}`, values: seriesValues(mins, (x) => x.err) });
    input.push({ series: `${PROXY_METRIC.requestDuration}_bucket{${l503},le="0.1"}`, values: seriesValues(mins, (x) => x.err) });
  }
  const annotations = new Map<string, Record<string, string>>();
  for (const slo of slos) {
    for (const rule of sloRuleGroup(slo).rules) if ('alert' in rule) annotations.set(`${slo.name}/${rule.labels['severity']}`, rule.annotations);
  }
  const expand = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '');
  const alertTests = [...decisions.entries()].map(([m, firing]) => ({
    eval_time: `${m}m`,
    alertname: SLO_RULE.alert,
    exp_alerts: firing.map((d) => {
      const labels = { model: 'fraud', version: d.version, slo: d.slo, severity: d.severity };
      const ann = annotations.get(`${d.slo}/${d.severity}`)!;
      return { exp_labels: labels, exp_annotations: Object.fromEntries(Object.entries(ann).map(([k, v]) => [k, expand(v, labels)])) };
    }),
  }));

  const dir = mkdtempSync(join(tmpdir(), 'modelgate-parity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yaml'), rulesFile(slos, 'parity.yaml'));
  writeFileSync(
    join(dir, 'parity.test.yaml'),
    stringify({ rule_files: ['rules.yaml'], evaluation_interval: `${EVAL_EVERY_MIN}m`, tests: [{ interval: '1m', input_series: input, alert_rule_test: alertTests }] }, { lineWidth: 0 }),
  );
  const r = promtool(['test', 'rules', 'parity.test.yaml'], dir);
  assert.equal(r.status, 0, `in-process and Prometheus disagree:\n${r.output.slice(0, 4000)}`);
});
