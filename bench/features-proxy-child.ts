// The proxy under test for bench/features-proxy.ts, in front of `upstream`, in one mode:
// off: nothing attached (no body copies);
// shadow: the gateway's shadow traffic at 20% (a Mirror with a plan for fraud → version 2,
//   on the same upstream) plus the prediction store at 20% (the same requests: one draw);
// store: the prediction store alone, every prediction;
// accesslog: the access log at 100%, to a file in the temporary folder.
// Prints "READY {port}"; answers 'stats' with what the features counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Issues, systemClock } from '../common/index.ts';
import { createProxy, readProxyConfig } from '../proxy/index.ts';
import { Mirror } from '../shadow/index.ts';
import { GroundTruth, validateTruthSection } from '../truth/index.ts';
import { decodeGrpcBodies } from '../drift/grpc-bodies.ts';

const [mode, upstream] = process.argv.slice(2) as ['off' | 'shadow' | 'store' | 'accesslog', string];
const dir = mkdtempSync(join(tmpdir(), 'modelgate-bench-features-'));
const issues = new Issues();
const config = readProxyConfig(
  {
    rest: { host: '127.0.0.1', port: 0, upstream },
    admin: { port: 0 },
    bodies: { sampleRate: 0 },
    ...(mode === 'accesslog' ? { accessLog: { enabled: true, sample: 1, to: { file: join(dir, 'access.log') } } } : {}),
  },
  'proxy',
  issues,
);
const truthConfig = validateTruthSection({ sampleRate: 1, models: { fraud: { task: 'classification', probabilities: 'predictions', classes: ['legit', 'fraud'] } } }, 'truth', issues);
if (!issues.ok) throw new Error(JSON.stringify(issues.errors));
const registry = new Registry();
const proxy = await createProxy({ config, registry });
let answered = 0;
proxy.onOutcome(() => void answered++);
let mirror: Mirror | undefined;
let truth: GroundTruth | undefined;
if (mode === 'shadow' || mode === 'store') {
  truth = new GroundTruth(truthConfig!, { clock: systemClock, grpcDecoder: decodeGrpcBodies });
  const t = truth;
  const share = mode === 'shadow' ? 0.2 : 1;
  proxy.onBodies((b) => t.offer(b), { share: () => share });
}
if (mode === 'shadow') {
  const plan = { candidate: '2', share: 0.2, compare: { outputs: [], absTolerance: 1e-6, relTolerance: 1e-4 }, sinceMs: 1 };
  mirror = new Mirror({ rest: { upstream }, plan: (m) => (m === 'fraud' ? plan : undefined), registry, clock: systemClock });
  const m = mirror;
  proxy.onBodies((b) => m.offer(b), { share: (model) => m.share(model), maxShare: () => 0.2 });
}
process.on('message', (msg) => {
  if (msg !== 'stats') return;
  const views = mirror?.views() ?? [];
  const cpu = process.cpuUsage(cpuAtReady);
  process.send?.({ stats: { answered, cpuUs: cpu.user + cpu.system, mirrored: views[0]?.summary.pairs ?? 0, agreement: views[0]?.summary.agreement ?? null, dropped: views[0]?.dropped ?? 0, stored: truth?.counters.stored ?? 0, storeEntries: truth?.snapshot().store.entries ?? 0 } });
});
// CPU from here on: the start-up (module loading, compiling) is not the proxy's per-request cost.
const cpuAtReady = process.cpuUsage();
console.log(`READY ${JSON.stringify({ port: Number(new URL(proxy.restUrl!).port) })}`);
process.on('SIGTERM', () => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
