import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Issues, seededRandom, type RequestOutcome } from '../../common/index.ts';
import { AccessLog, readAccessLog, ACCESS_LOG_FIELDS } from '../../proxy/access-log.ts';

const outcome = (i: number, extra: Partial<RequestOutcome> = {}): RequestOutcome => ({
  model: 'fraud', version: '2', api: 'predict', protocol: 'rest', variant: 'canary', httpStatus: 200, code: '200',
  durationSeconds: 0.0042, endMs: Date.UTC(2026, 11, 6, 8, 0, 0, i), requestId: `req-${i}`, requestBytes: 120, responseBytes: 64, ...extra,
});

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-access-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function linesIn(dir: string, prefix = 'access.log'): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of (await readdir(dir)).filter((n) => n.startsWith(prefix)).sort().reverse()) {
    for (const l of (await readFile(join(dir, f), 'utf8')).split('\n')) if (l) out.push(JSON.parse(l) as Record<string, unknown>);
  }
  return out;
}

test('every outcome becomes one JSON line with the request facts, and close() flushes all of them', async () => {
  await withDir(async (dir) => {
    const log = new AccessLog({ enabled: true, sample: 1, fields: ACCESS_LOG_FIELDS, to: { file: join(dir, 'access.log'), maxBytes: 100 * 1024 * 1024, keep: 2 } });
    log.observe(outcome(0, { traceId: 'a'.repeat(32), identity: 'team-a' }));
    log.observe(outcome(1, { protocol: 'grpc', httpStatus: undefined, grpcCode: 8, code: 'RESOURCE_EXHAUSTED', rejected: 'rate_limited', pinned: true }));
    for (let i = 2; i < 5000; i++) log.observe(outcome(i));
    await log.close();
    const lines = await linesIn(dir);
    assert.equal(lines.length, 5000);
    assert.deepEqual(lines[0], {
      log: 'access', time: '2026-12-06T08:00:00.000Z', requestId: 'req-0', traceId: 'a'.repeat(32), model: 'fraud', version: '2', variant: 'canary', api: 'predict',
      protocol: 'rest', status: 200, code: '200', latencyMs: 4.2, bytesIn: 120, bytesOut: 64, identity: 'team-a',
    });
    assert.deepEqual(lines[1], {
      log: 'access', time: '2026-12-06T08:00:00.001Z', requestId: 'req-1', model: 'fraud', version: '2', variant: 'canary', api: 'predict', protocol: 'grpc',
      grpcCode: 8, code: 'RESOURCE_EXHAUSTED', latencyMs: 4.2, bytesIn: 120, bytesOut: 64, pinned: true, rejected: 'rate_limited',
    });
    log.observe(outcome(9999));
    assert.equal(log.written, 5000, 'nothing is written after close');
  });
});

test('the file is rotated by size, keeping the configured generations, with whole lines in each', async () => {
  await withDir(async (dir) => {
    const log = new AccessLog({ enabled: true, sample: 1, fields: ACCESS_LOG_FIELDS, to: { file: join(dir, 'access.log'), maxBytes: 20_000, keep: 2 } });
    for (let i = 0; i < 600; i++) {
      log.observe(outcome(i));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await log.close();
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['access.log', 'access.log.1', 'access.log.2']);
    const lines = await linesIn(dir);
    // The oldest generations were dropped; what is kept is the newest lines, in order, none split.
    const ids = lines.map((l) => Number(String(l['requestId']).slice(4)));
    assert.equal(ids.at(-1), 599);
    assert.deepEqual(ids, ids.map((_, k) => ids[0]! + k));
    for (const f of files) {
      const size = (await readFile(join(dir, f))).length;
      // The new file is open before the next line is written: none passes maxBytes.
      assert.ok(size <= 20_000, `${f} is ${size} bytes`);
    }
  });
});

test('sample logs about that share of requests, and fields keeps only the fields named', async () => {
  await withDir(async (dir) => {
    const log = new AccessLog({ enabled: true, sample: 0.25, fields: ['requestId', 'code'], to: { file: join(dir, 'access.log'), maxBytes: 1e8, keep: 1 } }, { random: seededRandom(7) });
    for (let i = 0; i < 4000; i++) log.observe(outcome(i));
    await log.close();
    const lines = await linesIn(dir);
    assert.ok(lines.length > 850 && lines.length < 1150, `${lines.length} of 4000 at 0.25`);
    assert.deepEqual(Object.keys(lines[0]!), ['log', 'requestId', 'code']);
  });
});

test('proxy.accessLog is validated with messages that say how to fix it', () => {
  const issues = new Issues();
  const c = readAccessLog({ enabled: true, sample: 1.5, fields: ['model', 'latncyMs'], to: { file: '/tmp/x.log', maxBytes: '64MiB', kep: 3 } }, 'proxy.accessLog', issues);
  const msgs = issues.errors.map((i) => `${i.path}: ${i.message}`);
  assert.ok(msgs.some((m) => /^proxy\.accessLog\.sample: must be <= 1/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /^proxy\.accessLog\.fields\[1\]: unknown access log field "latncyMs".*latencyMs/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /^proxy\.accessLog\.to\.kep: unknown field "kep"/.test(m)), msgs.join('\n'));
  assert.equal(typeof c.to === 'object' && c.to.maxBytes, 64 * 1024 * 1024);
  const off = readAccessLog(undefined, 'proxy.accessLog', new Issues());
  assert.equal(off.enabled, false);
  const bad = new Issues();
  readAccessLog({ to: 'stderr' }, 'proxy.accessLog', bad);
  assert.match(bad.errors[0]!.message, /must be "stdout" or a mapping \{file: PATH/);
});
