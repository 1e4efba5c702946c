// The proxy of two or more source trees under the same load, in the same run: is a change
// free on the request path? Each tree's own bench/proxy/proxy-child.ts runs its
// createProxy (metrics, tracing, catalog, a split on another model: everything on) in its
// own process, in front of one shared upstream from this tree. Rounds alternate the order
// of the trees (forward, then backward), so drift in the machine's load spreads evenly;
// the report takes medians. CPU per request is the proxy process's user + system time
// (/proc) over the requests it answered.
//
//   git worktree add /tmp/proxy-before <commit> && ln -s "$PWD/node_modules" /tmp/proxy-before/
//   node --import tsx bench/proxy/tree-compare.ts --trees before=/tmp/proxy-before,after=. \
//     [--rounds 7] [--seconds 5] [--connections 64] [--protocols rest,grpc]
//
// The first tree is the baseline of the ratios. Needs wrk (REST) and h2load (gRPC,
// nghttp2-client) on PATH.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLK_TCK, cleanup, cpuTicks, median, startChild, tsChild, writePredictFrame } from './lib.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1]!;
};
const ROUNDS = Number(arg('rounds', '7'));
const SECONDS = Number(arg('seconds', '5'));
const CONNECTIONS = Number(arg('connections', '64'));
const PROTOCOLS = arg('protocols', 'rest,grpc').split(',');
const TREES = arg('trees', '').split(',').filter(Boolean).map((t) => {
  const [name, dir] = t.split('=') as [string, string | undefined];
  if (!dir) throw new Error(`--trees wants name=dir,name=dir; got ${JSON.stringify(t)}`);
  return { name, dir: resolve(dir) };
});
if (TREES.length < 2) throw new Error('--trees needs at least two trees, e.g. before=/tmp/proxy-before,after=.');

const REST_PATH = '/v1/models/fraud:predict';
const REST_BODY = '{"instances":[{"amount":120.5,"account_age_days":400,"tx_last_hour":1,"distance_km":3.2,"merchant_risk":0.1,"hour_of_day":14,"device_age_days":300,"failed_logins":0}]}';
const GRPC_METHOD = '/tensorflow.serving.PredictionService/Predict';

interface Run {
  rps: number;
  requests: number;
  errors: number;
}

function wrk(port: number, seconds: number): Run {
  const lua = join(tmpdir(), 'modelgate-bench-tree-post.lua');
  writeFileSync(lua, `wrk.method = "POST"\nwrk.body = '${REST_BODY}'\nwrk.headers["Content-Type"] = "application/json"\n`);
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', lua, `http://127.0.0.1:${port}${REST_PATH}`]).toString();
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    errors: (num(/Non-2xx or 3xx responses: (\d+)/) || 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

function grpcBody(): string {
  return writePredictFrame(join(tmpdir(), 'modelgate-bench-tree-predict.bin'));
}

function h2load(port: number, seconds: number, data: string): Run {
  const out = execFileSync('h2load', ['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', data, '-c8', '-m16', `-D${seconds}`, `http://127.0.0.1:${port}${GRPC_METHOD}`], { maxBuffer: 64 << 20 }).toString();
  return {
    rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN),
    requests: Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)?.[1] ?? NaN),
    errors: /(\d+) failed, (\d+) errored/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? NaN,
  };
}

interface Row {
  rps: number;
  cpuUs: number;
  errors: number;
}

async function measure(protocol: 'rest' | 'grpc', upstream: string, load: (port: number, seconds: number) => Run): Promise<Map<string, Row[]>> {
  const mode = protocol === 'rest' ? 'modelgate' : 'modelgate-grpc';
  const proxies = [];
  for (const t of TREES) {
    const p = await startChild(process.execPath, ['--import', 'tsx', join(t.dir, 'bench/proxy/proxy-child.ts'), mode, upstream]);
    proxies.push({ ...t, port: p.info.port, pid: p.child.pid!, child: p.child });
  }
  const rows = new Map<string, Row[]>(TREES.map((t) => [t.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? proxies : [...proxies].reverse();
    for (const p of order) {
      load(p.port, 1); // warm: JIT, connection pools
      const before = cpuTicks([p.pid]);
      const run = load(p.port, SECONDS);
      const ticks = cpuTicks([p.pid]) - before;
      const row = { rps: run.rps, cpuUs: ((ticks / CLK_TCK) * 1e6) / run.requests, errors: run.errors };
      rows.get(p.name)!.push(row);
      console.log(`${protocol} round ${round} ${p.name.padEnd(8)} ${row.rps.toFixed(0)} req/s, ${row.cpuUs.toFixed(1)} µs CPU/req, errors ${row.errors}, load ${loadavg()[0]!.toFixed(1)}`);
    }
  }
  for (const p of proxies) p.child.kill('SIGTERM');
  return rows;
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const pairs: string[] = [];
  const base = TREES[0]!.name;
  const report = (protocol: string, rows: Map<string, Row[]>) => {
    const m = (name: string, k: keyof Row) => median(rows.get(name)!.map((r) => r[k]));
    // Per-round ratios too: both trees of a round ran back to back, so a round's ratio is
    // less exposed to the shared machine's load than the ratio of the medians.
    const roundRatio = (name: string, k: 'rps' | 'cpuUs') => median(rows.get(name)!.map((r, i) => r[k] / rows.get(base)![i]![k]));
    for (const t of TREES) {
      const rps = m(t.name, 'rps');
      const cpu = m(t.name, 'cpuUs');
      const errors = rows.get(t.name)!.reduce((a, r) => a + r.errors, 0);
      const ratios = t.name === base ? '— | —' : `${(rps / m(base, 'rps')).toFixed(3)} (rounds ${roundRatio(t.name, 'rps').toFixed(3)}) | ${(cpu / m(base, 'cpuUs')).toFixed(3)} (rounds ${roundRatio(t.name, 'cpuUs').toFixed(3)})`;
      lines.push(`| ${protocol} | ${t.name} | ${rps.toFixed(0)} | ${cpu.toFixed(1)} | ${ratios} | ${errors} |`);
    }
    // With three trees or more, every later tree against every earlier one (per-round medians).
    for (let j = 1; j < TREES.length; j++) for (let i = 0; i < j; i++) {
      const [a, b] = [TREES[i]!.name, TREES[j]!.name];
      const ratio = (k: 'rps' | 'cpuUs') => median(rows.get(b)!.map((r, n) => r[k] / rows.get(a)![n]![k])).toFixed(3);
      pairs.push(`| ${protocol} | ${b} / ${a} | ${ratio('rps')} | ${ratio('cpuUs')} |`);
    }
  };
  if (PROTOCOLS.includes('rest')) {
    const up = await tsChild('upstream-child.ts', []);
    report('REST', await measure('rest', `http://127.0.0.1:${up.info.port}`, wrk));
    up.child.kill('SIGTERM');
  }
  if (PROTOCOLS.includes('grpc')) {
    const up = await tsChild('grpc-upstream-child.ts', []);
    const data = grpcBody();
    report('gRPC', await measure('grpc', `127.0.0.1:${up.info.port}`, (port, s) => h2load(port, s, data)));
    up.child.kill('SIGTERM');
  }
  console.log(`\n${cpus().length} cores, node ${process.version}, ${ROUNDS} rounds × ${SECONDS} s per tree, order alternating; REST wrk -t1 -c${CONNECTIONS}, gRPC h2load -c8 -m16; medians; ratios vs ${base}`);
  console.log(`trees: ${TREES.map((t) => `${t.name}=${t.dir}`).join(', ')}\n`);
  console.log(`| protocol | tree | req/s | proxy CPU µs/req | req/s vs ${base} | CPU/req vs ${base} | errors |`);
  console.log('|---|---|---|---|---|---|---|');
  console.log(lines.join('\n'));
  if (TREES.length > 2) console.log(`\n| protocol | trees | req/s ratio | CPU/req ratio |\n|---|---|---|---|\n${pairs.join('\n')}`);
  cleanup();
  process.exit(0);
}

void main();
