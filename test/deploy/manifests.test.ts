import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CLUSTER, manifests, PORTS, PROXY_ARGS, SECRET_STEP, SERVER_ARGS } from '../../deploy/build.ts';
import { ConfigMap, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parseConfig } from '../../config/index.ts';
import { readModels } from '../../server/config.ts';
import { Issues } from '../../common/index.ts';
import { SERVE_FLAGS } from '../../server/index.ts';
import { GATEWAY_PROXY_FLAGS } from '../../cli/commands/proxy.ts';
import { METRIC_GROUPS } from '../../common/conventions.ts';
import { EXAMPLES } from '../helpers/repo.ts';

const ROOT = join(EXAMPLES, '..', '..');
const docsOf = (text: string) => parseAllDocuments(text).map((d) => {
  assert.equal(d.errors.length, 0, String(d.errors[0]));
  return d.toJS() as any;
});

test('the committed Kubernetes manifests are what deploy/build.ts generates (run it if not)', async () => {
  for (const [name, text] of await manifests()) {
    assert.equal(readFileSync(join(ROOT, 'deploy', 'kubernetes', name), 'utf8'), text, `deploy/kubernetes/${name} is stale`);
  }
});

test('probes, Services and ServiceMonitors refer only to ports the containers declare', async () => {
  const all = [...(await manifests()).values()].flatMap(docsOf);
  const dep = all.find((d) => d.kind === 'Deployment');
  const containerPorts = new Set<string>();
  for (const c of dep.spec.template.spec.containers) {
    const mine = new Set(c.ports.map((p: any) => p.name));
    for (const p of c.ports) containerPorts.add(p.name);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      if (c[probe]) assert.ok(mine.has(c[probe].httpGet.port), `${c.name}.${probe} uses port ${c[probe].httpGet.port}`);
    }
  }
  const services = all.filter((d) => d.kind === 'Service');
  for (const s of services) for (const p of s.spec.ports) assert.ok(containerPorts.has(p.targetPort), `Service ${s.metadata.name} → ${p.targetPort}`);
  const sm = all.find((d) => d.kind === 'ServiceMonitor');
  const metricsSvc = services.find((s) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v));
  assert.ok(metricsSvc, 'the ServiceMonitor selects a Service');
  const svcPorts = new Set(metricsSvc.spec.ports.map((p: any) => p.name));
  for (const e of sm.spec.endpoints) assert.ok(svcPorts.has(e.port), `ServiceMonitor endpoint ${e.port}`);
  // Ports in container args match the named ports.
  assert.ok(SERVER_ARGS.includes(String(PORTS.serverRest.port)) && PROXY_ARGS.includes(`http://127.0.0.1:${PORTS.serverRest.port}`));
});

test('container args use only flags the commands define', () => {
  const known = (flags: readonly { name: string }[]) => new Set(flags.map((f) => f.name));
  const check = (args: string[], flags: Set<string>, cmd: string) => {
    for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(flags.has(a.slice(2).replace(/-/g, '_')), `${cmd} has no flag ${a}`);
  };
  check(SERVER_ARGS, known(SERVE_FLAGS), 'serve');
  check(PROXY_ARGS, known(GATEWAY_PROXY_FLAGS), 'proxy');
});

test('every metric the PrometheusRule and dashboards query is one modelgate exports', async () => {
  const names = new Set<string>(METRIC_GROUPS.flatMap((m) => Object.values(m)));
  const text = [...(await manifests()).values()].join('\n');
  const used = new Set([...text.matchAll(/\b(modelgate_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, '')));
  for (const u of used) {
    if (u.startsWith('modelgate_proxy_') || u.startsWith('modelgate_server_process') || u.startsWith('modelgate_server_nodejs')) continue; // default process metrics
    assert.ok(names.has(u), `${u} is not a metric in common/conventions.ts`);
  }
});

test('the Dockerfile copies folders that exist and exposes the proxy ports', () => {
  const df = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  for (const m of df.matchAll(/^COPY (?!--from)(\S+) /gm)) {
    for (const src of m[1]!.split(' ')) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}`);
  }
  assert.match(df, /^USER node$/m);
  assert.match(df, /^HEALTHCHECK /m);
  for (const p of [PORTS.proxyRest.port, PORTS.proxyGrpc.port, PORTS.proxyAdmin.port]) assert.match(df, new RegExp(`EXPOSE .*\\b${p}\\b`));
});

/** The OpenAPI schema of each kind the manifests use (kubernetes-models, generated from Kubernetes' OpenAPI spec and the prometheus-operator CRDs). */
const SCHEMAS: Record<string, { validate(): void } & (new (data: any) => { validate(): void })> = {
  'v1/ConfigMap': ConfigMap as any,
  'v1/Service': Service as any,
  'v1/ServiceAccount': ServiceAccount as any,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as any,
  'apps/v1/Deployment': Deployment as any,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as any,
  'rbac.authorization.k8s.io/v1/Role': Role as any,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as any,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as any,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as any,
};

test('every generated manifest validates against the Kubernetes OpenAPI schema of its kind', async () => {
  let n = 0;
  for (const [file, text] of await manifests()) {
    for (const doc of docsOf(text)) {
      const Kind = SCHEMAS[`${doc.apiVersion}/${doc.kind}`];
      assert.ok(Kind, `${file}: no schema for ${doc.apiVersion} ${doc.kind}; add it to SCHEMAS`);
      assert.doesNotThrow(() => new Kind(doc).validate(), `${file}: ${doc.kind} ${doc.metadata?.name}`);
      n++;
    }
  }
  assert.ok(n >= 10, `${n} objects`);
  // The check bites: a wrong type or a missing required field is refused.
  const dep = docsOf((await manifests()).get('modelgate.yaml')!).find((d) => d.kind === 'Deployment');
  dep.spec.template.spec.containers[0].ports[0].containerPort = '8601x';
  assert.throws(() => new Deployment(dep).validate(), /containerPort must be integer/);
  delete dep.spec.selector;
  assert.throws(() => new Deployment(dep).validate(), /selector/);
});

test('several replicas run in fleet mode: Prometheus counts, a Kubernetes Lease the service account may use, and a shared state volume for the followers', async () => {
  const all = docsOf((await manifests()).get('modelgate.yaml')!);
  const dep = all.find((d) => d.kind === 'Deployment');
  assert.ok(dep.spec.replicas > 1);
  const cm = all.find((d) => d.kind === 'ConfigMap');
  const parsed = parseConfig(cm.data['modelgate.yaml'], 'configmap/modelgate.yaml');
  assert.ok(parsed.config, parsed.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`).join('\n'));
  assert.equal(parsed.config.sloSource.kind, 'prometheus');
  assert.equal(parsed.config.leader.mode, 'lease');
  const lease = parsed.config.leader.mode === 'lease' ? parsed.config.leader.kubernetes : undefined;
  assert.equal(lease?.name, CLUSTER.leaseName);
  assert.deepEqual(parsed.config.warnings.filter((w) => w.path === 'leader'), [], 'no "every replica acts" warning');
  // RBAC: the pod's service account may get, create and update that Lease.
  const pod = dep.spec.template.spec;
  assert.equal(pod.automountServiceAccountToken, true);
  const binding = all.find((d) => d.kind === 'RoleBinding' && d.subjects.some((s: any) => s.kind === 'ServiceAccount' && s.name === pod.serviceAccountName));
  assert.ok(binding, `a RoleBinding for service account ${pod.serviceAccountName}`);
  assert.ok(all.some((d) => d.kind === 'ServiceAccount' && d.metadata.name === pod.serviceAccountName));
  const role = all.find((d) => d.kind === 'Role' && d.metadata.name === binding.roleRef.name);
  for (const verb of ['get', 'create', 'update']) {
    assert.ok(role.rules.some((r: any) => r.apiGroups.includes('coordination.k8s.io') && r.resources.includes('leases') && r.verbs.includes(verb) && (!r.resourceNames || r.resourceNames.includes(CLUSTER.leaseName))), `the Role allows ${verb} on the Lease`);
  }
  // The state directory the followers read the leader's split from is one volume for all replicas.
  const proxy = pod.containers.find((c: any) => c.name === 'proxy');
  const stateDir = PROXY_ARGS[PROXY_ARGS.indexOf('--state_dir') + 1];
  const mount = proxy.volumeMounts.find((m: any) => m.mountPath === stateDir);
  const volume = pod.volumes.find((v: any) => v.name === mount.name);
  assert.ok(volume.persistentVolumeClaim, 'state on a claim, not an emptyDir per pod');
  for (const v of pod.volumes.filter((x: any) => x.persistentVolumeClaim)) {
    const claim = all.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === v.persistentVolumeClaim.claimName);
    assert.ok(claim, `claim ${v.persistentVolumeClaim.claimName} is in the manifests`);
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany'], 'every replica mounts it');
  }
});

test('the ConfigMap holds what the pods need: notification targets and URLs that are not loopback, a models.yaml the server accepts', async () => {
  const cm = docsOf((await manifests()).get('modelgate.yaml')!).find((d) => d.kind === 'ConfigMap');
  const parsed = parseConfig(cm.data['modelgate.yaml'], 'configmap/modelgate.yaml');
  assert.ok(parsed.config);
  assert.ok(parsed.config.notify.length > 0);
  for (const text of Object.values<string>(cm.data)) assert.doesNotMatch(text, /https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/, 'a loopback URL in a pod points at nothing');
  const issues = new Issues();
  const models = readModels((parse(cm.data['models.yaml']) as any).models, 'models', issues, '/etc/modelgate');
  assert.deepEqual(issues.list, []);
  for (const m of models) assert.match(m.basePath, /^\/models\//, `${m.name} is read from the models volume`);
});

test('the one object the manifests need but do not contain, the admin Secret, has its creation command in the manifest header and in docs/operations.md', async () => {
  const text = (await manifests()).get('modelgate.yaml')!;
  const secrets = new Set<string>();
  for (const d of docsOf(text)) {
    if (d.kind !== 'Deployment') continue;
    for (const c of d.spec.template.spec.containers) for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) secrets.add(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
  }
  assert.deepEqual([...secrets], ['modelgate-admin/token']);
  assert.match(SECRET_STEP, /^kubectl create secret generic modelgate-admin --from-literal=token=/);
  assert.ok(text.startsWith('#') && text.split('\n').slice(0, 6).some((l) => l.includes(SECRET_STEP)), 'in the header');
  assert.ok(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8').includes(SECRET_STEP), 'in docs/operations.md');
});
