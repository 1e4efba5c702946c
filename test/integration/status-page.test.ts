// The status page in a real headless Chromium: the real server and proxy on loopback, the
// SLO engine fed by the proxy's outcomes, the drift recorder fed by its body tee, the page
// mounted on the admin port. An hour is replayed on a manual clock in a few seconds of real
// requests: a canary (version 2) ramps 5 → 25 → 50%, starts failing 20% of its requests at
// minute 45, and its rollout pauses; fraud traffic with a flattened hour of day drifts.
// The numbers Chromium renders must be the ones the JSON API returns, and the screenshot is
// the one the README shows (docs/status-page.png).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { Issues, ManualClock } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { mountStatusPage, RecentAlerts, formatBurn, formatNumber, formatPercent } from '../../proxy/status-page/index.ts';
import type { DriftSnapshotLike, RolloutLike, SloSnapshotLike, StatusModel } from '../../proxy/status-page/index.ts';
import type { RolloutView } from '../../rollout/index.ts';
import { startServer } from '../../server/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { SloEngine, validateSlo } from '../../slo/index.ts';
import type { SloSnapshot } from '../../slo/index.ts';
import { DriftRecorder, loadBaselines, validateDriftSection } from '../../drift/index.ts';
import type { DriftSnapshot } from '../../drift/index.ts';
import { FRAUD_INPUTS, fraudRows } from '../../examples/data/fraud-reference.ts';
import { EXAMPLES, TempRepo } from '../helpers/repo.ts';
import { needBinaries, which } from './programs.ts';
import { startFaultInjector } from './traffic.ts';
import { seeded } from '../proxy/helpers.ts';
import type { FaultInjector } from './traffic.ts';

// The page reads the other areas' snapshots as they are: checked at compile time.
const sloSnapshotFits: SloSnapshot extends SloSnapshotLike ? true : false = true;
const driftSnapshotFits: DriftSnapshot extends DriftSnapshotLike ? true : false = true;
const rolloutViewFits: RolloutView extends RolloutLike ? true : false = true;

const skip = needBinaries(['chromium']);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = 'half_plus_two';

/** Runs headless Chromium once and returns its stdout; bounded, killed by PID on timeout. */
async function chromium(profile: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const child = spawn(which('chromium')!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', `--user-data-dir=${profile}`, ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-4096)));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 0, `chromium exited ${code}: ${err}`);
  return out;
}

/** `data-field` cells of the dumped DOM: attributes and text. */
function cells(dom: string, field: string): Array<{ attrs: Record<string, string>; text: string }> {
  const out: Array<{ attrs: Record<string, string>; text: string }> = [];
  const re = new RegExp(`<(td|b|span)([^>]*data-field="${field}"[^>]*)>(.*?)</\\1>`, 'g');
  for (const m of dom.matchAll(re)) {
    const attrs: Record<string, string> = {};
    for (const a of m[2]!.matchAll(/data-([a-z-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    out.push({ attrs, text: m[3]!.replace(/<[^>]+>/g, '').trim() });
  }
  return out;
}

describe('the status page in headless Chromium', { skip }, () => {
  let repo: TempRepo;
  let server: RunningServer;
  let injector: FaultInjector;
  let proxy: Proxy;
  let profile: string;
  let dom = '';
  let json: StatusModel;

  before(async () => {
    repo = await TempRepo.create();
    const onnx = await readFile(join(EXAMPLES, MODEL, '123', 'model.onnx'));
    for (const v of [1, 2]) await repo.writeVersion(MODEL, v, onnx);
    await repo.copyExample('fraud');
    server = await startServer({
      host: '127.0.0.1', restPort: 0, pollMs: 0,
      models: [
        { name: MODEL, basePath: repo.path(MODEL), policy: { kind: 'all' }, labels: {} },
        { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'specific', versions: [1] }, labels: {} },
      ],
    });
    injector = await startFaultInjector(server.restUrl);
    const issues = new Issues();
    const config = readProxyConfig({ rest: { host: '127.0.0.1', port: 0, upstream: injector.url }, admin: { port: 0 }, splits: { [MODEL]: { stable: '1' } }, labels: { statusApi: 'none' }, bodies: { sampleRate: 1 } }, 'proxy', issues);
    const slo = validateSlo({ name: 'hpt-availability', model: MODEL, objective: 99, sli: { availability: {} } }, 'slos[0]', issues);
    const driftConfig = validateDriftSection({ minSamples: 200, models: { fraud: { inputs: [...FRAUD_INPUTS] } } }, 'drift', issues); // 200: the replay's last, partial window is judged too
    assert.ok(issues.ok && slo, JSON.stringify(issues.errors));

    // The hour being replayed ends now, so the page reads like a live one.
    const clock = new ManualClock(Date.now() - 60 * 60_000);
    proxy = await createProxy({ config, registry: new Registry(), env: {}, clock, random: seeded(7) });
    const alerts = new RecentAlerts();
    const engine = new SloEngine([slo], { clock, onTransition: (t) => alerts.record(t) });
    proxy.onOutcome((o) => engine.record(o));
    const recorder = new DriftRecorder(driftConfig, { clock, baselines: (await loadBaselines(join(EXAMPLES, '..', 'baselines'))).profiles });
    proxy.onBodies((b) => recorder.offer(b));

    // The rollout as the controller would report it (this test is about the page, not the controller).
    const rollout: RolloutLike = { model: MODEL, phase: 'Pending', canary: '2', stable: '1', weight: 0, reason: 'waiting for version 2', history: [
      { phase: 'RolledBack', canary: '3', stable: '1', reason: 'canary error ratio above stable for 3 checks', endedAt: new Date(clock.now() - 20 * 60_000).toISOString() },
    ] };
    mountStatusPage(proxy.route, { slos: () => engine.snapshot(), drift: () => recorder.snapshot(), rollouts: () => [rollout], alerts }, { clock });

    const steps: Record<number, Partial<RolloutLike>> = {
      20: { phase: 'Progressing', weight: 5, reason: 'step 1 of 4' },
      30: { weight: 25, reason: 'step 2 of 4: analysis passed' },
      40: { weight: 50, reason: 'step 3 of 4: analysis passed' },
      50: { phase: 'Paused', reason: 'analysis failed 2 of 3 checks: canary burn rate above 14.4x' },
    };
    for (let minute = 1; minute <= 60; minute++) {
      clock.advance(60_000);
      const step = steps[minute];
      if (step) {
        Object.assign(rollout, step);
        proxy.setSplit(MODEL, { stable: '1', canary: '2', weight: rollout.weight });
      }
      // Two in ten of the canary's requests fail from minute 45.
      if (minute === 45) injector.failVersion('2', 0.2);
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`${proxy.restUrl}/v1/models/${MODEL}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[1.0]}' });
        await r.arrayBuffer();
      }
      if (minute >= 57) {
        // Fraud traffic in the last minutes: 600 rows whose hour of day is flat.
        const rows = fraudRows(150, minute, { flatHours: true });
        for (let i = 0; i < rows.length; i += 50) {
          const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: rows.slice(i, i + 50) }) });
          assert.equal(r.status, 200);
        }
      }
      engine.evaluate();
      // A page view each minute: the page's charts sample what it shows.
      await (await fetch(`${proxy.adminUrl}/status.json`)).arrayBuffer();
    }
    await recorder.flush();
    recorder.evaluate();
    engine.evaluate();

    json = (await (await fetch(`${proxy.adminUrl}/status.json`)).json()) as StatusModel;
    profile = await mkdtemp(join(tmpdir(), 'modelgate-chromium-'));
    dom = await chromium(profile, ['--dump-dom', `${proxy.adminUrl}/status`]);
  });

  after(async () => {
    await proxy?.close();
    await injector?.close();
    await server?.close();
    await repo?.remove();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test('the snapshot types of the SLO engine, the drift recorder and the rollout controller fit the page', () => {
    assert.equal(sloSnapshotFits && driftSnapshotFits && rolloutViewFits, true);
  });

  test('the page shows each version\'s budget remaining as the JSON API reports it', () => {
    const budget = cells(dom, 'budget');
    assert.equal(budget.length, 2);
    for (const row of json.slos) {
      const cell = budget.find((c) => c.attrs['version'] === row.version);
      assert.ok(cell, `no budget cell for version ${row.version}`);
      assert.equal(cell.text, formatPercent(row.budgetRemaining));
    }
    assert.equal(json.slos.find((s) => s.version === '1')?.budgetRemaining, 1, 'the stable version spent nothing');
    assert.ok(json.slos.find((s) => s.version === '2')!.budgetRemaining! < 0, 'the failing canary overspent its budget');
  });

  test('the page shows every window\'s burn rate as the JSON API reports it', () => {
    const burn = cells(dom, 'burn');
    const expected = json.slos.flatMap((s) => s.burnRates.map((b) => ({ version: s.version, window: b.window, text: formatBurn(b.burnRate) })));
    assert.equal(burn.length, expected.length);
    for (const e of expected) {
      const cell = burn.find((c) => c.attrs['version'] === e.version && c.attrs['window'] === e.window);
      assert.equal(cell?.text, e.text, `version ${e.version} window ${e.window}`);
    }
    // 2 in 10 failing on a 1% budget over the last 5 minutes: about a 20x burn (the window
    // edges cut the deterministic 2-in-10 pattern anywhere).
    const canary5m = json.slos.find((s) => s.version === '2')?.burnRates.find((b) => b.window === '5m')?.burnRate;
    assert.ok(canary5m !== undefined && canary5m !== null && Math.abs(canary5m - 20) < 3, String(canary5m));
  });

  test('the page shows the rollout phase and weight, and the page alert for the canary only', () => {
    assert.deepEqual(cells(dom, 'weight').map((c) => c.text), ['50%']);
    assert.match(dom, /<span class="badge warn">Paused<\/span>/);
    assert.ok(json.alerts.some((a) => a.status === 'firing' && a.version === '2' && a.severity === 'page'), JSON.stringify(json.alerts));
    assert.ok(!json.alerts.some((a) => a.version === '1'));
    assert.match(dom, /<tr data-alert="firing">/);
  });

  test('the page shows every drift score as the JSON API reports it, and only hour_of_day drifted', () => {
    const shown = cells(dom, 'drift-score');
    const features = json.drift.flatMap((v) => v.features);
    assert.equal(features.length, FRAUD_INPUTS.length);
    assert.equal(shown.length, features.length);
    for (const f of features) assert.equal(shown.find((c) => c.attrs['feature'] === f.feature)?.text, formatNumber(f.score), f.feature);
    assert.deepEqual(features.filter((f) => f.drifted).map((f) => f.feature), ['hour_of_day']);
  });

  test('the charts cover the last hour: one point per page view', () => {
    const canary = json.charts.burnRate.find((s) => s.label === 'hpt-availability v2');
    assert.ok(canary);
    // Version 2 takes traffic from minute 20; points only where the burn rate has data.
    assert.ok(canary.points.length >= 35 && canary.points.length <= 42, `${canary.points.length} points`);
    const weight = json.charts.weight[0]!;
    assert.deepEqual([...new Set(weight.points.map((p) => p[1]))], [0, 5, 25, 50]);
    assert.equal((dom.match(/<polyline /g) ?? []).length, json.charts.burnRate.length + json.charts.budget.length + json.charts.weight.length);
  });

  test('the page makes no request outside itself (no external URL, no script)', () => {
    assert.doesNotMatch(dom, /<script|https?:\/\/(?!127\.0\.0\.1)/i);
  });

  test('a screenshot of the page is saved for the README', async () => {
    const shot = join(profile, 'status-page.png');
    await chromium(profile, [`--screenshot=${shot}`, '--window-size=1280,900', '--hide-scrollbars', `${proxy.adminUrl}/status`]);
    const png = await readFile(shot);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.ok((await stat(shot)).size > 10_000, 'a page, not a blank image');
    // The committed screenshot changes only on purpose: MODELGATE_UPDATE_SCREENSHOT=1 refreshes it.
    if (process.env['MODELGATE_UPDATE_SCREENSHOT'] === '1') await copyFile(shot, join(ROOT, 'docs', 'status-page.png'));
  });
});
