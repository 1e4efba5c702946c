// The status page in a real headless Chromium: the real server and proxy on loopback, an SLO
// engine fed by the proxy's outcomes (20% failures injected on version 2), the page mounted
// on the admin port. The numbers Chromium renders must be the ones the JSON API returns,
// and the screenshot is the one the README shows (docs/status-page.png).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { Issues, systemClock } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { mountStatusPage, RecentAlerts, formatBurn, formatPercent } from '../../proxy/status-page/index.ts';
import type { DriftSnapshotLike, RolloutLike, SloSnapshotLike, StatusModel } from '../../proxy/status-page/index.ts';
import { startServer } from '../../server/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { SloEngine, validateSlo } from '../../slo/index.ts';
import type { SloSnapshot } from '../../slo/index.ts';
import type { DriftSnapshot } from '../../drift/index.ts';
import { EXAMPLES, TempRepo } from '../helpers/repo.ts';
import { needBinaries, which } from './programs.ts';
import { startFaultInjector } from './traffic.ts';
import type { FaultInjector } from './traffic.ts';

// The page reads the other areas' snapshots as they are: checked at compile time.
const sloSnapshotFits: SloSnapshot extends SloSnapshotLike ? true : false = true;
const driftSnapshotFits: DriftSnapshot extends DriftSnapshotLike ? true : false = true;

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
    server = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, models: [{ name: MODEL, basePath: repo.path(MODEL), policy: { kind: 'all' }, labels: {} }] });
    injector = await startFaultInjector(server.restUrl);
    const issues = new Issues();
    const config = readProxyConfig({ rest: { host: '127.0.0.1', port: 0, upstream: injector.url }, admin: { port: 0 }, splits: { [MODEL]: { stable: '1', canary: '2', weight: 25 } }, labels: { statusApi: 'none' } }, 'proxy', issues);
    const slo = validateSlo({ name: 'hpt-availability', model: MODEL, objective: 99, period: '1h', sli: { availability: {} }, alerting: { minEvents: 5 } }, 'slos[0]', issues);
    assert.ok(issues.ok && slo, JSON.stringify(issues.errors));
    proxy = await createProxy({ config, registry: new Registry(), env: {} });
    const alerts = new RecentAlerts();
    const engine = new SloEngine([slo], { clock: systemClock, onTransition: (t) => alerts.record(t) });
    proxy.onOutcome((o) => engine.record(o));

    // 100 requests to each version; 2 in 10 of version 2's fail.
    injector.failVersion('2', 0.2);
    for (let i = 0; i < 100; i++) {
      for (const v of ['1', '2']) {
        const r = await fetch(`${proxy.restUrl}/v1/models/${MODEL}/versions/${v}:predict`, { method: 'POST', body: '{"instances":[1.0]}' });
        await r.arrayBuffer();
      }
    }
    engine.evaluate();

    // Drift and rollouts as their areas' snapshots look (fixtures: this test is about the page).
    const drift: DriftSnapshotLike = {
      models: [{ model: MODEL, versions: [{ version: '2', last: { verdict: 'drift', reason: '1 of 1 features drifted (Bonferroni)', features: [{ feature: 'x', method: 'ks', score: 0.0004, threshold: 0.05, drifted: true }] } }] }],
    };
    const rollouts: RolloutLike[] = [
      { model: MODEL, phase: 'Progressing', canary: '2', stable: '1', weight: 25, reason: 'step 2 of 4: analysis passed', history: [{ phase: 'RolledBack', canary: '3', stable: '1', reason: 'canary error ratio above stable for 3 checks', endedAt: '2026-11-25T17:00:00.000Z' }] },
    ];
    mountStatusPage(proxy.route, { slos: () => engine.snapshot(), drift: () => drift, rollouts: () => rollouts, alerts });

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

  test('the snapshot types of the SLO engine and the drift recorder fit the page', () => {
    assert.equal(sloSnapshotFits && driftSnapshotFits, true);
  });

  test('the page shows each version\'s budget remaining as the JSON API reports it', () => {
    const budget = cells(dom, 'budget');
    assert.equal(budget.length, 2, dom.slice(0, 2000));
    for (const row of json.slos) {
      const cell = budget.find((c) => c.attrs['version'] === row.version);
      assert.ok(cell, `no budget cell for version ${row.version}`);
      assert.equal(cell.text, formatPercent(row.budgetRemaining));
    }
    // 20% failures on a 1% budget: version 2 has overspent by 19 budgets; version 1 is untouched.
    assert.equal(json.slos.find((s) => s.version === '1')?.budgetRemaining, 1);
    assert.ok(Math.abs(json.slos.find((s) => s.version === '2')!.budgetRemaining! - (1 - 0.2 / 0.01)) < 1e-9);
  });

  test('the page shows every window\'s burn rate as the JSON API reports it', () => {
    const burn = cells(dom, 'burn');
    const expected = json.slos.flatMap((s) => s.burnRates.map((b) => ({ version: s.version, window: b.window, text: formatBurn(b.burnRate) })));
    assert.equal(burn.length, expected.length);
    for (const e of expected) {
      const cell = burn.find((c) => c.attrs['version'] === e.version && c.attrs['window'] === e.window);
      assert.equal(cell?.text, e.text, `version ${e.version} window ${e.window}`);
    }
    assert.ok(expected.some((e) => e.version === '2' && e.text === '20.00×'), JSON.stringify(expected));
  });

  test('the page shows the rollout weight, the drift score and the page alert for version 2', () => {
    assert.deepEqual(cells(dom, 'weight').map((c) => c.text), ['25%']);
    assert.equal(cells(dom, 'drift-score')[0]?.text, '4.00e-4');
    assert.ok(json.alerts.some((a) => a.status === 'firing' && a.version === '2' && a.severity === 'page'), JSON.stringify(json.alerts));
    assert.match(dom, /<tr data-alert="firing">/);
    assert.ok(!json.alerts.some((a) => a.version === '1'));
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
    // CI keeps the committed screenshot; a local run refreshes it.
    if (process.env['CI'] !== 'true') await copyFile(shot, join(ROOT, 'docs', 'status-page.png'));
  });
});
