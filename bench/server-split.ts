// Per-request cost of the server's REST and gRPC surfaces in this tree against another
// tree (by default a worktree of the commit before a restructuring), in one run:
// TF Serving REST :predict and gRPC Predict on half_plus_two, both servers running side by
// side, rounds alternating which one goes first. Reports requests per second and server
// CPU µs per request (user + system of the server process, from /proc, over warmup and
// measured window, divided by the requests answered in both), their medians and the
// medians of the per-round after/before ratios.
//
//   git worktree add /tmp/server-before <commit> && ln -s "$PWD/node_modules" /tmp/server-before/
//   node --import tsx bench/server-split.ts [--before /tmp/server-before] [--rounds 15]
//        [--after DIR] [--seconds 2] [--concurrency 8] [--together] [--tsx]
//
// On a machine shared with other work, --together loads both servers at once (one load
// child per server and API), so a busy neighbour slows both alike; the ratios then compare
// two servers splitting the same cores, which holds for CPU per request.
//
// Each tree is compiled with its own scripts/build.js into a temporary directory (as
// `npm ci` builds dist/), and the server is that build's `modelgate serve` on
// examples/models/half_plus_two; --tsx runs the sources through tsx instead. Load comes
// from two child processes (bench/lib/load-rest.ts: undici, one keep-alive connection per
// request in flight; bench/lib/load-grpc.ts: one h2c connection, one stream per request in
// flight), closed loop, 127.0.0.1. Before measuring, both servers must give byte-identical
// answers to the same REST and gRPC request.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { helpText, parseArgs, type FlagSpec } from '../cli/args.ts';
import { VERSION_HEADER } from '../common/conventions.ts';
import { servingServices } from '../server/grpc/index.ts';
import { startGrpcLoadChild } from './lib/load-grpc.ts';
import { startLoadChild, type LoadSummary } from './lib/load-rest.ts';

const FLAGS: FlagSpec[] = [
  { name: 'before', type: 'string', default: '/tmp/server-before', help: 'the tree to compare with (a git worktree)' },
  { name: 'after', type: 'string', help: 'the tree compared (default: this one)' },
  { name: 'rounds', type: 'number', default: 15, help: 'rounds; each measures both trees on both APIs' },
  { name: 'seconds', type: 'number', default: 2, help: 'measured seconds per cell' },
  { name: 'warmup_seconds', type: 'number', default: 0.5, help: 'unmeasured seconds before each cell' },
  { name: 'concurrency', type: 'number', default: 8, help: 'requests in flight' },
  { name: 'together', type: 'boolean', help: 'load both servers at the same time (same neighbours for both), instead of one after the other' },
  { name: 'tsx', type: 'boolean', help: 'run both trees\' sources through tsx instead of compiled builds' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const MODEL = 'half_plus_two';
const REST_BODY = '{"instances": [1.0, 2.0, 5.0]}';
const PREDICT_PATH = '/tensorflow.serving.PredictionService/Predict';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;

type Tree = 'before' | 'after';
type Api = 'rest' | 'grpc';

interface Server {
  tree: Tree;
  child: ChildProcess;
  restUrl: string;
  grpcOrigin: string;
}

/** utime + stime of a process, in µs (proc(5): /proc/<pid>/stat fields 14 and 15). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Compiles `tree` into a temporary directory next to a link to our node_modules; returns the entry. */
function compile(tree: string, into: string): string {
  const r = spawnSync(process.execPath, [join(tree, 'scripts', 'build.js'), '--out', join(into, 'dist')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`building ${tree} failed (exit ${r.status})`);
  symlinkSync(join(ROOT, 'node_modules'), join(into, 'node_modules'));
  return join(into, 'dist', 'cli', 'main.js');
}

function startServe(tree: Tree, entry: string, viaTsx: boolean): Promise<Server> {
  const serve = ['serve', '--model_name', MODEL, '--model_base_path', join(ROOT, 'examples', 'models', MODEL), '--rest_api_port', '0', '--port', '0', '--host', '127.0.0.1'];
  const launcher = 'const { main } = await import(process.argv[1]); process.exitCode = await main(process.argv.slice(2));';
  const argv = viaTsx ? ['--import', 'tsx', '--input-type=module', '-e', launcher, entry, ...serve] : ['--input-type=module', '-e', launcher, entry, ...serve];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const t = setTimeout(() => reject(new Error(`${tree} server did not start: ${out}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`${tree} server exited ${code}: ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const rest = /REST listening on (http:\/\/[\d.:]+)/.exec(out);
      const grpc = /gRPC listening on ([\d.]+:\d+)/.exec(out);
      if (rest && grpc) {
        clearTimeout(t);
        resolvePromise({ tree, child, restUrl: rest[1]!, grpcOrigin: `http://${grpc[1]}` });
      }
    });
  });
}

function framedPredict(): Buffer {
  const msg = servingServices().predictionService['Predict']!.requestSerialize({
    model_spec: { name: MODEL },
    inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '3' }] }, float_val: [1, 2, 5] } },
  });
  const out = Buffer.alloc(5 + msg.length);
  out.writeUInt32BE(msg.length, 1);
  msg.copy(out, 5);
  return out;
}

async function restAnswer(s: Server): Promise<string> {
  const r = await request(`${s.restUrl}/v1/models/${MODEL}:predict`, { method: 'POST', body: REST_BODY, headers: { 'content-type': 'application/json' } });
  return `${r.statusCode} ${r.headers[VERSION_HEADER] ?? ''} ${await r.body.text()}`;
}

function grpcAnswer(s: Server, framed: Buffer): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const session = http2.connect(s.grpcOrigin);
    session.on('error', reject);
    const st = session.request({ ':method': 'POST', ':path': PREDICT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let trailers = '';
    st.on('data', (c: Buffer) => chunks.push(c));
    st.on('trailers', (t) => (trailers = `${t['grpc-status']} ${t['grpc-message']}`));
    st.on('close', () => {
      session.close();
      resolvePromise(`${trailers} ${Buffer.concat(chunks).toString('base64')}`);
    });
    st.end(framed);
  });
}

interface Cell {
  rps: number;
  cpuUs: number;
}

async function main(): Promise<void> {
  const { flags } = parseArgs(process.argv.slice(2), FLAGS);
  if (flags.help) {
    console.log(helpText('usage: node --import tsx bench/server-split.ts [flags]', FLAGS));
    return;
  }
  const beforeTree = resolve(String(flags.before));
  const afterTree = flags.after === undefined ? ROOT : resolve(String(flags.after));
  const viaTsx = Boolean(flags.tsx);
  const tmp = mkdtempSync(join(tmpdir(), 'modelgate-server-split-'));
  const servers: Server[] = [];
  const together = Boolean(flags.together);
  const rest = [startLoadChild(), startLoadChild()];
  const grpc = [startGrpcLoadChild(), startGrpcLoadChild()];
  try {
    const entries: Record<Tree, string> = viaTsx
      ? { before: join(beforeTree, 'cli', 'main.ts'), after: join(afterTree, 'cli', 'main.ts') }
      : { before: compile(beforeTree, join(tmp, 'before')), after: compile(afterTree, join(tmp, 'after')) };
    for (const tree of ['before', 'after'] as const) servers.push(await startServe(tree, entries[tree], viaTsx));
    const framed = framedPredict();
    const [b, a] = servers as [Server, Server];
    const restSame = [await restAnswer(b), await restAnswer(a)];
    const grpcSame = [await grpcAnswer(b, framed), await grpcAnswer(a, framed)];
    if (restSame[0] !== restSame[1] || !restSame[0]!.startsWith('200 ')) throw new Error(`REST answers differ: ${JSON.stringify(restSame)}`);
    if (grpcSame[0] !== grpcSame[1] || !grpcSame[0]!.startsWith('0 ')) throw new Error(`gRPC answers differ: ${JSON.stringify(grpcSame)}`);

    const spec = { concurrency: Number(flags.concurrency), warmupMs: Number(flags.warmup_seconds) * 1000, durationMs: Number(flags.seconds) * 1000 };
    const measure = async (s: Server, api: Api, child = 0): Promise<Cell> => {
      const pid = s.child.pid!;
      const c0 = cpuMicros(pid);
      const sum: LoadSummary = api === 'rest'
        ? await rest[child]!.run({ origin: s.restUrl, path: `/v1/models/${MODEL}:predict`, body: REST_BODY, ...spec })
        : await grpc[child]!.run({ origin: s.grpcOrigin, path: PREDICT_PATH, framedBase64: framed.toString('base64'), ...spec });
      const cpu = cpuMicros(pid) - c0;
      if (sum.errors > 0) throw new Error(`${s.tree} ${api}: ${sum.errors} errors`);
      return { rps: sum.throughput, cpuUs: cpu / (sum.requests + sum.warmupRequests) };
    };

    const cells: Record<Api, Record<Tree, Cell[]>> = { rest: { before: [], after: [] }, grpc: { before: [], after: [] } };
    const rounds = Number(flags.rounds);
    const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    // One unmeasured round first: both builds' code paths compiled by V8 before any figure.
    for (const s of [b, a]) for (const api of ['rest', 'grpc'] as const) await measure(s, api);
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? [b, a] : [a, b];
      for (const api of ['rest', 'grpc'] as const) {
        const measured = together ? await Promise.all(order.map((s, k) => measure(s, api, k))) : [await measure(order[0]!, api), await measure(order[1]!, api)];
        order.forEach((s, k) => {
          const c = measured[k]!;
          cells[api][s.tree].push(c);
          console.error(`round ${i + 1}/${rounds} ${api} ${s.tree}: ${c.rps.toFixed(0)} req/s, ${c.cpuUs.toFixed(1)} µs CPU/req`);
        });
      }
    }
    const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const result = {
      before: beforeTree,
      after: afterTree,
      date: new Date().toISOString(),
      mode: viaTsx ? 'tsx' : 'compiled',
      load: together ? 'together' : 'alternating',
      node: process.version,
      concurrency: spec.concurrency,
      rounds,
      seconds: Number(flags.seconds),
      loadavg: { start: load0, end: load1 },
      apis: Object.fromEntries(
        (['rest', 'grpc'] as const).map((api) => {
          const bc = cells[api].before;
          const ac = cells[api].after;
          const ratios = (f: (c: Cell) => number) => ac.map((c, i) => f(c) / f(bc[i]!));
          const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)].map((x) => +x.toFixed(3));
          return [api, {
            rps: { before: Math.round(median(bc.map((c) => c.rps))), after: Math.round(median(ac.map((c) => c.rps))) },
            cpu_us_per_req: { before: +median(bc.map((c) => c.cpuUs)).toFixed(1), after: +median(ac.map((c) => c.cpuUs)).toFixed(1) },
            after_over_before: {
              rps: +median(ratios((c) => c.rps)).toFixed(3),
              rps_range: range(ratios((c) => c.rps)),
              cpu: +median(ratios((c) => c.cpuUs)).toFixed(3),
              cpu_range: range(ratios((c) => c.cpuUs)),
            },
          }];
        }),
      ),
    };
    for (const [api, r] of Object.entries(result.apis)) {
      console.log(`${api}: req/s ${r.rps.before} -> ${r.rps.after} (after/before ${r.after_over_before.rps}, ${r.after_over_before.rps_range.join(' to ')}); ` +
        `CPU µs/req ${r.cpu_us_per_req.before} -> ${r.cpu_us_per_req.after} (after/before ${r.after_over_before.cpu}, ${r.after_over_before.cpu_range.join(' to ')})`);
    }
    console.log(JSON.stringify(result));
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all([...rest, ...grpc].map((c) => c.close()));
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
