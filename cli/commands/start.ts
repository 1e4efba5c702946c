// `modelgate start` (what `npm start` runs): the inference server on a model config and the
// proxy in front of it, in one process, on the example models by default.
import { resolve } from 'node:path';
import { helpText, parseArgs, type FlagSpec } from '../args.ts';
import { loadConfig } from '../../config/index.ts';
import { startServer } from '../../server/index.ts';
import { limitOptions, readServerConfigFile } from '../../server/config.ts';
import { startGateway } from '../../app/gateway.ts';
import { exitOnSignal, holdSignals, portError } from '../lifecycle.ts';
import { PROXY_PORT_FLAGS } from './proxy-bare.ts';
import { managerLabels } from '../../rollout/index.ts';

export const START_FLAGS: FlagSpec[] = [
  { name: 'config', type: 'string', default: 'examples/modelgate.yaml', help: 'modelgate.yaml: SLOs, drift, rollouts, proxy settings' },
  { name: 'model_config_file', type: 'string', default: 'examples/models.yaml', help: 'the server model config (models, versions, labels, batching)' },
  { name: 'host', type: 'string', default: '127.0.0.1', help: 'address the proxy listens on (the server always listens on loopback)' },
  { name: 'rest_port', type: 'number', default: 8501, help: 'proxy REST port (clients use this, as with TF Serving)' },
  { name: 'grpc_port', type: 'number', default: 8500, help: 'proxy gRPC port' },
  { name: 'admin_port', type: 'number', default: 9090, help: 'admin port: /metrics, status page, /api/v1/...' },
  { name: 'server_rest_port', type: 'number', default: 8601, help: 'inference server REST port (behind the proxy)' },
  { name: 'server_grpc_port', type: 'number', default: 8600, help: 'inference server gRPC port (behind the proxy)' },
  { name: 'state_dir', type: 'string', default: '.modelgate-state', help: 'where rollout state and the audit log are kept' },
  { name: 'drain_timeout', type: 'duration', default: '30s', allowZero: true, aliases: [{ name: 'drain_timeout_seconds', unit: 's' }], help: 'on SIGTERM/SIGINT, how long in-flight requests may take, in the proxy and then in the server; 0 cuts them at once' },
  { name: 'tick', type: 'duration', default: '5s', aliases: [{ name: 'tick_ms', unit: 'ms' }], help: 'how often SLOs and drift are evaluated' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, START_FLAGS);
  if (flags.help) {
    console.log(helpText('usage: modelgate start [--config modelgate.yaml] [--model_config_file models.yaml] [flags]', START_FLAGS));
    return 0;
  }
  const config = loadConfig(resolve(String(flags.config)));
  if (config.proxy.workers > 1) console.warn(`[start] proxy.workers: ${config.proxy.workers} applies to \`modelgate proxy --config\`; \`modelgate start\` runs the proxy in its own process (one worker)`);
  const { models, limits } = await readServerConfigFile(resolve(String(flags.model_config_file)));
  console.log(`[start] loading ${models.length} models: ${models.map((m) => m.name).join(', ')}`);
  const drainMs = Number(flags.drain_timeout);
  const held = holdSignals('[start]');
  const server = await startServer({
    host: '127.0.0.1',
    restPort: Number(flags.server_rest_port),
    grpcPort: Number(flags.server_grpc_port),
    models,
    ...limitOptions(limits),
    processMetrics: true,
    drainTimeoutMs: drainMs,
    log: (m) => console.log(`[serve] ${m}`),
  }).catch((err: unknown) => {
    held();
    throw portError('start', err, {}, [[Number(flags.server_rest_port), 'server_rest_port'], [Number(flags.server_grpc_port), 'server_grpc_port']]) ?? err;
  });
  const grpcUpstream = (server as { grpcAddress?: string }).grpcAddress;
  const gateway = await startGateway({
    config,
    tickMs: Number(flags.tick),
    stateDir: resolve(String(flags.state_dir)),
    // Same process: promotions move the server's `stable` label directly.
    serverLabels: managerLabels(server.manager),
    log: (m) => console.log(`[proxy] ${m}`),
    proxyOverride: (p) => ({
      ...p,
      rest: { host: String(flags.host), port: Number(flags.rest_port), upstream: server.restUrl },
      grpc: grpcUpstream ? { host: String(flags.host), port: Number(flags.grpc_port), upstream: grpcUpstream } : undefined,
      admin: { ...p.admin, port: Number(flags.admin_port) },
      timeouts: { ...p.timeouts, drainMs },
    }),
  }).catch(async (err: unknown) => {
    // The server is up: close it, or its listeners and model timers keep the process alive.
    held();
    await server.close();
    throw portError('start', err, PROXY_PORT_FLAGS, []) ?? err;
  });
  const { proxy } = gateway;
  const lines = [
    '',
    'modelgate is running.',
    `  proxy REST   ${proxy.restUrl}   (TF Serving /v1 and KServe /v2, in front of the server)`,
    proxy.grpcAddress ? `  proxy gRPC   ${proxy.grpcAddress}` : '  proxy gRPC   off (the server has no gRPC port)',
    `  server REST  ${server.restUrl}   (direct, unmeasured by the proxy)`,
    `  metrics      ${proxy.adminUrl}/metrics (proxy)  ${server.restUrl}/metrics (server)`,
    `  SLOs         ${proxy.adminUrl}/api/v1/slos`,
    `  drift        ${proxy.adminUrl}/api/v1/drift`,
    `  rollouts     ${proxy.adminUrl}/api/v1/rollouts   (state in ${resolve(String(flags.state_dir))})`,
    `  status page  ${proxy.adminUrl}/status`,
    `  dashboards   dashboards/generated/*.json (import into Grafana; provisioning in dashboards/provisioning/)`,
    '',
    'Try:',
    `  curl -s -d '{"instances": [1.0, 2.0, 5.0]}' ${proxy.restUrl}/v1/models/half_plus_two:predict`,
    '',
    'Ctrl-C stops both.',
  ];
  console.log(lines.join('\n'));
  // The proxy drains first (its in-flight requests need the server), then the server.
  return exitOnSignal(
    '[start]',
    drainMs / 1000,
    async () => {
      await gateway.drain();
      await server.drain();
    },
    async () => {
      await gateway.close();
      await server.close();
    },
    held(),
  );
}
