// Generates deploy/kubernetes/*.yaml from the project's own sources, so the manifests can
// not drift from the code: the PrometheusRule holds the rules in alerts/, the dashboards
// ConfigMap holds dashboards/generated/*.json, and ports and flags come from one table.
//   node --import tsx deploy/build.ts          # writes
//   node --import tsx deploy/build.ts --check  # exits 1 if a committed file is stale
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'deploy', 'kubernetes');

/** Every port the pod uses, named once: probes, Services and ServiceMonitors refer to the names. */
export const PORTS = {
  proxyRest: { name: 'http', port: 8501 },
  proxyGrpc: { name: 'grpc', port: 8500 },
  proxyAdmin: { name: 'admin', port: 9090 },
  serverRest: { name: 'server-http', port: 8601 },
  serverGrpc: { name: 'server-grpc', port: 8600 },
} as const;

const APP = 'modelgate';
const IMAGE = 'modelgate:0.1.0';
const labels = { 'app.kubernetes.io/name': APP };

export const SERVER_ARGS = [
  'serve',
  '--model_config_file', '/etc/modelgate/models.yaml',
  '--rest_api_port', String(PORTS.serverRest.port),
  '--port', String(PORTS.serverGrpc.port),
  '--host', '127.0.0.1',
];
export const PROXY_ARGS = [
  'proxy',
  '--config', '/etc/modelgate/modelgate.yaml',
  '--host', '0.0.0.0',
  '--rest_port', String(PORTS.proxyRest.port),
  '--grpc_port', String(PORTS.proxyGrpc.port),
  '--admin_host', '0.0.0.0',
  '--admin_port', String(PORTS.proxyAdmin.port),
  '--upstream_rest', `http://127.0.0.1:${PORTS.serverRest.port}`,
  '--upstream_grpc', `127.0.0.1:${PORTS.serverGrpc.port}`,
  '--state_dir', '/var/lib/modelgate',
];

function deployment() {
  const port = (p: { name: string; port: number }) => ({ name: p.name, containerPort: p.port });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: APP, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          // Long enough for the preStop pause plus the server's drain (--drain_timeout_seconds 30).
          terminationGracePeriodSeconds: 45,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
          containers: [
            {
              name: 'server',
              image: IMAGE,
              args: SERVER_ARGS,
              // The server has the serve default health path on its REST port.
              env: [{ name: 'MODELGATE_HEALTH_PORT', value: String(PORTS.serverRest.port) }],
              ports: [port(PORTS.serverRest), port(PORTS.serverGrpc)],
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: PORTS.serverRest.name }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/v2/health/live', port: PORTS.serverRest.name }, periodSeconds: 10, failureThreshold: 6 },
              startupProbe: { httpGet: { path: '/v2/health/ready', port: PORTS.serverRest.name }, periodSeconds: 2, failureThreshold: 150 },
              // Endpoints are removed asynchronously: keep serving a few seconds before SIGTERM drains.
              lifecycle: { preStop: { exec: { command: ['node', '-e', 'setTimeout(()=>{},5000)'] } } },
              resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '4Gi' } },
              volumeMounts: [{ name: 'config', mountPath: '/etc/modelgate' }, { name: 'models', mountPath: '/models' }],
            },
            {
              name: 'proxy',
              image: IMAGE,
              args: PROXY_ARGS,
              env: [
                { name: 'MODELGATE_HEALTH_PORT', value: String(PORTS.proxyAdmin.port) },
                { name: 'MODELGATE_HEALTH_PATH', value: '/healthz' },
                { name: 'MODELGATE_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: `${APP}-admin`, key: 'token' } } },
              ],
              ports: [port(PORTS.proxyRest), port(PORTS.proxyGrpc), port(PORTS.proxyAdmin)],
              readinessProbe: { httpGet: { path: '/healthz', port: PORTS.proxyAdmin.name }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: PORTS.proxyAdmin.name }, periodSeconds: 10 },
              lifecycle: { preStop: { exec: { command: ['node', '-e', 'setTimeout(()=>{},5000)'] } } },
              resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              volumeMounts: [{ name: 'config', mountPath: '/etc/modelgate' }, { name: 'state', mountPath: '/var/lib/modelgate' }],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: `${APP}-config` } },
            { name: 'models', persistentVolumeClaim: { claimName: `${APP}-models` } },
            { name: 'state', emptyDir: {} },
          ],
        },
      },
    },
  };
}

function services() {
  const sp = (p: { name: string; port: number }) => ({ name: p.name, port: p.port, targetPort: p.name });
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: APP, labels }, spec: { selector: labels, ports: [sp(PORTS.proxyRest), sp(PORTS.proxyGrpc)] } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${APP}-metrics`, labels: { ...labels, 'modelgate.io/metrics': 'true' } },
      spec: { selector: labels, ports: [sp(PORTS.proxyAdmin), sp(PORTS.serverRest)] },
    },
  ];
}

function serviceMonitor() {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: APP, labels },
    spec: {
      selector: { matchLabels: { ...labels, 'modelgate.io/metrics': 'true' } },
      endpoints: [
        { port: PORTS.proxyAdmin.name, path: '/metrics', interval: '15s' },
        { port: PORTS.serverRest.name, path: '/metrics', interval: '15s' },
      ],
    },
  };
}

async function prometheusRule() {
  const rules = parse(await readFile(join(ROOT, 'alerts', 'modelgate-rules.yaml'), 'utf8')) as { groups: unknown[] };
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: APP, labels }, spec: { groups: rules.groups } };
}

async function dashboardsConfigMap() {
  const dir = join(ROOT, 'dashboards', 'generated');
  const data: Record<string, string> = {};
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.json')).sort()) data[`modelgate-${f}`] = await readFile(join(dir, f), 'utf8');
  // Grafana's dashboard sidecar picks up ConfigMaps with this label (grafana helm chart default).
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${APP}-dashboards`, labels: { ...labels, grafana_dashboard: '1' } }, data };
}

async function configMap() {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${APP}-config`, labels },
    data: {
      'modelgate.yaml': await readFile(join(ROOT, 'examples', 'modelgate.yaml'), 'utf8'),
      'models.yaml': (await readFile(join(ROOT, 'examples', 'models.yaml'), 'utf8')).replace(/base_path: models\//g, 'base_path: /models/'),
    },
  };
}

const HEADER = '# Generated by `node --import tsx deploy/build.ts` from the repository; do not edit by hand.\n';

export async function manifests(): Promise<Map<string, string>> {
  const docs = (list: unknown[]) => HEADER + list.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
  return new Map([
    ['modelgate.yaml', docs([await configMap(), deployment(), ...services()])],
    ['monitoring.yaml', docs([serviceMonitor(), await prometheusRule()])],
    ['dashboards.yaml', docs([await dashboardsConfigMap()])],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, text] of await manifests()) {
    const path = join(OUT, name);
    if (check) {
      const cur = await readFile(path, 'utf8').catch(() => '');
      if (cur !== text) {
        console.error(`stale: deploy/kubernetes/${name} (run: node --import tsx deploy/build.ts)`);
        stale++;
      }
    } else {
      await writeFile(path, text);
      console.log(`wrote deploy/kubernetes/${name}`);
    }
  }
  if (stale) process.exitCode = 1;
}
