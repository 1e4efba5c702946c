// The generated pod, run as the kubelet would run it: each container's exact command line
// (the Dockerfile's ENTRYPOINT + the manifest's args) and env, with the volumes "mounted"
// by mapping their mount paths to temporary directories, and the ports the manifest names
// mapped to free ports. Probes and scrapes then come where the kubelet and Prometheus come
// from: a non-loopback address of this machine (the pod IP's stand-in). The proxy runs its
// leader election against a fake API server with a service account directory, as in a pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { manifests, IMAGE_ROOT } from '../../deploy/build.ts';
import { EXAMPLES } from '../helpers/repo.ts';
import { FakeKubeApi } from '../fleet/fake-kube-api.ts';

const ROOT = join(EXAMPLES, '..', '..');
const POD_NAME = 'modelgate-7d9c5b8f6-x2x4q';

/** The first non-loopback IPv4 address (what a pod IP is to the kubelet), or undefined. */
function podAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor200(url: string, child: ChildProcess, output: () => string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${url} answered:\n${output()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String((e as { cause?: { code?: string } }).cause?.code ?? e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}: no 200 within ${ms} ms (last: ${last})\n${output()}`);
}

test('each container, started with its exact command line from the manifest, answers its probes and scrapes on a non-loopback address; the proxy leads through the Lease and releases it on SIGTERM', { timeout: 180_000 }, async (t) => {
  const ip = podAddress();
  if (!ip) {
    // Loud: this is the test that proves the pod would become Ready.
    console.error('SKIPPED: this machine has no non-loopback IPv4 address; the container probe test cannot run here');
    t.skip('no non-loopback IPv4 address on this machine');
    return;
  }
  const docs = parseAllDocuments((await manifests()).get('modelgate.yaml')!).map((d) => d.toJS() as any);
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'modelgate-config');
  const dep = docs.find((d) => d.kind === 'Deployment');
  const monitor = parseAllDocuments((await manifests()).get('monitoring.yaml')!).map((d) => d.toJS() as any).find((d) => d.kind === 'ServiceMonitor');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8'))![1]!) as string[];
  const podSpec = dep.spec.template.spec;

  const tmp = await mkdtemp(join(tmpdir(), 'modelgate-pod-'));
  const api = await FakeKubeApi.start(['pod-token']);
  const children: ChildProcess[] = [];
  try {
    // Volumes: the ConfigMap's keys as files, the models from the repository, an empty state dir.
    const volumeDirs = new Map<string, string>();
    for (const v of podSpec.volumes) {
      const dir = join(tmp, 'volumes', v.name);
      await mkdir(dir, { recursive: true });
      if (v.configMap) {
        assert.equal(v.configMap.name, cm.metadata.name);
        for (const [key, text] of Object.entries<string>(cm.data)) {
          // The image's paths in the config point into the repository (the image's /app).
          await writeFile(join(dir, key), text.replaceAll(`${IMAGE_ROOT}/`, `${ROOT}/`).replace(/base_path: \/models\//g, `base_path: ${EXAMPLES}/`));
        }
      }
      volumeDirs.set(v.name, v.name === 'models' ? EXAMPLES : dir);
    }
    const sa = await api.serviceAccountDir('pod-token', 'ml');
    // Every named container port gets a free port here; args that name the port follow it.
    const portMap = new Map<number, number>();
    const portByName = new Map<string, number>();
    for (const c of podSpec.containers) {
      for (const p of c.ports) {
        const free = await freePort();
        portMap.set(p.containerPort, free);
        portByName.set(p.name, free);
      }
    }
    const rewrite = (arg: string, mounts: Array<{ name: string; mountPath: string }>) => {
      let a = arg;
      for (const m of mounts) if (a === m.mountPath || a.startsWith(`${m.mountPath}/`)) a = volumeDirs.get(m.name)! + a.slice(m.mountPath.length);
      for (const [from, to] of portMap) a = a.replace(new RegExp(`(^|:)${from}$`), `$1${to}`);
      return a;
    };

    const outputs = new Map<string, string[]>();
    const start = (c: any) => {
      const env: Record<string, string> = {
        PATH: process.env['PATH'] ?? '',
        HOME: tmp,
        HOSTNAME: POD_NAME,
        // What the kubelet puts in every pod's environment, and the service account mount.
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(api.port),
        MODELGATE_SERVICEACCOUNT_DIR: sa.dir,
      };
      for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.secretKeyRef) env[e.name] = 'test-admin-token';
      }
      const args = (c.args as string[]).map((a) => rewrite(a, c.volumeMounts));
      const child = spawn(entrypoint[0]!, [...entrypoint.slice(1), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: string[] = [];
      outputs.set(c.name, out);
      child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
      child.stderr!.on('data', (b: Buffer) => out.push(b.toString()));
      children.push(child);
      return { child, output: () => `--- ${c.name} ---\n${out.join('').slice(-4000)}` };
    };

    const running = new Map<string, ReturnType<typeof start>>();
    for (const c of podSpec.containers) running.set(c.name, start(c));

    // The kubelet's probes, through the pod's address.
    for (const c of podSpec.containers) {
      const { child, output } = running.get(c.name)!;
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const g = c[probe]?.httpGet;
        if (!g) continue;
        await waitFor200(`http://${ip}:${portByName.get(g.port)}${g.path}`, child, output);
      }
    }
    // Prometheus' scrapes (the ServiceMonitor's endpoints), through the pod's address.
    for (const e of monitor.spec.endpoints) {
      const r: Response = await fetch(`http://${ip}:${portByName.get(e.port)}${e.path}`);
      assert.equal(r.status, 200, `scrape ${e.port}${e.path}`);
      assert.match(await r.text(), /^modelgate_/m, `scrape ${e.port}${e.path} has modelgate metrics`);
    }
    // Clients reach the proxy's Service port, and the proxy reaches the server in the pod.
    const model = await fetch(`http://${ip}:${portByName.get('http')}/v1/models/half_plus_two`);
    assert.equal(model.status, 200, await model.text());

    // The proxy holds the Lease under the pod's name, and gives it up on SIGTERM.
    const lease = () => api.lease('modelgate-leader', 'ml')?.spec['holderIdentity'];
    const deadline = Date.now() + 10_000;
    while (lease() !== POD_NAME && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(lease(), POD_NAME, running.get('proxy')!.output());
    const proxy = running.get('proxy')!.child;
    const exited = new Promise<number | null>((r) => proxy.once('exit', (code) => r(code)));
    proxy.kill('SIGTERM');
    assert.equal(await exited, 0, running.get('proxy')!.output());
    assert.equal(lease(), '', 'released on SIGTERM: the other replica takes over at its next retry');
    await sa.remove();
  } finally {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([gone, new Promise<void>((r) => { timer = setTimeout(r, 15_000); })]);
        clearTimeout(timer);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    await api.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
