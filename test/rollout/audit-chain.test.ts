import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock, type RequestOutcome } from '../../common/index.ts';
import { RolloutController, RolloutStore, type SplitActuator, type SplitValue } from '../../rollout/index.ts';
import { run as audit } from '../../cli/commands/audit.ts';
import { spec } from './helpers.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'modelgate-audit-'));
  dirs.push(d);
  return d;
}

class SplitTable implements SplitActuator {
  readonly table = new Map<string, SplitValue>([['fraud', { stable: '1', weight: 0 }]]);
  setSplit(model: string, split: SplitValue | undefined): void {
    if (split) this.table.set(model, split);
    else this.table.delete(model);
  }
  getSplit(model: string): SplitValue | undefined {
    return this.table.get(model);
  }
}

const NO_SLO_DRIFT = { ...spec().analysis, slo: { ...spec().analysis.slo, enabled: false }, drift: { enabled: false } };
const outcome = (version: string, t: number, seconds: number): RequestOutcome => ({ model: 'fraud', version, api: 'predict', protocol: 'rest', variant: 'stable', httpStatus: 200, code: '200', durationSeconds: seconds, endMs: t });

/** A rollout that pauses, resumes, is restarted and is promoted: a real audit log in `dir`. */
async function rolloutLog(dir: string, auditMaxBytes?: number): Promise<string> {
  const s = spec({ analysis: NO_SLO_DRIFT });
  const clock = new ManualClock(Date.UTC(2026, 11, 6, 8));
  const split = new SplitTable();
  const open = () => RolloutController.open({ specs: [s], clock, split, registry: new Registry(), stateDir: dir, versions: { availableVersions: () => ['1', '2'] }, ...(auditMaxBytes ? { auditMaxBytes } : {}) });
  let c = await open();
  await c.tick();
  await c.command('fraud', 'pause');
  await c.command('fraud', 'resume');
  const step = async () => {
    const t = clock.now();
    for (let i = 0; i < 100; i++) {
      const seconds = 0.005 * (0.8 + (0.4 * i) / 100);
      c.observe(outcome('1', t, seconds));
      c.observe(outcome('2', t, seconds));
    }
    clock.advance(s.intervalMs);
    await c.tick();
  };
  await step();
  await c.stop();
  c = await open(); // a restart continues the chain from the file's last line
  for (let i = 0; i < 3; i++) await step();
  assert.equal(c.view('fraud').phase, 'Succeeded');
  await c.stop();
  return join(dir, 'rollouts-audit.jsonl');
}

/** Runs `modelgate audit ...` in process; its exit code and what it printed. */
async function cli(t: { mock: { method: Function } }, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = t.mock.method(console, 'log', (...a: unknown[]) => out.push(a.join(' ')));
  const error = t.mock.method(console, 'error', (...a: unknown[]) => err.push(a.join(' ')));
  try {
    return { code: await audit(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    (log as { mock: { restore(): void } }).mock.restore();
    (error as { mock: { restore(): void } }).mock.restore();
  }
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).trimEnd().split('\n');
}

test('the audit log of a real rollout (with a restart) is one hash chain that verifies, every line naming who acted', async (t) => {
  const file = await rolloutLog(await tempDir());
  const all = (await lines(file)).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(all.length >= 8, `a rollout writes many lines (${all.length})`);
  assert.deepEqual(all.map((l) => l['seq']), all.map((_, i) => i + 1));
  assert.equal(all[0]!['prev'], '0'.repeat(64));
  for (let i = 1; i < all.length; i++) assert.equal(all[i]!['prev'], all[i - 1]!['hash']);
  assert.ok(all.every((l) => l['actor'] === 'controller'));
  assert.ok(all.some((l) => l['input'] === 'restart'));
  const r = await cli(t, 'verify', file);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`audit chain OK: ${all.length} lines`));
});

test('an edited, removed or reordered line fails verification naming the first bad line', async (t) => {
  const file = await rolloutLog(await tempDir());
  const original = await lines(file);
  const write = (ls: string[]) => writeFile(file, ls.join('\n') + '\n');

  await write(original.map((l, i) => (i === 3 ? l.replace('"phase":"', '"phase":"X') : l)));
  let r = await cli(t, 'verify', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /rollouts-audit\.jsonl:4: its content does not match its hash \(the line was edited\)/);

  await write(original.filter((_, i) => i !== 4));
  r = await cli(t, 'verify', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /rollouts-audit\.jsonl:5: has seq 6 after seq 4 \(lines were removed before it\)/);

  await write([original[0]!, original[2]!, original[1]!, ...original.slice(3)]);
  r = await cli(t, 'verify', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /rollouts-audit\.jsonl:2: has seq 3 after seq 1/);

  await write(original.slice(1));
  r = await cli(t, 'verify', file);
  assert.equal(r.code, 1, 'the first line removed');
  assert.match(r.err, /:1: .*removed/);

  await write(original);
  assert.equal((await cli(t, 'verify', file)).code, 0, 'the untouched log still verifies');
});

test('the chain continues across rotated generations; the current file alone verifies from where the older lines were rotated away', async (t) => {
  const dir = await tempDir();
  const file = await rolloutLog(dir, 1500);
  const files = (await readdir(dir)).filter((f) => f.startsWith('rollouts-audit.jsonl')).sort();
  assert.ok(files.length >= 3, `rotated: ${files.join(', ')}`);
  const r = await cli(t, 'verify', file);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /rollouts-audit\.jsonl\.1, .*rollouts-audit\.jsonl;/);
  const alone = await cli(t, 'verify', file, '--only');
  assert.equal(alone.code, 0, alone.err);
  assert.match(alone.out, /the chain starts at seq \d+; older lines were rotated away/);
});

test('a log written before lines were chained gets a clear message, and new lines chain after its old ones', async (t) => {
  const dir = await tempDir();
  const file = join(dir, 'rollouts-audit.jsonl');
  await writeFile(file, '{"time":"2026-12-01T00:00:00.000Z","model":"fraud","action":{"type":"none"}}\n{"time":"2026-12-01T00:01:00.000Z","model":"fraud","action":{"type":"none"}}\n');
  const old = await cli(t, 'verify', file);
  assert.equal(old.code, 1);
  assert.match(old.err, /2 lines, none of them chained \(a log written before audit lines carried hashes/);
  const store = new RolloutStore(dir);
  await store.audit({ model: 'fraud', note: 'first chained line' });
  await store.audit({ model: 'fraud', note: 'second', actor: 'admin' });
  const r = await cli(t, 'verify', file);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /the first 2 lines predate the hash chain and are not checked/);
  assert.equal(JSON.parse((await lines(file))[3]!).actor, 'admin');
});
