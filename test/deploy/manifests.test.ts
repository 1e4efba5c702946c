import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { manifests, PORTS, PROXY_ARGS, SERVER_ARGS } from '../../deploy/build.ts';
import { SERVE_FLAGS } from '../../server/index.ts';
import { GATEWAY_PROXY_FLAGS } from '../../cli/commands/proxy.ts';
import { PROXY_METRIC, SERVER_METRIC, SLO_METRIC, DRIFT_METRIC, ROLLOUT_METRIC } from '../../common/conventions.ts';
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
  const names = new Set<string>([PROXY_METRIC, SERVER_METRIC, SLO_METRIC, DRIFT_METRIC, ROLLOUT_METRIC].flatMap((m) => Object.values(m)));
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
