// proxy.workers: 2 through the real CLI (`modelgate proxy --config`): the primary forks two
// data-plane workers sharing the REST and gRPC sockets; counts, SLO events, splits and body
// samples are exact and in the primary; rate limits hold per worker; SIGTERM drains every
// worker; a killed worker comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Issues } from '../../common/index.ts';
import { readProxyConfig } from '../../proxy/index.ts';
import { EXAMPLES, eventually } from '../helpers/repo.ts';
import { servedModel, startTestServer } from '../helpers/server.ts';
import { call, connect, floatTensor } from '../server/grpc-helpers.ts';

/** Polls until `check` stops throwing (bounded). */
const until = (check: () => unknown, timeoutMs: number): Promise<true> => eventually(async () => (await check(), true as const), timeoutMs);

const BIN = fileURLToPath(new URL('../../bin/modelgate.js', import.meta.url));

interface Upstream {
  url: string;
  /** Each request's path and the proxy-side port of the connection it came on. */
  seen: Array<{ path: string; port: number }>;
  close(): Promise<void>;
}

/** Answers every request with the path it was sent to, after `?delay=ms`. */
async function startEchoUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', port: req.socket.remotePort ?? 0 });
    req.resume();
    req.on('end', () => {
      const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ predictions: [[1]], path: req.url }));
      }, delay);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

interface Cluster {
  dir: string;
  child: ChildProcess;
  restUrl: string;
  /** host:port of the gRPC listener, when the config has one. */
  grpcAddress: string | undefined;
  adminUrl: string;
  out: () => string;
  workerPids: () => number[];
  stop(): Promise<void>;
}

/** Runs `fn` with an echo upstream and a two-worker cluster in front of it, both stopped after. */
async function withCluster(fn: (up: Upstream, c: Cluster) => Promise<void>, extra?: (dir: string) => string): Promise<void> {
  const up = await startEchoUpstream();
  try {
    const c = await startCluster(up.url, extra);
    try {
      await fn(up, c);
    } finally {
      await c.stop();
    }
  } finally {
    await up.close();
  }
}

async function startCluster(upstream: string, extra: (dir: string) => string = () => ''): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-workers-'));
  const file = join(dir, 'modelgate.yaml');
  await writeFile(file, [
    'apiVersion: modelgate/v1',
    'slos:',
    '  - name: m-availability',
    '    model: m',
    '    sli:',
    '      availability: {}',
    '    objective: 99',
    'proxy:',
    '  workers: 2',
    '  rest:',
    '    host: 127.0.0.1',
    '    port: 0',
    `    upstream: ${upstream}`,
    '  labels:',
    '    statusApi: none',
    '  admin:',
    '    port: 0',
    '    token: workers-test-token',
    extra(dir),
  ].join('\n'));
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', file, '--state_dir', join(dir, 'state'), '--tick', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const pids = workerPids(child.pid!);
      child.kill('SIGKILL');
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(() => assert.match(out, /admin http/), 30_000);
  } catch (err) {
    await stop();
    throw new Error(`the cluster did not start: ${out}`, { cause: err });
  }
  return {
    dir,
    child,
    restUrl: /REST (http:\/\/\S+)/.exec(out)![1]!,
    grpcAddress: /\[proxy\] gRPC ([\d.:]+)/.exec(out)?.[1],
    adminUrl: /admin (http:\/\/\S+)/.exec(out)![1]!,
    out: () => out,
    workerPids: () => workerPids(child.pid!),
    stop,
  };
}

function workerPids(primary: number): number[] {
  try {
    // Only the forked workers (not, say, the TypeScript loader's helper process).
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(primary)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('modelgate.js proxy'))
      .map((l) => Number(l.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

/** The local and remote TCP ports of a process's sockets (Linux /proc): which worker holds an upstream connection. */
function tcpSocketsOf(pid: number): Array<{ local: number; remote: number }> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const sockets: Array<{ local: number; remote: number }> = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9]!)) sockets.push({ local: parseInt(cols[1]!.split(':')[1]!, 16), remote: parseInt(cols[2]!.split(':')[1]!, 16) });
    }
  }
  return sockets;
}

const tcpPortsOf = (pid: number): Set<number> => new Set(tcpSocketsOf(pid).map((s) => s.local));

/** The pids among `pids` holding a TCP connection to `port` (a worker dials the gRPC upstream on its first call). */
function connectedTo(pids: number[], port: number): number[] {
  return pids.filter((pid) => tcpSocketsOf(pid).some((s) => s.remote === port));
}

/** Which worker pids sent the upstream requests from `from` on (their upstream connections are kept alive). */
function servingWorkers(up: Upstream, pids: number[], from: number): Set<number> {
  const byPort = new Map<number, number>();
  for (const pid of pids) for (const port of tcpPortsOf(pid)) byPort.set(port, pid);
  return new Set(up.seen.slice(from).map((r) => byPort.get(r.port)).filter((p): p is number => p !== undefined));
}

/** One request on its own connection, so the kernel may hand it to either worker. */
function predict(restUrl: string, path = '/v1/models/m:predict'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${restUrl}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('{"instances": [[1.0]]}');
  });
}

async function metric(adminUrl: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = re.exec(line);
    if (m) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('proxy.workers is an integer from 1 or "auto", and refuses a rotating access-log file with several workers', () => {
  const read = (extra: Record<string, unknown>) => {
    const issues = new Issues();
    const c = readProxyConfig({ rest: { upstream: 'http://127.0.0.1:1' }, ...extra }, 'proxy', issues);
    return { c, issues };
  };
  assert.equal(read({}).c.workers, 1);
  assert.equal(read({ workers: 3 }).c.workers, 3);
  assert.ok(read({ workers: 'auto' }).c.workers >= 1);
  for (const bad of [0, 1.5, 'two', -1, 1000]) {
    const { issues } = read({ workers: bad });
    assert.ok(issues.errors.some((i) => i.path === 'proxy.workers' && /integer from 1 to 64 or "auto"/.test(i.message)), `${JSON.stringify(bad)}: ${JSON.stringify(issues.list)}`);
  }
  const file = read({ workers: 2, accessLog: { to: { file: '/tmp/x.log' } } }).issues;
  assert.ok(file.errors.some((i) => i.path === 'proxy.accessLog.to' && /accessLog.to: stdout/.test(i.message)), JSON.stringify(file.list));
  assert.ok(read({ workers: 2, accessLog: { to: 'stdout' } }).issues.ok);
  assert.ok(read({ workers: 1, accessLog: { to: { file: '/tmp/x.log' } } }).issues.ok);
});

test('with two workers every request is counted exactly once in /metrics and by the SLO engine, and a split set on the primary routes on both workers', { timeout: 90_000 }, async () => {
  await withCluster(async (up, c) => {
    assert.equal(c.workerPids().length, 2, c.out());
    // Batches until both workers have forwarded some (the kernel picks the worker per connection).
    let M = 0;
    await until(async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => predict(c.restUrl)));
      M += results.length;
      assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
      assert.equal(servingWorkers(up, c.workerPids(), 0).size, 2);
    }, 20_000);
    assert.equal(up.seen.length, M);
    await until(async () => assert.equal(await metric(c.adminUrl, /^modelgate_requests_total\{model="m"/), M), 10_000);
    assert.equal(await metric(c.adminUrl, /^modelgate_request_duration_seconds_count\{model="m"/), M);
    // The SLO engine (in the primary) saw every outcome of both workers.
    await until(async () => {
      const slos = JSON.stringify(await (await fetch(`${c.adminUrl}/api/v1/slos`)).json());
      assert.match(slos, new RegExp(`"total":${M}\\b`), slos);
    }, 10_000);

    const put = await fetch(`${c.adminUrl}/api/v1/models/m/split?force=1`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: 'Bearer workers-test-token' }, body: JSON.stringify({ stable: '1', canary: '2', weight: 100 }) });
    assert.equal(put.status, 200, await put.text());
    // Every request after the change goes to the canary, and both workers forwarded some of them.
    const from = up.seen.length;
    await until(async () => {
      const after = await Promise.all(Array.from({ length: 20 }, () => predict(c.restUrl)));
      for (const r of after) assert.match(r.body, /versions\/2/, r.body);
      assert.equal(servingWorkers(up, c.workerPids(), from).size, 2);
    }, 20_000);
    assert.ok(up.seen.slice(from).every((r) => r.path.includes('/versions/2')));
    assert.equal(await metric(c.adminUrl, /^modelgate_split_weight\{model="m"\}/), 100);
  });
});

/** Sums the series of `name` whose labels include every one of `labels`. */
const series = (name: string, labels: Record<string, string>): RegExp =>
  new RegExp(`^${name}\\{${Object.entries(labels).map(([k, v]) => `(?=[^}]*\\b${k}="${v}")`).join('')}`);

test('with two workers every gRPC call is answered by the upstream through both workers and counted exactly once in /metrics and by the SLO engine', { timeout: 90_000 }, async () => {
  // modelgate's own model server as the gRPC upstream, serving half_plus_two as "m".
  const server = await startTestServer([servedModel('m', join(EXAMPLES, 'half_plus_two'))], { grpcPort: 0 });
  try {
    const upstreamPort = Number(server.grpcAddress!.slice(server.grpcAddress!.lastIndexOf(':') + 1));
    const grpcSection = ['  grpc:', '    host: 127.0.0.1', '    port: 0', `    upstream: ${server.grpcAddress}`].join('\n');
    await withCluster(async (_up, c) => {
      assert.ok(c.grpcAddress, c.out());
      const pids = c.workerPids();
      assert.equal(pids.length, 2, c.out());
      // Batches of calls, each on a client with a connection of its own (the kernel picks the
      // worker per connection), until both workers have dialled the upstream, which a worker
      // does on the first call it forwards (not before).
      assert.deepEqual(connectedTo(pids, upstreamPort), []);
      let N = 0;
      const forwarded = new Set<number>();
      await until(async () => {
        const clients = Array.from({ length: 10 }, () => connect(c.grpcAddress!, undefined, { 'grpc.use_local_subchannel_pool': 1 }));
        try {
          const answers = await Promise.all(clients.map((k) => call(k.prediction, 'Predict', { model_spec: { name: 'm' }, inputs: { x: floatTensor([3], [1, 2, 5]) } })));
          N += answers.length;
          for (const r of answers) {
            assert.deepEqual(r.outputs.y.float_val, [2.5, 3, 4.5]);
            assert.equal(r.model_spec.version.value, '123');
          }
        } finally {
          for (const k of clients) k.close();
        }
        for (const pid of connectedTo(pids, upstreamPort)) forwarded.add(pid);
        assert.equal(forwarded.size, 2);
      }, 20_000);
      const grpcRequests = series('modelgate_requests_total', { model: 'm', protocol: 'grpc' });
      await until(async () => assert.equal(await metric(c.adminUrl, grpcRequests), N), 10_000);
      assert.equal(await metric(c.adminUrl, series('modelgate_requests_total', { model: 'm', protocol: 'grpc', code: 'OK' })), N);
      assert.equal(await metric(c.adminUrl, series('modelgate_request_duration_seconds_count', { model: 'm', protocol: 'grpc' })), N);
      assert.equal(await metric(c.adminUrl, series('modelgate_requests_total', { model: 'm', protocol: 'rest' })), 0);
      await until(async () => {
        const slos = JSON.stringify(await (await fetch(`${c.adminUrl}/api/v1/slos`)).json());
        assert.match(slos, new RegExp(`"total":${N}\\b`), slos);
      }, 10_000);
    }, () => grpcSection);
  } finally {
    await server.close();
  }
});

test('with two workers a model rate limit is a bucket per worker: the cluster admits more than one bucket and at most two, and answers the rest 429 {"error"}, each counted once', { timeout: 90_000 }, async () => {
  // K tokens per bucket and one more every 1000 s: nothing refills while the test runs.
  const K = 3;
  await withCluster(async (up, c) => {
    const pids = c.workerPids();
    assert.equal(pids.length, 2, c.out());
    let refused = 0;
    const served = new Set<number>();
    // Batches of 2K requests, each on its own connection, until both workers have forwarded
    // some and both buckets are spent (2K forwarded in all).
    const batch = async (): Promise<void> => {
      const from = up.seen.length;
      const results = await Promise.all(Array.from({ length: 2 * K }, () => predict(c.restUrl)));
      for (const r of results) {
        if (r.status === 200) continue;
        assert.equal(r.status, 429, r.body);
        const body = JSON.parse(r.body) as { error?: unknown };
        assert.equal(typeof body.error, 'string', r.body);
        assert.match(body.error as string, /rate limit/);
        refused++;
      }
      assert.equal(results.filter((r) => r.status === 200).length, up.seen.length - from);
      for (const pid of servingWorkers(up, pids, from)) served.add(pid);
    };
    await until(async () => {
      await batch();
      assert.equal(served.size, 2);
    }, 20_000);
    // Both workers admitted some: more than one bucket's worth, never more than two.
    assert.ok(up.seen.length > K && up.seen.length <= 2 * K, `admitted ${up.seen.length}`);
    await until(async () => {
      await batch();
      assert.equal(up.seen.length, 2 * K);
    }, 20_000);
    // Both buckets are empty: a further batch is refused whole.
    const before = refused;
    await batch();
    assert.equal(up.seen.length, 2 * K);
    assert.equal(refused - before, 2 * K);
    const admitted = up.seen.length;
    // Each refusal once in the sum of both workers' series. Its model label is "m", or
    // __other__ when the refusing worker had not yet had an answer for "m" from the upstream
    // (each worker's catalog admits a model to the labels when it is served).
    await until(async () => assert.equal(await metric(c.adminUrl, series('modelgate_requests_rejected_total', { reason: 'rate_limited' })), refused), 10_000);
    assert.equal(await metric(c.adminUrl, /^modelgate_requests_rejected_total\{/), refused);
    assert.equal(await metric(c.adminUrl, series('modelgate_requests_rejected_total', { model: 'm' })) + await metric(c.adminUrl, series('modelgate_requests_rejected_total', { model: '__other__' })), refused);
    // Refused requests are not requests the upstream answered, and spend no SLO budget.
    assert.equal(await metric(c.adminUrl, series('modelgate_requests_total', { model: 'm' })), admitted);
    await until(async () => {
      const slos = JSON.stringify(await (await fetch(`${c.adminUrl}/api/v1/slos`)).json());
      assert.match(slos, new RegExp(`"total":${admitted}\\b`), slos);
    }, 10_000);
  }, () => ['  rateLimits:', '    models:', `      m: { rps: 0.001, burst: ${K} }`].join('\n'));
});

test('SIGTERM to the primary mid-request: every worker finishes its requests, then all exit', { timeout: 90_000 }, async () => {
  await withCluster(async (_up, c) => {
    const pids = c.workerPids();
    assert.equal(pids.length, 2);
    const inFlight = Array.from({ length: 8 }, () => predict(c.restUrl, '/v1/models/m:predict?delay=1500'));
    await until(async () => assert.equal(await metric(c.adminUrl, /^modelgate_in_flight_requests/), 8), 10_000);
    c.child.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    assert.deepEqual(results.map((r) => r.status), Array(8).fill(200));
    const [code] = await once(c.child, 'exit');
    assert.equal(code, 0, c.out());
    for (const p of pids) assert.throws(() => process.kill(p, 0), /ESRCH/, `worker ${p} still runs`);
  });
});

test('a worker killed with SIGKILL is started again and counted', { timeout: 90_000 }, async () => {
  await withCluster(async (_up, c) => {
    const [victim] = c.workerPids();
    process.kill(victim!, 'SIGKILL');
    await until(async () => assert.equal(await metric(c.adminUrl, /^modelgate_proxy_worker_restarts_total\{reason="killed"\}/), 1), 20_000);
    await until(() => {
      const now = c.workerPids();
      assert.equal(now.length, 2);
      assert.ok(!now.includes(victim!));
    }, 20_000);
    const after = await Promise.all(Array.from({ length: 10 }, () => predict(c.restUrl)));
    assert.deepEqual(after.map((r) => r.status), Array(10).fill(200));
  });
});

test('sampled bodies from both workers reach the primary body subscribers (capture, at its own share)', { timeout: 90_000 }, async () => {
  await withCluster(async (up, c) => {
    let M = 0;
    await until(async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => predict(c.restUrl)));
      M += results.length;
      assert.equal(servingWorkers(up, c.workerPids(), 0).size, 2);
    }, 20_000);
    // The capture writer runs in the primary only: one file, one line per request of either worker.
    await until(() => {
      const lines = readFileSync(join(c.dir, 'capture', 'capture.jsonl'), 'utf8').trim().split('\n');
      assert.equal(lines.length, M);
      const ids = new Set(lines.map((l) => (JSON.parse(l) as { requestId: string }).requestId));
      assert.equal(ids.size, M);
    }, 10_000);
  }, (dir) => ['capture:', `  dir: ${join(dir, 'capture')}`, '  sample: 1'].join('\n'));
});
