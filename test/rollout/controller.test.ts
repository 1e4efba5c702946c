import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import { RolloutController } from '../../rollout/index.ts';
import type { RolloutSpec, SplitActuator, SplitValue, WebhookSpec } from '../../rollout/index.ts';
import { spec } from './helpers.ts';

// ---- fixtures: a webhook receiver on loopback, an in-memory split table (the
// SplitActuator interface; the real proxy is exercised in e2e.test.ts), temp dirs ----

interface Receiver {
  url: string;
  bodies: Array<{ path: string; body: Record<string, unknown> }>;
  status: number;
  server: Server;
}

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup) await c();
});

async function receiver(status = 200): Promise<Receiver> {
  const r: Receiver = { url: '', bodies: [], status, server: createServer() };
  r.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.bodies.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.writeHead(r.status).end();
    });
  });
  r.server.listen(0, '127.0.0.1');
  await once(r.server, 'listening');
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  cleanup.push(() => new Promise<void>((resolve) => { r.server.closeAllConnections(); r.server.close(() => resolve()); }));
  return r;
}

class SplitTable implements SplitActuator {
  readonly table = new Map<string, SplitValue>();
  readonly history: Array<SplitValue | undefined> = [];
  setSplit(model: string, split: SplitValue | undefined): void {
    this.history.push(split);
    if (split) this.table.set(model, split);
    else this.table.delete(model);
  }
  getSplit(model: string): SplitValue | undefined {
    return this.table.get(model);
  }
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-rollout-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Harness {
  clock: ManualClock;
  split: SplitTable;
  registry: Registry;
  dir: string;
  c: RolloutController;
  logs: string[];
}

async function harness(s: RolloutSpec, opts: { dir?: string; split?: SplitTable; clock?: ManualClock; versions?: string[] } = {}): Promise<Harness> {
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 10, 25, 12));
  const split = opts.split ?? new SplitTable();
  if (!opts.split) split.setSplit('fraud', { stable: '1', weight: 0 });
  const registry = new Registry();
  const dir = opts.dir ?? (await tempDir());
  const logs: string[] = [];
  const versions = opts.versions ?? ['1', '2'];
  const c = await RolloutController.open({ specs: [s], clock, split, registry, stateDir: dir, versions: { availableVersions: () => versions }, log: (l) => logs.push(l) });
  cleanup.push(() => c.stop());
  return { clock, split, registry, dir, c, logs };
}

const outcome = (version: string, t: number, status = 200, seconds = 0.005): RequestOutcome => ({
  model: 'fraud',
  version,
  api: 'predict',
  protocol: 'rest',
  variant: 'stable',
  httpStatus: status,
  code: String(status),
  durationSeconds: seconds,
  endMs: t,
});

/** One interval of traffic: n requests per version; the canary's status and latency per request index. */
function feed(h: Harness, n: number, canary: { status?: (i: number) => number; seconds?: number } = {}): void {
  const t = h.clock.now();
  for (let i = 0; i < n; i++) {
    // ±20% spread so ranks are not all tied.
    const jitter = 0.8 + (0.4 * i) / n;
    h.c.observe(outcome('1', t, 200, 0.005 * jitter));
    h.c.observe(outcome('2', t, canary.status?.(i) ?? 200, (canary.seconds ?? 0.005) * jitter));
  }
}

/** Advances one interval, feeding traffic first, then ticks. */
async function interval(h: Harness, s: RolloutSpec, n: number, canary: Parameters<typeof feed>[2] = {}): Promise<void> {
  feed(h, n, canary);
  h.clock.advance(s.intervalMs);
  await h.c.tick();
}

async function audit(dir: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(join(dir, 'rollouts-audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const NO_SLO_DRIFT = { ...spec().analysis, slo: { ...spec().analysis.slo, enabled: false }, drift: { enabled: false } };

test('a healthy canary goes 5 → 25 → 50 → 100 and is promoted; the split ends 100% on the new version', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick(); // Pending → pre-rollout (no hooks) → step 1
  assert.deepEqual(h.split.getSplit('fraud'), { stable: '1', canary: '2', weight: 5 });
  for (let i = 0; i < 4; i++) await interval(h, s, 100);
  assert.equal(h.c.view('fraud').phase, 'Succeeded');
  assert.deepEqual(h.split.getSplit('fraud'), { stable: '2', weight: 0 });
  assert.deepEqual(h.split.history.map((x) => x?.weight), [0, 5, 25, 50, 100, 0]);
  const metrics = await h.registry.metrics();
  assert.match(metrics, /modelgate_rollout_phase\{model="fraud",phase="Succeeded"\} 1/);
  assert.match(metrics, /modelgate_rollout_promotions_total\{model="fraud"\} 1/);
  assert.match(metrics, /modelgate_rollout_rollbacks_total\{model="fraud"\} 0/);
});

test('a canary failing 30% of requests is rolled back after failureThreshold intervals, weight 0 at once, with the numbers in the audit log', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT, failureThreshold: 2 });
  const hook = await receiver();
  const withHook = { ...s, webhooks: [{ name: 'notify', type: 'rollback', url: `${hook.url}/rollback`, timeoutMs: 2000, metadata: { team: 'fraud' } } as WebhookSpec] };
  const h = await harness(withHook);
  await h.c.tick();
  const bad = { status: (i: number) => (i % 10 < 3 ? 503 : 200) };
  await interval(h, withHook, 100, bad);
  assert.equal(h.c.view('fraud').phase, 'Progressing', 'one failed interval does not roll back');
  assert.equal(h.split.getSplit('fraud')?.weight, 5, 'a failed check holds the weight');
  await interval(h, withHook, 100, bad);
  const v = h.c.view('fraud');
  assert.equal(v.phase, 'RolledBack');
  assert.deepEqual(h.split.getSplit('fraud'), { stable: '1', weight: 0 });
  assert.deepEqual(v.rolledBack, ['2']);
  assert.match(await h.registry.metrics(), /modelgate_rollout_rollbacks_total\{model="fraud"\} 1/);

  // Flagger-style payload to the rollback hook.
  assert.equal(hook.bodies.length, 1);
  const p = hook.bodies[0]!.body;
  assert.equal(p['name'], 'fraud');
  assert.equal(p['namespace'], 'modelgate');
  assert.equal(p['phase'], 'RolledBack');
  assert.equal(p['checksum'], 'fraud:1->2');
  assert.deepEqual({ ...(p['metadata'] as Record<string, string>), reason: undefined }, { team: 'fraud', type: 'rollback', canary: '2', stable: '1', weight: '0', reason: undefined });

  // The audit log has every verdict with its numbers.
  const lines = await audit(h.dir);
  const analyses = lines.filter((l) => l['input'] === 'analysis');
  assert.equal(analyses.length, 2);
  const checks = analyses[1]!['checks'] as Array<{ name: string; verdict: string; values: Record<string, unknown> }>;
  const errors = checks.find((c) => c.name === 'error-ratio')!;
  assert.equal(errors.verdict, 'fail');
  assert.equal(errors.values['canaryErrorRatio'], 0.3);
  for (const l of lines) for (const k of ['time', 'phase', 'step', 'weight', 'action']) assert.ok(k in l, `audit line has ${k}`);
});

test('a 5x slower canary is rolled back on latency', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100, { seconds: 0.025 });
  await interval(h, s, 100, { seconds: 0.025 });
  const v = h.c.view('fraud');
  assert.equal(v.phase, 'RolledBack');
  assert.match(v.reason, /latency: p99/);
});

test('one bad interval followed by good ones does not roll back', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100);
  await interval(h, s, 100, { status: () => 500 });
  for (let i = 0; i < 4; i++) await interval(h, s, 100);
  assert.equal(h.c.view('fraud').phase, 'Succeeded');
});

test('no traffic: the rollout pauses at the first step and never promotes, saying why', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  for (let i = 0; i < 6; i++) await interval(h, s, 0);
  const v = h.c.view('fraud');
  assert.equal(v.phase, 'Paused');
  assert.equal(v.weight, 5);
  assert.match(v.reason, /served 0 requests, fewer than minRequests 20/);
  assert.equal(h.c.verdict('fraud').verdict, 'inconclusive');
});

test('requests a client pinned to the canary (failing and slow) are not judged: a healthy canary is promoted, and the pinned counts are reported beside each analysis', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  for (let i = 0; i < 4; i++) {
    // The attack: three times the normal traffic, pinned to version 2, every one a 500 and 10x slower.
    const t = h.clock.now();
    for (let j = 0; j < 300; j++) h.c.observe({ ...outcome('2', t, 500, 0.05), variant: 'direct', pinned: true });
    await interval(h, s, 100);
  }
  const v = h.c.view('fraud');
  assert.equal(v.phase, 'Succeeded', v.reason);
  assert.deepEqual(h.split.getSplit('fraud'), { stable: '2', weight: 0 });
  const last = (await audit(h.dir)).filter((l) => l['input'] === 'analysis').at(-1)!;
  assert.ok((last['notes'] as string[]).some((n) => /pinned requests .* canary 2 300 \(300 server errors\)/.test(n)), JSON.stringify(last['notes']));
  const traffic = (last['checks'] as Array<{ name: string; values: Record<string, unknown> }>).find((c) => c.name === 'traffic')!;
  assert.equal(traffic.values['canaryPinnedRequests'], 300);
});

test('requests pinned to the canary do not stand in for split-routed ones: with only pinned traffic the rollout pauses for want of evidence', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  const t = h.clock.now();
  for (let j = 0; j < 300; j++) {
    h.c.observe({ ...outcome('1', t), pinned: true });
    h.c.observe({ ...outcome('2', t), variant: 'canary', pinned: true });
  }
  h.clock.advance(s.intervalMs);
  await h.c.tick();
  const v = h.c.view('fraud');
  assert.equal(v.phase, 'Paused');
  assert.match(v.reason, /served 0 requests, fewer than minRequests 20; only split-routed requests count \(and 300 pinned requests, not judged\)/);
});

test('at the 100% step stable serves nothing; the comparison uses its last window with traffic', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT, weights: [50, 100] });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100);
  // 100%: only canary traffic.
  const t = h.clock.now();
  for (let i = 0; i < 100; i++) h.c.observe(outcome('2', t, 200, 0.005 * (0.8 + (0.4 * i) / 100)));
  h.clock.advance(s.intervalMs);
  await h.c.tick();
  const v = h.c.view('fraud');
  assert.equal(v.phase, 'Succeeded', v.reason);
  const lines = await audit(h.dir);
  const last = lines.filter((l) => l['input'] === 'analysis').at(-1)!;
  assert.ok((last['notes'] as string[]).some((n) => /compared with its last window that had 100; latency not compared/.test(n)));
  assert.deepEqual((last['checks'] as Array<{ name: string }>).map((c) => c.name), ['traffic', 'error-ratio']);
});

test('at the 100% step a canary failing requests is still caught against stable\'s last window', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT, weights: [50, 100] });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100);
  for (let k = 0; k < 2; k++) {
    const t = h.clock.now();
    for (let i = 0; i < 100; i++) h.c.observe(outcome('2', t, i % 5 === 0 ? 503 : 200));
    h.clock.advance(s.intervalMs);
    await h.c.tick();
  }
  assert.equal(h.c.view('fraud').phase, 'RolledBack');
});

test('a failing pre-rollout webhook blocks the start; once it passes the rollout starts', async () => {
  const hook = await receiver(500);
  const s = spec({ analysis: NO_SLO_DRIFT, failureThreshold: 3, webhooks: [{ name: 'smoke', type: 'pre-rollout', url: `${hook.url}/smoke`, timeoutMs: 2000, metadata: {} }] });
  const h = await harness(s);
  await h.c.tick();
  let v = h.c.view('fraud');
  assert.equal(v.phase, 'Pending');
  assert.match(v.reason, /start blocked: smoke: answered 500/);
  assert.equal(h.split.getSplit('fraud')?.canary, undefined, 'no canary traffic');
  assert.equal(hook.bodies[0]!.body['phase'], 'Pending');
  hook.status = 200;
  h.clock.advance(s.intervalMs);
  await h.c.tick();
  v = h.c.view('fraud');
  assert.equal(v.phase, 'Progressing');
  assert.equal(h.split.getSplit('fraud')?.weight, 5);
});

test('a pre-rollout webhook that never answers times out and blocks the start', async () => {
  const silent = createServer(() => undefined);
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  cleanup.push(() => new Promise<void>((r) => { silent.closeAllConnections(); silent.close(() => r()); }));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
  const s = spec({ analysis: NO_SLO_DRIFT, webhooks: [{ name: 'slow', type: 'pre-rollout', url, timeoutMs: 100, metadata: {} }] });
  const h = await harness(s);
  await h.c.tick();
  assert.match(h.c.view('fraud').reason, /no answer within 100 ms/);
});

test('after a restart the controller resumes where it was and re-asserts the split', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100);
  await interval(h, s, 100);
  assert.equal(h.c.view('fraud').weight, 50);
  await h.c.stop();
  // A new process: the proxy lost its split table too.
  const fresh = new SplitTable();
  fresh.setSplit('fraud', { stable: '1', weight: 0 });
  const h2 = await harness(s, { dir: h.dir, split: fresh, clock: h.clock });
  const v = h2.c.view('fraud');
  assert.equal(v.phase, 'Progressing');
  assert.equal(v.weight, 50);
  assert.deepEqual(fresh.getSplit('fraud'), { stable: '1', canary: '2', weight: 50 });
  for (let i = 0; i < 2; i++) await interval(h2, s, 100);
  assert.equal(h2.c.view('fraud').phase, 'Succeeded');
  assert.ok((await audit(h.dir)).some((l) => l['input'] === 'restart'));
});

test('after a restart a rolled-back version is not started again', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100, { status: () => 500 });
  await interval(h, s, 100, { status: () => 500 });
  assert.equal(h.c.view('fraud').phase, 'RolledBack');
  await h.c.stop();
  const h2 = await harness(s, { dir: h.dir, split: h.split, clock: h.clock });
  for (let i = 0; i < 3; i++) await interval(h2, s, 100);
  assert.equal(h2.c.view('fraud').phase, 'RolledBack');
  assert.deepEqual(h.split.getSplit('fraud'), { stable: '1', weight: 0 });
});

test('a new version after a rollback starts a new rollout and the old one goes to history', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const versions = ['1', '2'];
  const h = await harness(s, { versions });
  await h.c.tick();
  await interval(h, s, 100, { status: () => 500 });
  await interval(h, s, 100, { status: () => 500 });
  versions.push('3');
  h.clock.advance(s.intervalMs);
  await h.c.tick();
  const v = h.c.view('fraud');
  assert.equal(v.canary, '3');
  assert.equal(v.phase, 'Progressing');
  assert.deepEqual(v.history.map((x) => `${x.canary}:${x.phase}`), ['2:RolledBack']);
});

test('operator commands: pause holds, resume continues, abort rolls back, unknown ones are refused', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  await h.c.command('fraud', 'pause');
  for (let i = 0; i < 3; i++) await interval(h, s, 100);
  assert.equal(h.c.view('fraud').weight, 5, 'paused: no advancement');
  await h.c.command('fraud', 'resume');
  await interval(h, s, 100);
  assert.equal(h.c.view('fraud').weight, 25);
  await assert.rejects(h.c.command('fraud', 'resume'), { code: 'ROL_ERR_CONFLICT' });
  await assert.rejects(h.c.command('fraud', 'explode'), { code: 'ROL_ERR_INVALID_ARGUMENT' });
  await assert.rejects(h.c.command('nope', 'pause'), { code: 'ROL_ERR_UNKNOWN_MODEL' });
  await h.c.command('fraud', 'abort');
  assert.deepEqual(h.split.getSplit('fraud'), { stable: '1', weight: 0 });
  assert.equal(h.c.verdict('fraud').verdict, 'fail');
});

test('manual promote moves the label and sets the split 100/0', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const moved: string[] = [];
  const clock = new ManualClock(0);
  const split = new SplitTable();
  split.setSplit('fraud', { stable: '1', weight: 0, stickyHeader: 'x-user' } as SplitValue);
  const dir = await tempDir();
  const c = await RolloutController.open({
    specs: [s], clock, split, registry: new Registry(), stateDir: dir,
    versions: { availableVersions: () => ['1', '2'] },
    labels: { moveLabel: (m, l, v) => void moved.push(`${m}:${l}=${v}`) },
  });
  await c.tick();
  await c.command('fraud', 'promote');
  assert.deepEqual(moved, ['fraud:stable=2']);
  assert.deepEqual(split.getSplit('fraud'), { stable: '2', weight: 0, stickyHeader: 'x-user' });
  assert.equal(c.view('fraud').phase, 'Succeeded');
});

test('a promoted version stays promoted across a restart: the persisted state wins over the static proxy.splits, and the log says so', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const versions = ['1', '2'];
  const h = await harness(s, { versions });
  await h.c.tick();
  for (let i = 0; i < 4; i++) await interval(h, s, 100);
  assert.equal(h.c.view('fraud').phase, 'Succeeded');
  await h.c.stop();
  // A clean restart: the proxy starts from its static config, which still names version 1.
  const fresh = new SplitTable();
  fresh.setSplit('fraud', { stable: '1', weight: 0 });
  const h2 = await harness(s, { dir: h.dir, split: fresh, clock: h.clock, versions });
  assert.deepEqual(fresh.getSplit('fraud'), { stable: '2', weight: 0 });
  assert.ok(h2.logs.some((l) => /fraud: restored from .*rollouts\.json: phase Succeeded; persisted split \{all on 2\} applied over the static config \(proxy\.splits had \{all on 1\}\)/.test(l)), h2.logs.join('\n'));
  // The next version is canaried against 2, not against the old 1.
  versions.push('3');
  h2.clock.advance(s.intervalMs);
  await h2.c.tick();
  const v = h2.c.view('fraud');
  assert.deepEqual([v.phase, v.canary, v.stable], ['Progressing', '3', '2']);
  assert.deepEqual(fresh.getSplit('fraud'), { stable: '2', canary: '3', weight: 5 });
});

test('a rolled-back rollout keeps all traffic on stable across a restart even when the static split names the canary', async () => {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const h = await harness(s);
  await h.c.tick();
  await interval(h, s, 100, { status: () => 500 });
  await interval(h, s, 100, { status: () => 500 });
  await h.c.stop();
  const fresh = new SplitTable();
  fresh.setSplit('fraud', { stable: '1', canary: '2', weight: 20 });
  const h2 = await harness(s, { dir: h.dir, split: fresh, clock: h.clock });
  assert.deepEqual(fresh.getSplit('fraud'), { stable: '1', weight: 0 });
  assert.ok(h2.logs.some((l) => /phase RolledBack; persisted split \{all on 1\} applied over the static config \(proxy\.splits had \{stable 1, canary 2 at 20%\}\)/.test(l)), h2.logs.join('\n'));
});

/** Seven kinds of invalid state files, each as found on disk. */
const VALID_STATE = (state: Record<string, unknown>) => JSON.stringify({
  format: 'modelgate.rollout.state/v1', savedAt: '2026-11-25T12:00:00.000Z',
  models: { fraud: { state: { model: 'fraud', phase: 'Progressing', canary: '2', stable: '1', step: 1, weight: 25, failedChecks: 0, pausedBy: null, reason: 'r', startedAtMs: 1, stepStartedAtMs: 1, lastCheckAtMs: 1, updatedAtMs: 1, rolledBack: [], lastAnalysis: null, ...state }, history: [], baseline: null } },
});
const CORRUPT: Array<[string, string]> = [
  ['not JSON', '{"format": "modelgate.rollout.state/v1", "mod'],
  ['another format', '{"format":"something-else"}'],
  ['models as a list', '{"format":"modelgate.rollout.state/v1","models":[]}'],
  ['null', 'null'],
  ['weight 1000', VALID_STATE({ weight: 1000 })],
  ['a canary that is a path', VALID_STATE({ canary: '../../etc' })],
  ['an unknown phase', VALID_STATE({ phase: 'Bogus' })],
];
for (const [kind, text] of CORRUPT) {
  test(`invalid state (${kind}) is moved aside, kept byte for byte, exposed, and nothing is done for the model until rollout reset`, async () => {
    const { writeFile, readdir } = await import('node:fs/promises');
    const dir = await tempDir();
    await writeFile(join(dir, 'rollouts.json'), text);
    const s = spec({ analysis: NO_SLO_DRIFT });
    const split = new SplitTable();
    split.setSplit('fraud', { stable: '1', weight: 0 });
    const h = await harness(s, { dir, split });
    const aside = (await readdir(dir)).filter((f) => f.startsWith('rollouts.json.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(await readFile(join(dir, aside[0]!), 'utf8'), text, 'the invalid file is kept as it was');
    const v = h.c.view('fraud');
    assert.equal(v.blocked?.file, join(dir, aside[0]!));
    assert.match(v.reason, /modelgate rollout reset fraud/);
    assert.match(await h.registry.metrics(), /modelgate_rollout_state_invalid\{model="fraud"\} 1/);
    assert.ok(h.logs.some((l) => /not valid and was moved to/.test(l)));
    // Refuses to act: no tick moves traffic, commands answer with the reason.
    const before = split.history.length;
    await interval(h, s, 100);
    await interval(h, s, 100);
    assert.equal(split.history.length, before, 'the split is not touched');
    await assert.rejects(h.c.command('fraud', 'pause'), (e: { code: string; message: string }) => e.code === 'ROL_ERR_STATE_CORRUPT' && /rollout reset fraud/.test(e.message));
    // Still blocked after another restart: the block is persisted, not forgotten.
    await h.c.stop();
    const h2 = await harness(s, { dir, split, clock: h.clock });
    assert.ok(h2.c.view('fraud').blocked);
    assert.equal((await readdir(dir)).filter((f) => f.startsWith('rollouts.json.corrupt-')).length, 1, 'a valid file with a blocked model is not moved again');
    // The operator resolves it; the rollout starts afresh.
    const after = await h2.c.command('fraud', 'reset');
    assert.equal(after.blocked, undefined);
    assert.equal(after.phase, 'Pending');
    assert.match(await h2.registry.metrics(), /modelgate_rollout_state_invalid\{model="fraud"\} 0/);
    await assert.rejects(h2.c.command('fraud', 'reset'), { code: 'ROL_ERR_CONFLICT' });
    await h2.c.tick();
    assert.equal(h2.c.view('fraud').phase, 'Progressing');
    const lines = await audit(dir);
    assert.ok(lines.some((l) => l['input'] === 'command:reset'));
  });
}

test('an invalid record blocks only its model; records of models no longer configured are kept, not dropped', async () => {
  const { writeFile } = await import('node:fs/promises');
  const dir = await tempDir();
  const data = JSON.parse(VALID_STATE({ weight: -5 })) as { models: Record<string, unknown> };
  const other = { state: { model: 'retired', phase: 'Succeeded', canary: '4', stable: '4', step: 3, weight: 0, failedChecks: 0, pausedBy: null, reason: 'promoted', startedAtMs: 1, stepStartedAtMs: 1, lastCheckAtMs: 1, updatedAtMs: 1, rolledBack: [], lastAnalysis: null }, history: [], baseline: null };
  data.models['retired'] = other;
  await writeFile(join(dir, 'rollouts.json'), JSON.stringify(data));
  const h = await harness(spec({ analysis: NO_SLO_DRIFT }), { dir });
  assert.match(h.c.view('fraud').blocked?.reason ?? '', /models\.fraud\.state\.weight: must be a percentage from 0 to 100, got -5/);
  const saved = JSON.parse(await readFile(join(dir, 'rollouts.json'), 'utf8')) as { models: Record<string, unknown> };
  assert.deepEqual(saved.models['retired'], other);
});

test('the audit log is fsynced line by line and rotated by size, keeping three older generations', async () => {
  const { readdir, stat } = await import('node:fs/promises');
  const s = spec({ analysis: NO_SLO_DRIFT });
  const dir = await tempDir();
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 12));
  const split = new SplitTable();
  split.setSplit('fraud', { stable: '1', weight: 0 });
  const c = await RolloutController.open({ specs: [s], clock, split, registry: new Registry(), stateDir: dir, versions: { availableVersions: () => ['1', '2'] }, auditMaxBytes: 2000 });
  cleanup.push(() => c.stop());
  const h: Harness = { clock, split, registry: new Registry(), dir, c, logs: [] };
  await c.tick();
  for (let i = 0; i < 12; i++) {
    await c.command('fraud', 'pause');
    await c.command('fraud', 'resume');
    await interval(h, s, 5); // too few requests: inconclusive, the rollout holds
  }
  const files = (await readdir(dir)).filter((f) => f.startsWith('rollouts-audit.jsonl')).sort();
  assert.deepEqual(files, ['rollouts-audit.jsonl', 'rollouts-audit.jsonl.1', 'rollouts-audit.jsonl.2', 'rollouts-audit.jsonl.3']);
  assert.ok((await stat(join(dir, 'rollouts-audit.jsonl'))).size <= 2000 || (await audit(dir)).length === 1);
  // Every generation holds whole JSON lines.
  for (const f of files) for (const l of (await readFile(join(dir, f), 'utf8')).trim().split('\n')) JSON.parse(l);
});
