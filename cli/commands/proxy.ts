// `modelgate proxy`: the proxy process as deployed (e.g. the sidecar in deploy/kubernetes).
// With --config it runs the whole gateway: SLOs, drift, rollouts, status page, from
// modelgate.yaml, with the flags overriding the proxy's listeners and upstreams. Without
// --config it is the bare proxy (proxy/cli.ts): forwarding, labels, metrics, split.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { helpText, parseArgs, type FlagSpec } from '../args.ts';
import { ConfigError, Issues, formatIssues, isRecord } from '../../common/index.ts';
import { loadConfig } from '../../config/index.ts';
import type { Config } from '../../config/index.ts';
import { sloLatencyThresholds } from '../../slo/index.ts';
import type { ProxyConfig } from '../../proxy/index.ts';
import { PROXY_FLAGS, PROXY_PORT_FLAGS, proxyConfigFrom, run as runBareProxy } from './proxy-bare.ts';
import { exitOnSignal, holdSignals, portError } from '../lifecycle.ts';
import { startGateway } from '../../app/gateway.ts';

export const GATEWAY_PROXY_FLAGS: readonly FlagSpec[] = [
  ...PROXY_FLAGS.filter((f) => f.name !== 'help'),
  { name: 'state_dir', type: 'string', default: '.modelgate-state', help: 'where rollout state and the audit log are kept (with --config)' },
  { name: 'tick', type: 'duration', default: '5s', aliases: [{ name: 'tick_ms', unit: 'ms' }], help: 'how often SLOs, drift and rollouts are evaluated (with --config)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, GATEWAY_PROXY_FLAGS);
  if (flags['help']) {
    console.log(helpText('usage: modelgate proxy [--config modelgate.yaml] [--upstream_rest URL] [--upstream_grpc HOST:PORT] [flags]', GATEWAY_PROXY_FLAGS));
    return 0;
  }
  // Without a config there are no SLOs, drift or rollouts to run: the bare proxy.
  if (typeof flags['config'] !== 'string') return runBareProxy(argv);
  const path = resolve(flags['config']);
  const config = loadConfig(path);
  const doc = parse(readFileSync(path, 'utf8')) as unknown;
  const section = isRecord(doc) && isRecord(doc['proxy']) ? doc['proxy'] : {};
  const issues = new Issues();
  const proxyConfig = proxyConfigFrom(section, flags, issues);
  if (!issues.ok) throw new ConfigError(path, issues.list);
  if (issues.warnings.length) console.warn(formatIssues(path, issues.warnings));

  if (proxyConfig.workers > 1) return runCluster(config, proxyConfig, flags);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'modelgate_proxy_' });
  const held = holdSignals('[proxy]');
  const gateway = await startGateway({
    config,
    registry,
    proxyOverride: () => proxyConfig,
    stateDir: resolve(String(flags['state_dir'])),
    tickMs: Number(flags['tick']),
    log: (m) => console.log(`[proxy] ${m}`),
  }).catch((err: unknown) => {
    held();
    throw portError('proxy', err, PROXY_PORT_FLAGS, []) ?? err;
  });
  const { proxy } = gateway;
  if (proxy.restUrl) console.log(`[proxy] REST ${proxy.restUrl} → ${proxyConfig.rest!.upstream}`);
  if (proxy.grpcAddress) console.log(`[proxy] gRPC ${proxy.grpcAddress} → ${proxyConfig.grpc!.upstream}`);
  console.log(`[proxy] admin ${proxy.adminUrl} (/metrics, /healthz, /status, /api/v1/slos, /api/v1/drift, /api/v1/rollouts)`);
  return exitOnSignal('[proxy]', proxyConfig.timeouts.drainMs / 1000, () => gateway.drain(), () => gateway.close(), held());
}

/** `proxy.workers` > 1: this process is the primary (app/workers.ts) or one of its forked data-plane workers. */
async function runCluster(config: Config, proxyConfig: ProxyConfig, flags: Record<string, unknown>): Promise<number> {
  const { isWorker } = await import('node:cluster').then((m) => m.default);
  const { runProxyWorker, startProxyCluster } = await import('../../app/workers.ts');
  // The same histogram buckets as the primary's (SLO thresholds), or the merged series would not add up.
  if (isWorker) return runProxyWorker(proxyConfig, sloLatencyThresholds(config.slos));
  const log = (m: string) => console.log(`[proxy] ${m}`);
  const held = holdSignals('[proxy]');
  const c = await startProxyCluster({
    workers: proxyConfig.workers,
    gateway: { config, proxyOverride: () => proxyConfig, stateDir: resolve(String(flags['state_dir'])), tickMs: Number(flags['tick']), log },
    log,
  }).catch((err: unknown) => {
    held();
    throw portError('proxy', err, PROXY_PORT_FLAGS, []) ?? err;
  });
  if (c.restUrl) console.log(`[proxy] REST ${c.restUrl} → ${proxyConfig.rest!.upstream}`);
  if (c.grpcAddress) console.log(`[proxy] gRPC ${c.grpcAddress} → ${proxyConfig.grpc!.upstream}`);
  console.log(`[proxy] admin ${c.gateway.proxy.adminUrl} (/metrics, /healthz, /status, /api/v1/slos, /api/v1/drift, /api/v1/rollouts)`);
  return exitOnSignal('[proxy]', proxyConfig.timeouts.drainMs / 1000, () => c.drain(), () => c.close(), held());
}
