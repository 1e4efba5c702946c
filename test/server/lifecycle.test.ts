import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm, mkdir } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startServer, type RunningServer } from '../../server/index.ts';
import { halfPlusTwo, mlp } from '../../examples/models.ts';
import { buildModel } from '../../examples/lib/onnx-builder.ts';
import { eventually, getJson, postJson, TempRepo } from '../helpers/repo.ts';

/**
 * POSTs `body` with `Expect: 100-continue`. `inFlight` resolves once the server has read the
 * request head (it answered 100 Continue) and the whole body is written: from then on the
 * request is the server's. `response` is the answer.
 */
function postWhenAccepted(url: string, body: string): { inFlight: Promise<void>; response: Promise<{ status: number; json: any }> } {
  let sent!: () => void;
  const inFlight = new Promise<void>((resolve) => (sent = resolve));
  const response = new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
        } catch {
          reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('continue', () => req.end(body, () => sent()));
  });
  return { inFlight, response };
}

const statusOf = async (url: string, model: string) => (await getJson(`${url}/v1/models/${model}`)).json.model_version_status as { version: string; state: string; status: { error_code: string; error_message: string } }[];

describe('model lifecycle', () => {
  let repo: TempRepo;
  before(async () => {
    repo = await TempRepo.create();
  });
  after(async () => repo.remove());

  test('a new version written under steady load takes over with zero failed requests', async () => {
    await repo.writeVersion('hot', 1, halfPlusTwo(0.5, 2));
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 100, models: [{ name: 'hot', basePath: repo.path('hot'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    try {
      const agent = new Agent({ connections: 8 });
      const seen = new Map<string, number>();
      let failures = 0;
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const r = await request(`${srv.restUrl}/v1/models/hot:predict`, { method: 'POST', body: '{"instances":[2.0]}', dispatcher: agent });
          const text = await r.body.text();
          if (r.statusCode !== 200) failures++;
          const v = String(r.headers['x-model-version']);
          seen.set(v, (seen.get(v) ?? 0) + 1);
          if (v === '2') assert.equal(text, '{"predictions":[7.0]}');
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await new Promise((r) => setTimeout(r, 200));
      await repo.writeVersion('hot', 2, halfPlusTwo(1, 5), false); // y = x + 5, fresh mtime
      await eventually(() => (seen.get('2') ?? 0) > 50, 10_000);
      stop = true;
      await Promise.all(workers);
      await agent.close();
      assert.equal(failures, 0);
      assert.ok((seen.get('1') ?? 0) > 0);
      const st = await statusOf(srv.restUrl, 'hot');
      assert.deepEqual(st.map((s) => [s.version, s.state]), [['2', 'AVAILABLE'], ['1', 'END']]);
    } finally {
      await srv.close();
    }
  });

  test('a corrupt new version leaves the old one serving and shows its error in status, then retries', async () => {
    await repo.writeVersion('bad', 1, halfPlusTwo());
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 100, retryBaseMs: 100, models: [{ name: 'bad', basePath: repo.path('bad'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    try {
      const good = buildModel(halfPlusTwo(1, 1));
      await repo.writeVersion('bad', 2, good.subarray(0, good.length - 20)); // truncated
      const st = await eventually(async () => {
        const s = await statusOf(srv.restUrl, 'bad');
        return s.find((x) => x.version === '2' && x.status.error_code !== 'OK') ? s : undefined;
      });
      assert.equal(st.find((x) => x.version === '2')!.state, 'END');
      assert.match(st.find((x) => x.version === '2')!.status.error_message, /Failed to load bad version 2/);
      assert.equal(st.find((x) => x.version === '1')!.state, 'AVAILABLE');
      for (let i = 0; i < 20; i++) {
        const r = await postJson(`${srv.restUrl}/v1/models/bad:predict`, { instances: [2] });
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-model-version'), '1');
      }
      const metrics = await (await fetch(`${srv.restUrl}/metrics`)).text();
      assert.match(metrics, /modelgate_server_model_load_failures_total\{model="bad",version="2"\} [1-9]/);
      // Fixing the file is picked up without a restart.
      await repo.writeVersion('bad', 2, good);
      await eventually(async () => (await postJson(`${srv.restUrl}/v1/models/bad:predict`, { instances: [2] })).headers.get('x-model-version') === '2');
    } finally {
      await srv.close();
    }
  });

  test('a file still being written is not loaded until it stops changing', async () => {
    await repo.writeVersion('slow', 1, halfPlusTwo());
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 300, models: [{ name: 'slow', basePath: repo.path('slow'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    try {
      const bytes = buildModel(halfPlusTwo(1, 1));
      const path = repo.path('slow', '2', 'model.onnx');
      await mkdir(repo.path('slow', '2'), { recursive: true });
      // Write the file in pieces, each within one poll interval: it must never be loaded half-written.
      for (let i = 1; i <= 4; i++) {
        await writeFile(path, bytes.subarray(0, Math.floor((bytes.length * i) / 4)));
        await new Promise((r) => setTimeout(r, 150));
        const st = await statusOf(srv.restUrl, 'slow');
        if (i < 4) assert.ok(!st.some((s) => s.version === '2' && s.status.error_code !== 'OK'), `loaded a partial file at step ${i}`);
      }
      await eventually(async () => (await statusOf(srv.restUrl, 'slow')).some((s) => s.version === '2' && s.state === 'AVAILABLE'));
    } finally {
      await srv.close();
    }
  });

  test('version policies choose the versions to serve: latest N, all, specific', async () => {
    for (const v of [1, 2, 3]) await repo.writeVersion('pol', v, halfPlusTwo(v, 0));
    await mkdir(repo.path('pol', 'not-a-version'), { recursive: true });
    const mk = (policy: any) => startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, models: [{ name: 'pol', basePath: repo.path('pol'), policy, labels: {} }] });
    const cases: [any, string[]][] = [
      [{ kind: 'latest', numVersions: 1 }, ['3']],
      [{ kind: 'latest', numVersions: 2 }, ['3', '2']],
      [{ kind: 'all' }, ['3', '2', '1']],
      [{ kind: 'specific', versions: [1, 3] }, ['3', '1']],
    ];
    for (const [policy, want] of cases) {
      const srv = await mk(policy);
      try {
        const st = await statusOf(srv.restUrl, 'pol');
        assert.deepEqual(st.filter((s) => s.state === 'AVAILABLE').map((s) => s.version), want, JSON.stringify(policy));
      } finally {
        await srv.close();
      }
    }
  });

  test('labels point only at AVAILABLE versions and can be moved at run time', async () => {
    for (const v of [1, 2]) await repo.writeVersion('lab', v, halfPlusTwo(v, 0));
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, models: [{ name: 'lab', basePath: repo.path('lab'), policy: { kind: 'all' }, labels: { stable: 1, canary: 9 } }] });
    try {
      const r = await postJson(`${srv.restUrl}/v1/models/lab/labels/canary:predict`, { instances: [1] });
      assert.equal(r.status, 400);
      assert.match(r.json.error, /points to version 9, which is not available/);
      assert.throws(() => srv.manager.setLabel('lab', 'canary', 7), /not currently available/);
      srv.manager.setLabel('lab', 'stable', 2);
      const moved = await postJson(`${srv.restUrl}/v1/models/lab/labels/stable:predict`, { instances: [1] });
      assert.equal(moved.headers.get('x-model-version'), '2');
    } finally {
      await srv.close();
    }
  });

  test('a body over the limit is 413 and a request over the deadline is 504', async () => {
    await repo.writeVersion('big', 1, mlp());
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, bodyLimitBytes: 1024, requestTimeoutMs: 1, models: [{ name: 'big', basePath: repo.path('big'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    try {
      const big = await postJson(`${srv.restUrl}/v1/models/big:predict`, { instances: [new Array(256).fill(0.5)] });
      assert.equal(big.status, 413);
      assert.match(big.json.error, /over the limit of 1024 bytes/);
    } finally {
      await srv.close();
    }
    const slow = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, requestTimeoutMs: 5, bodyLimitBytes: 8 * 1024 * 1024, models: [{ name: 'big', basePath: repo.path('big'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    try {
      const rows = Array.from({ length: 4096 }, () => new Array(256).fill(0.5));
      const r = await postJson(`${slow.restUrl}/v1/models/big:predict`, { inputs: rows });
      assert.equal(r.status, 504, r.text.slice(0, 200));
      assert.match(r.json.error, /within 5 ms|Deadline/);
    } finally {
      await slow.close();
    }
  });

  test('SIGTERM turns readiness off at once, lets in-flight requests finish, then exits 0', async () => {
    await repo.writeVersion('term', 1, mlp());
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'modelgate.js');
    const child = spawn(process.execPath, [bin, 'serve', '--model_name', 'term', '--model_base_path', repo.path('term'), '--rest_api_port', '0', '--port', '-1', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // Start-up compiles the CLI and loads the model: seconds on a busy machine.
      const url = await eventually(() => /REST listening on (http:\/\/[\d.:]+)/.exec(out)?.[1], 60_000);
      assert.equal((await getJson(`${url}/v2/health/ready`)).status, 200);
      const rows = Array.from({ length: 2048 }, () => new Array(256).fill(0.1));
      // SIGTERM only once the server holds the request (a fixed wait raced the upload on a
      // busy machine: the listener closed before the request arrived).
      const { inFlight, response } = postWhenAccepted(`${url}/v1/models/term:predict`, JSON.stringify({ inputs: rows }));
      await inFlight;
      child.kill('SIGTERM');
      const r = await response;
      assert.equal(r.status, 200);
      assert.equal(r.json.outputs.length, 2048);
      assert.equal(await exited, 0);
      assert.match(out, /SIGTERM: not ready any more/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
