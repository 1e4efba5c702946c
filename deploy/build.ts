// Generates deploy/kubernetes/*.yaml from the project's own sources, so the manifests can
// not drift from the code: the PrometheusRule holds the rules in alerts/, the dashboards
// ConfigMap holds dashboards/generated/*.json, and ports and flags come from one table.
//   node --import tsx deploy/build.ts          # writes
//   node --import tsx deploy/build.ts --check  # exits 1 if a committed file is stale
//
// The layout is fleet mode (docs/fleet.md): two replicas, each a pod with the model server
// and the proxy; SLO counts from Prometheus (every replica reaches the same verdict), one
// replica acting, chosen by a coordination.k8s.io/v1 Lease (its service account may get,
// create and update that Lease, nothing else), followers copying the leader's split from
// the rollout state on a ReadWriteMany volume. The objects are typed with the Kubernetes
// OpenAPI types (kubernetes-models), so `tsc` refuses a misspelt field, and the tests
// validate every generated object against the schemas.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';

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
/** Where the image keeps the repository (deploy/Dockerfile WORKDIR). */
export const IMAGE_ROOT = '/app';

/**
 * Services in the cluster the ConfigMap's modelgate.yaml points at: the Prometheus and
 * Alertmanager that the prometheus-operator (kube-prometheus-stack) runs in namespace
 * `monitoring` (its governing Services are called prometheus-operated and
 * alertmanager-operated). Change them here if yours live elsewhere.
 */
export const CLUSTER = {
  prometheusUrl: 'http://prometheus-operated.monitoring.svc:9090',
  alertmanagerUrl: 'http://alertmanager-operated.monitoring.svc:9093',
  leaseName: `${APP}-leader`,
} as const;

export const SERVER_ARGS = [
  'serve',
  '--model_config_file', '/etc/modelgate/models.yaml',
  '--rest_api_port', String(PORTS.serverRest.port),
  '--port', String(PORTS.serverGrpc.port),
  // Not 127.0.0.1: the kubelet's probes and Prometheus' scrapes come to the pod IP.
  '--host', '0.0.0.0',
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

function deployment(): IDeployment {
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
          // Long enough for the preStop pause plus the server's drain (--drain_timeout 30s).
          terminationGracePeriodSeconds: 45,
          // The proxy reads and writes the leader Lease with this account's token (RBAC below).
          serviceAccountName: APP,
          automountServiceAccountToken: true,
          // One replica per node where the cluster allows it: a node failure takes one replica
          // (and, if it led, the Lease moves within its duration), not both.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labels } }],
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
            // Rollout state and audit log: the leader writes, the followers copy its split.
            { name: 'state', persistentVolumeClaim: { claimName: `${APP}-state` } },
          ],
        },
      },
    },
  };
}

/** Voluntary disruptions (node drains) take one replica at a time. */
function disruptionBudget(): IPodDisruptionBudget {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: APP, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } };
}

function services(): IService[] {
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

/** The proxy's identity for the Lease: get and update only that Lease, create it once. */
function rbac(): [IServiceAccount, IRole, IRoleBinding] {
  const role = `${APP}-leader-election`;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: APP, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: role, labels },
      rules: [
        // create cannot be limited by name (the object does not exist yet when it is checked).
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [CLUSTER.leaseName], verbs: ['get', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: role, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects: [{ kind: 'ServiceAccount', name: APP }],
    },
  ];
}

/** Models (read by every replica) and the rollout state (written by the leader, read by all). */
function volumeClaims(): IPersistentVolumeClaim[] {
  const claim = (name: string, size: string): IPersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: size } } },
  });
  return [claim(`${APP}-models`, '10Gi'), claim(`${APP}-state`, '1Gi')];
}

function serviceMonitor(): IServiceMonitor {
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

async function prometheusRule(): Promise<IPrometheusRule> {
  const rules = parse(await readFile(join(ROOT, 'alerts', 'modelgate-rules.yaml'), 'utf8')) as { groups: unknown[] };
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: APP, labels }, spec: { groups: rules.groups as NonNullable<IPrometheusRule['spec']['groups']> } };
}

async function dashboardsConfigMap(): Promise<IConfigMap> {
  const dir = join(ROOT, 'dashboards', 'generated');
  const data: Record<string, string> = {};
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.json')).sort()) data[`modelgate-${f}`] = await readFile(join(dir, f), 'utf8');
  // Grafana's dashboard sidecar picks up ConfigMaps with this label (grafana helm chart default).
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${APP}-dashboards`, labels: { ...labels, grafana_dashboard: '1' } }, data };
}

/**
 * examples/modelgate.yaml as the pods run it: fleet mode (SLO counts from Prometheus, the
 * Lease decides who acts), notifications to the cluster's Alertmanager instead of the
 * example's loopback receivers, and the baselines where the image has them.
 */
export async function clusterModelgateYaml(): Promise<string> {
  let text = await readFile(join(ROOT, 'examples', 'modelgate.yaml'), 'utf8');
  const replace = (re: RegExp, by: string, what: string) => {
    if (!re.test(text)) throw new Error(`deploy/build.ts: examples/modelgate.yaml has no ${what} any more; update clusterModelgateYaml`);
    text = text.replace(re, by);
  };
  // The example's receivers are on loopback, which is nothing inside a pod: the top-level
  // notify: block (its indented and blank lines) is replaced by the cluster's below.
  replace(/^notify:\n(?:(?:[ \t]+.*)?\n)*?(?=\S)/m, '', 'top-level notify: section');
  replace(/^(\s+baselineDir:).*$/m, `$1 ${IMAGE_ROOT}/examples/baselines   # where the image has them`, 'drift.baselineDir');
  for (const key of ['sloSource', 'leader']) if (new RegExp(`^${key}:`, 'm').test(text)) throw new Error(`deploy/build.ts: examples/modelgate.yaml sets ${key}: itself; merge it in clusterModelgateYaml`);
  const section = (comment: string, value: object) => `\n${comment.replace(/^/gm, '# ')}\n${stringify(value, { lineWidth: 0 })}`;
  return `${text.trimEnd()}\n${section(
    'In the cluster (deploy/build.ts): both targets go to the cluster\'s Alertmanager, whose routes\npage or open tickets. Only the replica holding the lease sends; Alertmanager deduplicates too.',
    { notify: [{ name: 'oncall', alertmanager: CLUSTER.alertmanagerUrl }, { name: 'alertmanager', alertmanager: CLUSTER.alertmanagerUrl, timeout: '5s' }] },
  )}${section(
    'Fleet mode (docs/fleet.md): every replica reads the fleet-wide counts from Prometheus,\nwhich scrapes all of them (the ServiceMonitor in monitoring.yaml) ...',
    { sloSource: { prometheus: { url: CLUSTER.prometheusUrl, timeout: '5s' } } },
  )}${section(
    '... and one replica acts on the verdicts (rollouts, notifications): the holder of this\ncoordination.k8s.io/v1 Lease (identity: the pod name; client-go\'s timings). The others\ncopy its traffic split from the rollout state on the shared volume.',
    { leader: { mode: 'lease', lease: { kubernetes: { name: CLUSTER.leaseName }, ttl: '15s', renewDeadline: '10s', retryPeriod: '2s' } } },
  )}`;
}

async function configMap(): Promise<IConfigMap> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${APP}-config`, labels },
    data: {
      'modelgate.yaml': await clusterModelgateYaml(),
      'models.yaml': (await readFile(join(ROOT, 'examples', 'models.yaml'), 'utf8')).replace(/base_path: models\//g, 'base_path: /models/'),
    },
  };
}

const HEADER = '# Generated by `node --import tsx deploy/build.ts` from the repository; do not edit by hand.\n';
/** The one object the manifests refer to but do not contain: the admin API's bearer token. */
export const SECRET_STEP = `kubectl create secret generic ${APP}-admin --from-literal=token="$(openssl rand -hex 32)"`;
const APP_HEADER = `${HEADER}# Before applying, create the admin API token (docs/operations.md, "Kubernetes"):
#   ${SECRET_STEP}
# The PersistentVolumeClaims need a storage class with ReadWriteMany (NFS, CephFS, EFS, ...):
# every replica reads the models and the leader's rollout state.
`;

export async function manifests(): Promise<Map<string, string>> {
  const docs = (list: unknown[], header = HEADER) => header + list.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
  return new Map([
    ['modelgate.yaml', docs([await configMap(), ...rbac(), ...volumeClaims(), deployment(), disruptionBudget(), ...services()], APP_HEADER)],
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
