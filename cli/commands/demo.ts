// `modelgate demo`: the rollout story in under two minutes, on loopback. It runs the real
// server on a temporary copy of the fraud model and, in front of it, the gateway exactly as
// `modelgate start` and `modelgate proxy --config` run it (startGateway on a modelgate.yaml
// the demo writes: proxy, SLOs, rollout controller, status page), plus a load generator.
// Windows are compressed to seconds.
//   1. Version 2 fails a quarter of its requests (a fault injector sits in front of the
//      server and fails them). It is canaried, judged and rolled back.
//   2. Version 3, a healthy one, is published. It is canaried through every step and
//      promoted: the stable label and the split move to 3.
// It prints live progress and ends with a summary and the audit log's location.
import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { helpText, parseArgs, UsageError } from '../args.ts';
import type { FlagSpec } from '../args.ts';
import { formatDuration } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import { startGateway } from '../../app/gateway.ts';
import { loadConfig } from '../../config/index.ts';
import { buildModel } from '../../examples/lib/onnx-builder.ts';
import { startChaos } from '../../examples/lib/chaos.ts';
import { fraud } from '../../examples/models.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { startServer } from '../../server/index.ts';
import type { SloEngine } from '../../slo/index.ts';
import { managerLabels } from '../../rollout/adapters.ts';
import { isServerError } from '../../rollout/traffic.ts';
import type { RolloutView } from '../../rollout/views.ts';

export const DEMO_FLAGS: readonly FlagSpec[] = [
  { name: 'interval', type: 'duration', default: '2s', help: 'analysis interval, at least 200ms (a step lasts one interval when it passes)' },
  { name: 'workers', type: 'number', default: 4, help: 'concurrent load-generator loops (loopback only)' },
  { name: 'fail_share', type: 'number', default: 0.25, help: 'share of version 2 requests the fault injector fails' },
  { name: 'state_dir', type: 'string', help: 'where rollouts.json and the audit log go (default: a new temporary directory)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

const MODEL = 'fraud';
/** The whole demo must end well within two minutes; each act gets at most this long. */
const ACT_TIMEOUT_MS = 50_000;

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, DEMO_FLAGS);
  if (flags['help']) {
    console.log(helpText('usage: modelgate demo [flags]', DEMO_FLAGS));
    return 0;
  }
  const intervalMs = Number(flags['interval']);
  if (intervalMs < 200) throw new UsageError(`--interval must be at least 200ms, got ${formatDuration(intervalMs)}; leave it out for the default 2s`);
  const intervalText = formatDuration(intervalMs);
  const t0 = Date.now();
  const say = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);

  const root = await mkdtemp(join(tmpdir(), 'modelgate-demo-'));
  const stateDir = (flags['state_dir'] as string | undefined) ?? join(root, 'state');
  const repo = join(root, 'models');
  await writeVersion(repo, 1);
  await writeVersion(repo, 2);
  say(`model repository ${repo}: fraud versions 1 (stable) and 2 (the canary; the fault injector fails ${Math.round(Number(flags['fail_share']) * 100)}% of its requests)`);

  const server = await startServer({
    host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 500,
    models: [{ name: MODEL, basePath: join(repo, MODEL), policy: { kind: 'all' }, labels: { stable: 1 } }],
  });
  const faults = await startChaos(server.restUrl);
  faults.set('2', { failShare: Number(flags['fail_share']) });
  // The configuration a user would write, loaded and run the way `modelgate start` runs it
  // (config loader, then startGateway): only the models and the fault injector are the demo's.
  const configFile = join(root, 'modelgate.yaml');
  await writeFile(configFile, demoConfig(faults.url, intervalText));
  const config = loadConfig(configFile);
  const token = randomBytes(12).toString('hex');
  const labels = managerLabels(server.manager);
  const gateway = await startGateway({
    config,
    stateDir,
    tickMs: 250,
    serverLabels: labels,
    proxyOverride: (p) => ({ ...p, admin: { ...p.admin, token } }),
    log: (line) => say(`» ${line.replace(/^rollout /, '')}`),
  });
  const { proxy } = gateway;
  const live = new LiveCounts();
  proxy.onOutcome((o) => live.record(o));
  say(`config ${configFile}`);
  say(`server ${server.restUrl}, proxy ${proxy.restUrl}, admin ${proxy.adminUrl} (token ${token})`);
  say(`try: modelgate rollout status fraud --admin_url ${proxy.adminUrl}; the status page: ${proxy.adminUrl}/status`);
  while (!gateway.rollouts()) await new Promise((r) => setTimeout(r, 20));
  const controller = gateway.rollouts()!;

  const load = startLoad(`${proxy.restUrl}/v1/models/${MODEL}:predict`, Number(flags['workers']));
  const view = () => controller.view(MODEL);
  const printer = setInterval(() => say(progress(view(), live.take(), gateway.slo, intervalMs)), 1000);
  let ok = true;
  try {
    say('act 1: canary version 2');
    ok = (await waitFor(() => ['RolledBack', 'Succeeded', 'Failed'].includes(view().phase))) && view().phase === 'RolledBack' && ok;
    say(`act 1 ended: ${view().phase}: ${view().reason}`);
    say('act 2: publishing version 3 (healthy) to the model repository');
    await writeVersion(repo, 3);
    ok = (await waitFor(() => view().canary === '3' && ['RolledBack', 'Succeeded', 'Failed'].includes(view().phase))) && view().phase === 'Succeeded' && ok;
    say(`act 2 ended: ${view().phase}: ${view().reason}`);
  } finally {
    clearInterval(printer);
    await load.stop();
  }
  const v = view();
  console.log('\nSummary');
  for (const h of [...v.history, { canary: v.canary, phase: v.phase, reason: v.reason }]) console.log(`  version ${h.canary}: ${h.phase} — ${h.reason}`);
  console.log(`  split now: ${JSON.stringify(proxy.getSplit(MODEL))}; server label stable → ${server.manager.labels(MODEL)['stable']}`);
  console.log(`  never promoted again: ${v.rolledBack.join(', ') || '(none)'}`);
  console.log(`  load: ${load.sent()} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`  audit log:  ${controller.store.auditPath}`);
  console.log(`  state file: ${controller.store.statePath}`);
  await gateway.close();
  await faults.close();
  await server.close();
  return ok ? 0 : 1;
}

async function waitFor(done: () => boolean): Promise<boolean> {
  const end = Date.now() + ACT_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** The demo's modelgate.yaml: one availability SLO and a fast canary rollout of fraud. */
function demoConfig(upstream: string, interval: string): string {
  return `# Written by modelgate demo: what it runs, loaded like any modelgate.yaml.
apiVersion: modelgate/v1
proxy:
  rest: {host: 127.0.0.1, port: 0, upstream: ${JSON.stringify(upstream)}}
  admin: {host: 127.0.0.1, port: 0}
  splits:
    ${MODEL}: {stable: 1, weight: 0}
slos:
  - name: fraud-availability
    model: ${MODEL}
    version: each
    sli: {availability: {}}
    objective: 99.9
    period: 1h
rollouts:
  - model: ${MODEL}
    canary: newest
    # 20% first: at a few dozen requests per second (a busy laptop) a 10% step would wait
    # many intervals for its 15 canary requests.
    weights: [20, 50, 100]
    interval: ${interval}
    minRequests: 15
    failureThreshold: 2
    analysis:
      # Latency noise on a shared laptop: judge a doubled median of 10 ms or more.
      latency: {minDelta: 10ms, tolerance: 100, minSamples: 15}
      drift: {enabled: false}
`;
}

/** Writes fraud/<version>/model.onnx, backdated so the server loads it at its next scan. */
async function writeVersion(repo: string, version: number): Promise<void> {
  const path = join(repo, MODEL, String(version), 'model.onnx');
  await mkdir(dirname(path), { recursive: true });
  // Every version has version 1's weights: badness comes only from the fault injector.
  await writeFile(path, buildModel(fraud(1)));
  const old = new Date(Date.now() - 60_000);
  await utimes(path, old, old);
  await utimes(dirname(path), old, old);
}

function progress(v: RolloutView, counts: Map<string, { n: number; bad: number }>, engine: SloEngine, intervalMs: number): string {
  const step = v.step >= 0 ? `step ${v.step + 1}/${v.steps.length}` : 'no step';
  const traffic = [...counts.entries()].sort().map(([ver, c]) => `v${ver} ${c.n} req ${c.bad} err`).join(', ') || 'no traffic';
  let burn = '';
  if (v.canary !== null) {
    try {
      const b = engine.burnRate('fraud-availability', MODEL, v.canary, intervalMs);
      burn = ` | canary burn ${b.burnRate === null ? '-' : `${b.burnRate.toFixed(1)}x`}`;
    } catch {
      burn = '';
    }
  }
  const checks = v.lastAnalysis ? ` | last check ${v.lastAnalysis.verdict}: ${v.lastAnalysis.checks.map((c) => `${c.name} ${c.verdict}`).join(', ')}` : '';
  return `${v.phase.padEnd(11)} ${step} canary ${v.canary ?? '-'} @ ${String(v.weight).padStart(3)}% | ${traffic}${burn}${checks}`;
}

/** Requests and server errors per version over the last second, for the progress line. */
class LiveCounts {
  #m = new Map<string, { n: number; bad: number }>();
  record(o: RequestOutcome): void {
    if (o.model !== MODEL) return;
    const c = this.#m.get(o.version) ?? { n: 0, bad: 0 };
    c.n++;
    if (isServerError(o)) c.bad++;
    this.#m.set(o.version, c);
  }
  take(): Map<string, { n: number; bad: number }> {
    const m = this.#m;
    this.#m = new Map();
    return m;
  }
}

/** `workers` loops posting fraud rows to `url` (loopback) as fast as answers come. */
function startLoad(url: string, workers: number): { sent(): number; stop(): Promise<void> } {
  let running = true;
  let sent = 0;
  const loop = async () => {
    while (running) {
      try {
        const r = await fetch(url, { method: 'POST', body: JSON.stringify({ instances: fraudRows(4, sent) }), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
      } catch {
        // Counted by the proxy like any failed request.
      }
      sent++;
    }
  };
  const loops = Array.from({ length: Math.max(1, workers) }, loop);
  return { sent: () => sent, stop: async () => { running = false; await Promise.all(loops); } };
}
