// The fleet rig shared by the fleet integration tests: one real model server with versions
// 1 and 2 of half_plus_two behind a fault injector, a real Prometheus scraping every
// replica's admin /metrics each second (file-based discovery: the replicas' ports are
// written once known, nothing is guessed), and gateway replicas started from YAML through
// the real loader. Everything on loopback; `close` stops what it started.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/index.ts';
import type { Config } from '../../config/index.ts';
import { startServer } from '../../server/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { startGateway } from '../../app/gateway.ts';
import type { Gateway } from '../../app/gateway.ts';
import { EXAMPLES, TempRepo } from '../helpers/repo.ts';
import { startPrometheus, waitFor } from '../integration/programs.ts';
import type { Prometheus } from '../integration/programs.ts';
import { startFaultInjector } from '../integration/traffic.ts';
import type { FaultInjector } from '../integration/traffic.ts';

export const MODEL = 'half_plus_two';
export const HEALTHY = '1';
export const BROKEN = '2';

export interface FleetRig {
  dir: string;
  server: RunningServer;
  injector: FaultInjector;
  prometheus: Prometheus;
  replicas: Gateway[];
  close(): Promise<void>;
}

export function loadConfig(text: string): Config {
  const r = parseConfig(text, 'fleet.yaml');
  assert.ok(r.config, JSON.stringify(r.issues));
  return r.config;
}

export async function startFleetRig(o: {
  identities: readonly string[];
  configFor: (identity: string, promUrl: string, upstream: string, dir: string) => string;
  tickMs: number;
  /** Each replica's environment (e.g. a pod's KUBERNETES_SERVICE_HOST); default none. */
  env?: Record<string, string>;
}): Promise<FleetRig> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-fleet-'));
  const repo = await TempRepo.create();
  const stops: Array<() => Promise<unknown>> = [async () => rm(dir, { recursive: true, force: true }), () => repo.remove()];
  const rig = { dir, replicas: [] as Gateway[] } as unknown as FleetRig;
  rig.close = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const onnx = await readFile(join(EXAMPLES, MODEL, '123', 'model.onnx'));
    for (const v of [HEALTHY, BROKEN]) await repo.writeVersion(MODEL, Number(v), onnx);
    rig.server = await startServer({ host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, models: [{ name: MODEL, basePath: repo.path(MODEL), policy: { kind: 'all' }, labels: {} }] });
    stops.push(() => rig.server.close());
    rig.injector = await startFaultInjector(rig.server.restUrl);
    stops.push(() => rig.injector.close());
    const targets = join(dir, 'targets.json');
    await writeFile(targets, '[]');
    rig.prometheus = await startPrometheus(
      dir,
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: modelgate-proxy', '    file_sd_configs:', `      - files: ['${targets}']`, '        refresh_interval: 1s', ''].join('\n'),
    );
    stops.push(() => rig.prometheus.stop());
    for (const identity of o.identities) {
      const gw = await startGateway({ config: loadConfig(o.configFor(identity, rig.prometheus.url, rig.injector.url, dir)), tickMs: o.tickMs, env: o.env ?? {}, stateDir: join(dir, 'gateway-state') });
      rig.replicas.push(gw);
      stops.push(() => gw.close());
    }
    const tmp = `${targets}.tmp`;
    await writeFile(tmp, JSON.stringify([{ targets: rig.replicas.map((r) => new URL(r.proxy.adminUrl).host) }]));
    await rename(tmp, targets);
    await waitFor('every replica to know both versions', () => rig.replicas.every((r) => r.proxy.catalog.versions(MODEL).length === 2), 10_000, 100);
    return rig;
  } catch (e) {
    await rig.close();
    throw e;
  }
}

/**
 * Sends `perReplica` requests through each replica's split, then waits until Prometheus
 * has every {version, code} series of every replica and two more scrapes: from then on the
 * warm-up counts are each series' baseline in every window (increase() cannot see a
 * series' first increment, so measured traffic must not create series).
 */
export async function warmUp(rig: FleetRig, perReplica = 40): Promise<void> {
  for (const r of rig.replicas) {
    for (let i = 0; i < perReplica; i++) {
      const res = await fetch(`${r.proxy.restUrl}/v1/models/${MODEL}:predict`, { method: 'POST', body: JSON.stringify({ instances: [1.0] }) });
      await res.arrayBuffer();
    }
  }
  const n = rig.replicas.length;
  await waitFor('Prometheus scraping every replica with every series', async () => {
    // n replicas × (version 1 200, version 2 200, version 2 503)
    const r = await rig.prometheus.query(`count(modelgate_requests_total{model="${MODEL}",api="predict",version=~"${HEALTHY}|${BROKEN}"})`);
    const up = await rig.prometheus.query('sum(up{job="modelgate-proxy"})');
    return r.status === 'success' && Number(r.result[0]?.value[1]) >= 3 * n && up.status === 'success' && Number(up.result[0]?.value[1]) === n;
  }, 20_000);
  await new Promise((r) => setTimeout(r, 2_200));
}
