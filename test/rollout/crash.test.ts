// Crash safety of the rollout controller's effects (rollout/effects.ts): for each effect
// (start a step, promote, roll back from a step, abort a promotion), the process stops
// between each pair of steps of the ordering rule (persist intent, split, label, webhooks,
// persist result, audit). A new controller is then built from the files the old one left,
// on a proxy that starts from its static split (the proxy is the same process), with the
// server's labels and the webhook receiver as they were (other processes), and it must
// converge: state, split, label and webhooks agree, and nothing is left pending.
//
// How a crash is made without mocking our own code: at the chosen point the controller's
// ports (the split table, the label mover, fetch for webhooks) stop working for the old
// controller, and its state directory refuses every later write (a directory stands where
// the state file's temporary copy and the audit log are written), so nothing it does after
// that point reaches the world or the disk: the same as a process that died there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../common/index.ts';
import { RolloutController } from '../../rollout/index.ts';
import type { LabelMover, RolloutSpec, RolloutState, SplitActuator, SplitValue, WebhookSpec } from '../../rollout/index.ts';
import { spec } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

type Step = 'split' | 'label' | 'hooks';
/**
 * Where the process stops: before anything of the decision is written, right before or
 * right after an actuation step (the intent is on disk by then), or after the result is
 * written and before the audit lines.
 */
type CrashPoint = { at: 'before-intent' } | { at: 'before' | 'after'; step: Step } | { at: 'before-audit' };

const describe = (p: CrashPoint): string =>
  p.at === 'before-intent' ? 'before the intent is written' : p.at === 'before-audit' ? 'after the result is written, before the audit' : `${p.at} the ${p.step} step`;

/** The end of the old process: its ports and its writes stop at once. */
class Crash {
  armed: CrashPoint | undefined;
  dead = false;
  readonly #tmp: string;
  readonly #audit: string;

  constructor(dir: string) {
    this.#tmp = join(dir, `rollouts.json.${process.pid}.tmp`);
    this.#audit = join(dir, 'rollouts-audit.jsonl');
  }

  /** Called by every port on entry and on exit of its effect. */
  hit(when: 'before' | 'after', step: Step): void {
    if (this.dead) throw new Error('the process is gone');
    const p = this.armed;
    if (!p) return;
    if (p.at === when && 'step' in p && p.step === step) this.die();
    // After the last actuation step only the audit is refused: the result is still written.
    if (p.at === 'before-audit' && when === 'after' && step === this.lastStep) this.#refuse(this.#audit, true);
  }

  lastStep: Step = 'split';

  die(): never {
    this.dead = true;
    this.#refuse(this.#tmp, false);
    this.#refuse(this.#audit, true);
    throw new Error(`crash ${describe(this.armed ?? { at: 'before-intent' })}`);
  }

  /** Before the decision: no write of it may succeed. */
  stopWrites(): void {
    this.dead = true;
    this.#refuse(this.#tmp, false);
    this.#refuse(this.#audit, true);
  }

  #refuse(path: string, keep: boolean): void {
    if (existsSync(path) && !existsSync(`${path}.kept`) && keep) renameSync(path, `${path}.kept`);
    if (!existsSync(path)) mkdirSync(path);
  }

  /** What a restarted process finds: the files as the old one left them. */
  restore(): void {
    for (const path of [this.#tmp, this.#audit]) {
      if (existsSync(path)) rmdirSync(path);
      if (existsSync(`${path}.kept`)) renameSync(`${path}.kept`, path);
    }
  }
}

/** The proxy's split table (in the controller's process: lost with it). */
class SplitTable implements SplitActuator {
  readonly table = new Map<string, SplitValue>();
  constructor(readonly crash?: Crash) {}
  setSplit(model: string, split: SplitValue | undefined): void {
    this.crash?.hit('before', 'split');
    if (split) this.table.set(model, split);
    else this.table.delete(model);
    this.crash?.hit('after', 'split');
  }
  getSplit(model: string): SplitValue | undefined {
    return this.table.get(model);
  }
}

/** The server's labels: another process, they survive the controller's crash. */
class ServerLabels {
  readonly labels = new Map<string, string>([['fraud/stable', '1']]);
  failures = 0;
  mover(crash?: Crash): LabelMover {
    return {
      moveLabel: async (model, label, version) => {
        crash?.hit('before', 'label');
        if (this.failures > 0) {
          this.failures--;
          throw new Error('the server refused the label move');
        }
        this.labels.set(`${model}/${label}`, version);
        crash?.hit('after', 'label');
      },
    };
  }
  get stable(): string | undefined {
    return this.labels.get('fraud/stable');
  }
}

interface Receiver {
  url: string;
  calls: string[];
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', calls: [] };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      r.calls.push(req.url ?? '');
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return r;
}

/** fetch as the controller's webhooks see it, stopping where the crash says. */
function crashingFetch(crash: Crash): typeof fetch {
  return async (input, init) => {
    crash.hit('before', 'hooks');
    const res = await fetch(input, init);
    await res.arrayBuffer();
    crash.hit('after', 'hooks');
    return new Response(null, { status: res.status });
  };
}

const S: RolloutSpec = spec({ analysis: { ...spec().analysis, slo: { ...spec().analysis.slo, enabled: false } } });
const STATIC_SPLIT: SplitValue = { stable: '1', weight: 0 };

interface World {
  dir: string;
  clock: ManualClock;
  labels: ServerLabels;
  hooks: Receiver;
  spec: RolloutSpec;
}

async function world(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-rollout-crash-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const hooks = await receiver();
  const webhooks: WebhookSpec[] = [
    { name: 'promoted', type: 'promote', url: `${hooks.url}/promote`, timeoutMs: 2000, metadata: {} },
    { name: 'rolled-back', type: 'rollback', url: `${hooks.url}/rollback`, timeoutMs: 2000, metadata: {} },
  ];
  return { dir, clock: new ManualClock(Date.UTC(2026, 11, 6, 8)), labels: new ServerLabels(), hooks, spec: { ...S, webhooks } };
}

/** A controller process: the proxy starts from the static split. */
async function start(w: World, crash?: Crash): Promise<{ c: RolloutController; split: SplitTable; logs: string[] }> {
  const split = new SplitTable(crash);
  split.table.set('fraud', STATIC_SPLIT);
  const logs: string[] = [];
  const c = await RolloutController.open({
    specs: [w.spec], clock: w.clock, split, registry: new Registry(), stateDir: w.dir,
    versions: { availableVersions: () => ['1', '2'] },
    labels: w.labels.mover(crash),
    ...(crash ? { fetch: crashingFetch(crash) } : {}),
    log: (l) => logs.push(l),
  });
  cleanup.push(() => c.stop());
  return { c, split, logs };
}

/** Feeds one interval of traffic (canary failing or not) and ticks. */
async function interval(w: World, c: RolloutController, canaryStatus: number): Promise<void> {
  const t = w.clock.now();
  for (let i = 0; i < 50; i++) {
    const seconds = 0.005 * (0.8 + (0.4 * i) / 50);
    for (const [version, status] of [['1', 200], ['2', canaryStatus]] as const) {
      c.observe({ model: 'fraud', version, api: 'predict', protocol: 'rest', variant: 'stable', httpStatus: status, code: String(status), durationSeconds: seconds, endMs: t });
    }
  }
  w.clock.advance(w.spec.intervalMs);
  await c.tick();
}

async function persisted(w: World): Promise<{ state: RolloutState; pending?: unknown }> {
  const data = JSON.parse(await readFile(join(w.dir, 'rollouts.json'), 'utf8')) as { models: Record<string, { state: RolloutState; pending?: unknown }> };
  return data.models['fraud']!;
}

/** State, split, label and webhooks agree; nothing is pending. */
async function assertConverged(w: World, c: RolloutController, split: SplitTable): Promise<RolloutState> {
  const rec = await persisted(w);
  const s = rec.state;
  assert.equal(rec.pending, undefined, 'no effect is left pending');
  assert.deepEqual(c.view('fraud').phase, s.phase, 'memory and disk agree');
  const cur = split.getSplit('fraud');
  switch (s.phase) {
    case 'Progressing':
    case 'Paused':
      assert.deepEqual(cur, { stable: s.stable, canary: s.canary, weight: s.weight }, `a ${s.phase} rollout's split`);
      assert.equal(w.labels.stable, s.stable, 'the stable label names the stable version');
      break;
    case 'Succeeded':
      assert.deepEqual(cur, { stable: s.stable, weight: 0 }, 'all traffic on the promoted version');
      assert.equal(w.labels.stable, s.stable, 'the stable label names the promoted version');
      assert.ok(w.hooks.calls.includes('/promote'), 'the promote webhook was called');
      break;
    case 'RolledBack':
      assert.deepEqual(cur, { stable: s.stable, weight: 0 }, 'all traffic on stable');
      assert.notEqual(cur?.stable, s.canary);
      assert.equal(w.labels.stable, s.stable, 'the stable label names the stable version');
      assert.ok(w.hooks.calls.includes('/rollback'), 'the rollback webhook was called');
      assert.ok(s.rolledBack.includes(s.canary!), 'the rolled-back version is remembered');
      break;
    default:
      assert.fail(`not converged: phase ${s.phase} (${s.reason})`);
  }
  for (const line of (await readFile(join(w.dir, 'rollouts-audit.jsonl'), 'utf8')).trim().split('\n')) JSON.parse(line);
  return s;
}

interface Scenario {
  name: string;
  /** Steps of the effect, in the table's order (rollout/effects.ts EFFECTS). */
  steps: Step[];
  /** Brings a fresh controller to the moment before the decision. */
  prepare(w: World, c: RolloutController): Promise<void>;
  /** The decision whose effect crashes. */
  decide(w: World, c: RolloutController): Promise<unknown>;
  /** The phase once the effect is carried out, and before it (a crash before the intent). */
  done: RolloutState['phase'];
  undone: RolloutState['phase'];
}

const SCENARIOS: Scenario[] = [
  {
    name: 'start (split to the first step)',
    steps: ['split'],
    prepare: async () => undefined,
    decide: (_w, c) => c.tick(),
    done: 'Progressing',
    undone: 'Pending',
  },
  {
    name: 'promote by operator (label, split, webhooks)',
    steps: ['label', 'split', 'hooks'],
    prepare: async (_w, c) => c.tick(),
    decide: (_w, c) => c.command('fraud', 'promote'),
    done: 'Succeeded',
    undone: 'Progressing',
  },
  {
    name: 'roll back after failed checks (split, webhooks)',
    steps: ['split', 'hooks'],
    prepare: async (w, c) => {
      await c.tick();
      await interval(w, c, 500);
    },
    decide: (w, c) => interval(w, c, 500),
    done: 'RolledBack',
    undone: 'Progressing',
  },
  {
    name: 'abort of a promotion whose label move failed (split, label back, webhooks)',
    steps: ['split', 'label', 'hooks'],
    prepare: async (w, c) => {
      await c.tick();
      w.labels.failures = 1;
      // The label step fails: Promoting, retried every tick. But first the server took the label.
      w.labels.labels.set('fraud/stable', '2');
      await c.command('fraud', 'promote');
      assert.equal(c.view('fraud').phase, 'Promoting');
    },
    decide: (_w, c) => c.command('fraud', 'abort'),
    done: 'RolledBack',
    undone: 'Promoting',
  },
];

function crashPoints(steps: Step[]): CrashPoint[] {
  return [{ at: 'before-intent' }, ...steps.flatMap((step) => [{ at: 'before' as const, step }, { at: 'after' as const, step }]), { at: 'before-audit' }];
}

for (const sc of SCENARIOS) {
  test(`${sc.name}: without a crash the effect is carried out and consistent`, async () => {
    const w = await world();
    const { c, split } = await start(w);
    await sc.prepare(w, c);
    await sc.decide(w, c);
    const s = await assertConverged(w, c, split);
    assert.equal(s.phase, sc.done);
  });

  for (const point of crashPoints(sc.steps)) {
    test(`${sc.name}: a crash ${describe(point)} converges after a restart`, async () => {
      const w = await world();
      const crash = new Crash(w.dir);
      crash.lastStep = sc.steps.at(-1)!;
      const old = await start(w, crash);
      await sc.prepare(w, old.c);
      const hooksBefore = w.hooks.calls.length;
      if (point.at === 'before-intent') crash.stopWrites();
      else crash.armed = point;
      await assert.rejects(sc.decide(w, old.c) as Promise<unknown>, 'the old process stops at the crash point');
      await old.c.stop();
      crash.restore();

      const intentWritten = point.at !== 'before-intent';
      const onDisk = await persisted(w);
      assert.equal(onDisk.state.phase, intentWritten ? sc.done === 'Succeeded' && point.at !== 'before-audit' ? 'Promoting' : sc.done : sc.undone, 'what the old process left on disk');
      if (intentWritten) assert.equal(onDisk.pending !== undefined, point.at !== 'before-audit', 'the unfinished effect is named on disk');

      // The restart: the split the persisted state implies is applied at once...
      const fresh = await start(w);
      const restored = fresh.split.getSplit('fraud');
      if (onDisk.state.phase === 'RolledBack') assert.deepEqual(restored, { stable: '1', weight: 0 }, 'a rolled-back canary gets no traffic from the first moment');
      // ...and its first tick finishes the effect.
      await fresh.c.tick();
      const s = await assertConverged(w, fresh.c, fresh.split);
      assert.equal(s.phase, intentWritten ? sc.done : sc.undone === 'Pending' ? 'Progressing' : sc.undone === 'Promoting' ? 'Succeeded' : sc.undone);
      if (intentWritten && point.at !== 'before-audit') {
        const rerun = (await readFile(join(w.dir, 'rollouts-audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['rerun']);
        assert.equal(rerun.length, 1, 'the audit log says the effect was finished after the restart');
      }
      if (sc.steps.includes('hooks') && intentWritten) {
        // At least once: called again only when the crash came after the call and before the result.
        const calls = w.hooks.calls.length - hooksBefore;
        assert.equal(calls, point.at === 'after' && point.step === 'hooks' ? 2 : 1, `webhook calls: ${w.hooks.calls.join(', ')}`);
      }
    });
  }
}

test('a split that cannot be set keeps a step pending: no analysis judges the old weight, and every tick retries until it is set', async () => {
  const w = await world();
  const { c, split } = await start(w);
  split.setSplit = () => {
    throw new Error('the proxy refused the split');
  };
  await c.tick();
  let rec = await persisted(w);
  assert.equal(rec.state.phase, 'Progressing');
  assert.ok(rec.pending, 'the step is pending');
  assert.match(rec.state.reason, /could not set the split, retrying every tick: setting the split failed: the proxy refused the split/);
  await interval(w, c, 200);
  assert.equal(c.view('fraud').lastAnalysis, null, 'no analysis while the step is not applied');
  split.setSplit = SplitTable.prototype.setSplit.bind(split);
  await c.tick();
  rec = await persisted(w);
  assert.equal(rec.pending, undefined);
  assert.deepEqual(split.getSplit('fraud'), { stable: '1', canary: '2', weight: 5 });
  assert.match(rec.state.reason, /^step 1 of 4: canary 2 at 5%$/);
});

test('when the state cannot be written a rollback still takes the canary out of traffic, and nothing else acts', async () => {
  const w = await world();
  const crash = new Crash(w.dir);
  const { c, split } = await start(w);
  await c.tick();
  await interval(w, c, 500);
  assert.deepEqual(split.getSplit('fraud'), { stable: '1', canary: '2', weight: 5 });
  crash.stopWrites();
  crash.dead = false; // the process lives on; only its disk fails
  await assert.rejects(interval(w, c, 500), /EISDIR|illegal operation on a directory/);
  assert.deepEqual(split.getSplit('fraud'), { stable: '1', weight: 0 }, 'the canary is out of traffic');
  assert.deepEqual(w.hooks.calls, [], 'no webhook before the decision is on disk');
  crash.restore();
  await c.tick();
  await assertConverged(w, c, split);
});
