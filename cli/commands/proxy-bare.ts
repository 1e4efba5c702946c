// `modelgate proxy`: the transparent proxy on its own. Reads the `proxy:` section of
// modelgate.yaml (`--config`), and flags override the listeners and upstreams, so it also
// runs from flags alone: `modelgate proxy --upstream_rest http://127.0.0.1:8601`.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { helpText, parseArgs } from '../args.ts';
import type { FlagSpec } from '../args.ts';
import { ConfigError, Issues, formatIssues } from '../../common/index.ts';
import { exitOnSignal, holdSignals, portError } from '../lifecycle.ts';
import { readProxyConfig } from '../../proxy/config.ts';
import type { ProxyConfig } from '../../proxy/config.ts';
import { createProxy } from '../../proxy/proxy.ts';

export const PROXY_FLAGS: readonly FlagSpec[] = [
  { name: 'config', type: 'string', help: 'modelgate.yaml; its proxy: section (and the SLO latency thresholds, as histogram buckets)' },
  { name: 'host', type: 'string', help: 'address the REST and gRPC listeners bind' },
  { name: 'rest_port', type: 'number', help: 'REST listen port (TF Serving uses 8501)' },
  { name: 'grpc_port', type: 'number', help: 'gRPC listen port (TF Serving uses 8500)' },
  { name: 'admin_host', type: 'string', help: 'admin API address (loopback unless you set a token)' },
  { name: 'admin_port', type: 'number', help: 'admin API port: /metrics, /healthz, /api/v1/...' },
  { name: 'upstream_rest', type: 'string', help: 'upstream REST base URL, e.g. http://127.0.0.1:8601' },
  { name: 'upstream_grpc', type: 'string', help: 'upstream gRPC host:port (plaintext), e.g. 127.0.0.1:8600' },
  { name: 'drain_timeout', type: 'duration', allowZero: true, aliases: [{ name: 'drain_timeout_seconds', unit: 's' }], help: 'on SIGTERM/SIGINT, how long in-flight requests may take before exit; 0 cuts them at once (proxy.timeouts.drain, default 30s)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

/** The proxy's listeners (ListenError#listener) and the flags that move them. */
export const PROXY_PORT_FLAGS = { rest: 'rest_port', grpc: 'grpc_port', admin: 'admin_port' } as const;

type Flags = Record<string, string | number | boolean | undefined>;

/** The raw proxy section with the flags applied on top, validated once. */
export function proxyConfigFrom(rawSection: Record<string, unknown>, flags: Flags, issues: Issues): ProxyConfig {
  const raw: Record<string, unknown> = { ...rawSection };
  const listener = (key: 'rest' | 'grpc', upstream: unknown, port: unknown) => {
    const cur = raw[key] as Record<string, unknown> | undefined;
    if (cur === undefined && upstream === undefined) return; // this protocol is not forwarded
    raw[key] = {
      ...cur,
      ...(upstream !== undefined ? { upstream } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(flags['host'] !== undefined ? { host: flags['host'] } : {}),
    };
  };
  listener('rest', flags['upstream_rest'], flags['rest_port']);
  listener('grpc', flags['upstream_grpc'], flags['grpc_port']);
  if (flags['admin_host'] !== undefined || flags['admin_port'] !== undefined) {
    raw['admin'] = {
      ...(raw['admin'] as Record<string, unknown> | undefined),
      ...(flags['admin_host'] !== undefined ? { host: flags['admin_host'] } : {}),
      ...(flags['admin_port'] !== undefined ? { port: flags['admin_port'] } : {}),
    };
  }
  const drain = flags['drain_timeout'];
  if (drain !== undefined) {
    if (typeof drain !== 'number' || !Number.isFinite(drain) || drain < 0) issues.error('--drain_timeout', `must be a duration such as "30s", or 0 to cut at once, got ${JSON.stringify(drain)}`);
    else raw['timeouts'] = { ...(raw['timeouts'] as Record<string, unknown> | undefined), drain: `${drain}ms` };
  }
  return readProxyConfig(raw, 'proxy', issues);
}

async function rawFromFile(path: string): Promise<{ section: Record<string, unknown>; thresholds: number[] }> {
  // The whole file is validated by the config loader (every section, with line numbers);
  // the proxy section is then re-read from the raw YAML so flags can override it.
  const { loadConfig } = await import('../../config/index.ts');
  const config = loadConfig(path);
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
  const section = (doc?.['proxy'] as Record<string, unknown> | undefined) ?? {};
  const thresholds = (config.slos as ReadonlyArray<{ sli: { kind: string; thresholdSeconds?: number } }>)
    .flatMap((s) => (s.sli.kind === 'latency' && s.sli.thresholdSeconds !== undefined ? [s.sli.thresholdSeconds] : []));
  return { section, thresholds };
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, PROXY_FLAGS);
  if (flags['help']) {
    console.log(helpText('usage: modelgate proxy [--config modelgate.yaml] [--upstream_rest URL] [--upstream_grpc HOST:PORT] [flags]', PROXY_FLAGS));
    return 0;
  }
  const file = typeof flags['config'] === 'string' ? await rawFromFile(flags['config']) : { section: {}, thresholds: [] };
  const issues = new Issues();
  const config = proxyConfigFrom(file.section, flags, issues);
  const source = typeof flags['config'] === 'string' ? flags['config'] : 'flags';
  if (!issues.ok) throw new ConfigError(source, issues.list);
  if (issues.warnings.length) console.warn(formatIssues(source, issues.warnings));

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'modelgate_proxy_' });
  const held = holdSignals('[proxy]');
  const proxy = await createProxy({ config, registry, latencyThresholdsSeconds: file.thresholds }).catch((err: unknown) => {
    held();
    throw portError('proxy', err, PROXY_PORT_FLAGS, []) ?? err;
  });
  if (proxy.restUrl) console.log(`[proxy] REST ${proxy.restUrl} → ${config.rest!.upstream}`);
  if (proxy.grpcAddress) console.log(`[proxy] gRPC ${proxy.grpcAddress} → ${config.grpc!.upstream}`);
  console.log(`[proxy] admin ${proxy.adminUrl} (/metrics, /healthz, /api/v1/models/{m}/split)`);
  return exitOnSignal('[proxy]', config.timeouts.drainMs / 1000, () => proxy.drain(), () => proxy.close(), held());
}
