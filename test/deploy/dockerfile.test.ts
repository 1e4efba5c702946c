// The image deploy/Dockerfile describes, assembled without a container engine: its final
// stage's COPY lines are applied to a temporary directory (from the build stage's tree: this
// checkout after `npm ci`, i.e. a build of the current sources in dist/ and the runtime
// dependencies), then its exact ENTRYPOINT + CMD runs there with node. What this proves:
// the image holds compiled JavaScript only, runs without TypeScript sources, tsx or the
// compiler (worker threads and the gRPC protos included), and its HEALTHCHECK passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from '../../scripts/build-stamp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
const DEV_TOOLS = ['tsx', 'typescript', 'esbuild', '@esbuild'];

interface Stage { from: string; name?: string; lines: string[] }

/** The Dockerfile's stages, continuation lines joined, comments dropped. */
function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const from = /^FROM (\S+)(?: AS (\S+))?$/i.exec(l);
    if (from) out.push({ from: from[1]!, ...(from[2] ? { name: from[2] } : {}), lines: [] });
    else out.at(-1)!.lines.push(l);
  }
  return out;
}

const json = (l: string, keyword: string) => JSON.parse(l.slice(keyword.length).trim()) as string[];

test('the image builds with the install the README shows: npm ci (which compiles through prepare), then dev tools pruned, no environment variables', () => {
  const [build, final] = stages(DOCKERFILE);
  assert.ok(build && final, 'two stages: build and runtime');
  const runs = build.lines.filter((l) => l.startsWith('RUN '));
  assert.deepEqual(runs.map((l) => l.split(' ').slice(0, 3).join(' ')), ['RUN npm ci', 'RUN npm prune']);
  assert.match(runs[1]!, /--omit=dev/);
  assert.equal(build.lines.filter((l) => l.startsWith('ENV ')).length, 0, 'the build installs with no environment variables');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.scripts.prepare, 'node scripts/build.js', 'npm ci compiles through prepare');
  assert.ok(pkg.devDependencies.tsx && !pkg.dependencies.tsx, 'tsx is a build tool, not a runtime dependency');
});

test('the image\'s exact ENTRYPOINT + CMD serves from compiled code only: REST, gRPC, a worker-thread model, and its HEALTHCHECK passes', { timeout: 300_000 }, async () => {
  const [build, final] = stages(DOCKERFILE);
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-image-'));
  try {
    // The build stage's /app: this checkout, with dist/ a build of the current sources.
    let dist = join(ROOT, 'dist');
    if (!buildIsCurrent(ROOT, dist)) {
      dist = join(dir, 'build', 'dist');
      const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js'), '--out', dist], { encoding: 'utf8', timeout: 240_000 });
      assert.ok(existsSync(join(dist, 'cli', 'main.js')), `build failed:\n${r.stdout}\n${r.stderr}`);
    }
    const buildStage = (p: string) => {
      const rel = p.replace(/^\/app\/?/, '');
      if (rel === 'dist' || rel.startsWith('dist/')) return join(dist, rel.slice(4));
      return join(ROOT, rel);
    };
    const app = join(dir, 'app');
    mkdirSync(app);
    let workdir = '/';
    for (const l of final!.lines) {
      const wd = /^WORKDIR (\S+)$/.exec(l);
      if (wd) workdir = wd[1]!;
      const m = /^COPY (--from=(\S+) )?(\S+) (\S+)$/.exec(l);
      if (!m) continue;
      assert.equal(m[2], build!.name, `${l}: copies from the build stage`);
      assert.equal(workdir, '/app');
      const [src, dst] = [m[3]!, join(app, m[4]!)];
      if (src === '/app/node_modules') {
        // The pruned node_modules: every package but the build tools.
        mkdirSync(dst);
        for (const e of readdirSync(join(ROOT, 'node_modules'))) {
          if (!DEV_TOOLS.includes(e) && e !== '.bin') symlinkSync(join(ROOT, 'node_modules', e), join(dst, e));
        }
        continue;
      }
      assert.ok(existsSync(buildStage(src)), `${l}: ${src} exists in the build stage`);
      mkdirSync(dirname(dst), { recursive: true });
      cpSync(buildStage(src), dst, { recursive: true });
    }
    const ts = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.name === 'node_modules' ? [] : e.isDirectory() ? ts(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []);
    assert.deepEqual(ts(app), [], 'no TypeScript in the image');

    const entry = json(final!.lines.find((l) => l.startsWith('ENTRYPOINT '))!, 'ENTRYPOINT');
    const cmd = json(final!.lines.find((l) => l.startsWith('CMD '))!, 'CMD');
    assert.equal(entry[0], 'node');
    // The model config the image expects mounted at /etc/modelgate: the example one (three
    // models, mlp on a worker thread); ports chosen by the system so the test never collides.
    const args = [...entry.slice(1), ...cmd.map((a) => (a === '/etc/modelgate/models.yaml' ? join(app, 'examples', 'models.yaml') : a)), '--rest_api_port', '0', '--port', '0', '--host', '127.0.0.1'];
    assert.ok(cmd.includes('/etc/modelgate/models.yaml'));
    const child = spawn(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      let url: string | undefined;
      // The two listeners are announced in two writes, which may arrive apart: wait for both.
      const announced = () => /gRPC listening on /.test(out) ? /REST listening on (http:\/\/[\d.:]+)/.exec(out)?.[1] : undefined;
      while (!(url = announced()) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(url, `no REST and gRPC listeners announced (the protos ship in dist/):\n${out}`);
      // The server listens before its models load (503 until then): wait until it is ready.
      const ready = async () => (await fetch(`${url}/v2/health/ready`).catch(() => undefined))?.status === 200;
      while (!(await ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const predict = async (model: string, instances: unknown) => {
        const r = await fetch(`${url}/v1/models/${model}:predict`, { method: 'POST', body: JSON.stringify({ instances }) });
        return { status: r.status, body: await r.json() as { predictions?: unknown[] } };
      };
      const hpt = await predict('half_plus_two', [1, 2]);
      assert.deepEqual(hpt.body.predictions, [2.5, 3], `half_plus_two answered ${hpt.status} ${JSON.stringify(hpt.body)}\n${out}`);
      const mlp = await predict('mlp', [new Array(256).fill(0.1)]);
      assert.equal(mlp.status, 200, `mlp on its worker thread: ${JSON.stringify(mlp.body)}\n${out}`);
      const health = /^HEALTHCHECK .* CMD (.*)$/m.exec(DOCKERFILE.replace(/\\\n\s*/g, ' '))![1]!;
      const hc = spawnSync('sh', ['-c', health], { cwd: app, env: { PATH: process.env.PATH, MODELGATE_HEALTH_PORT: new URL(url).port }, timeout: 15_000 });
      assert.equal(hc.status, 0, 'HEALTHCHECK passes on a ready server');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.doesNotMatch(out, /tsx|\.ts:\d/, 'nothing ran from TypeScript');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
