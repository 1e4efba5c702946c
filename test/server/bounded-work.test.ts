import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from '../../cli/args.ts';
import { configFromFlags, limitOptions, readServerConfigFile, SERVE_FLAGS } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/index.ts';
import type { ModelConfig } from '../../server/index.ts';
import { halfPlusTwo } from '../../examples/models.ts';
import { eventually, postJson, TempRepo } from '../helpers/repo.ts';
import { call, connect, expectCode, floatTensor, grpc, type Clients } from './grpc-helpers.ts';

/** Fails the test if `p` has not settled within `ms`: the behaviour under test must not hang. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** A raw HTTP/1.1 exchange: writes `head` (and what `write` sends later) and collects the answer until the server closes. */
function rawExchange(port: number, head: string, write?: (s: Socket) => void): { socket: Socket; answer: Promise<string> } {
  const socket = tcpConnect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d) => (text += d.toString('latin1')));
  const answer = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(text));
    socket.on('error', () => {});
  });
  socket.write(head);
  write?.(socket);
  return { socket, answer };
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1]);
const postHead = (path: string, length: number) => `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
const instances = (n: number) => `{"instances":[${new Array(n).fill('1').join(',')}]}`;

describe('bounded work per request', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;
  before(async () => {
    repo = await TempRepo.create();
    await repo.writeVersion('hpt', 1, halfPlusTwo());
    await repo.writeVersion('small', 1, halfPlusTwo());
    const models: ModelConfig[] = [
      { name: 'hpt', basePath: repo.path('hpt'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
      { name: 'small', basePath: repo.path('small'), policy: { kind: 'latest', numVersions: 1 }, labels: {}, maxBodyBytes: 1024 },
    ];
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, warmup: false, models,
      bodyReadTimeoutMs: 400, requestTimeoutMs: 10_000, maxLargeBodies: 1, grpcIdleTimeoutMs: 300,
    });
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  test('a REST client that stalls its body gets 408 after the body-read timeout, counted as code 408', async () => {
    const { socket, answer } = rawExchange(srv.restPort, postHead('/v1/models/hpt:predict', 100), (s) => s.write('{"instances":'));
    const raw = await within(answer, 5000, 'a stalled upload');
    socket.destroy();
    assert.equal(statusOf(raw), 408, raw);
    assert.match(raw, /connection: close/i);
    assert.match(raw, /did not arrive within 400 ms/);
    const metrics = await (await fetch(`${srv.restUrl}/metrics`)).text();
    assert.match(metrics, /model="hpt",version="unknown",api="predict",entrypoint="rest",code="408"\} 1|code="408"[^\n]*model="hpt"/);
  });

  test('an answer that is ready only after its deadline (a large output to encode) is 504, not 200', async () => {
    // Parsing 1.2M numbers and printing 1.2M float32 answers keeps the event loop busy for
    // ~0.7 s on the 2-core test machine (docs/benchmarks.md: ~40 ms per MB parsed, ~0.2 µs
    // per float printed), several times the 150 ms deadline, during which no timer can fire.
    // The deadline passes while parsing or while encoding, depending on the machine's speed;
    // the answer is 504 either way, never a 200 after the deadline.
    const fast = await startServer({
      host: '127.0.0.1', restPort: 0, pollMs: 0, warmup: false, requestTimeoutMs: 150, bodyLimitBytes: 16 * 1024 * 1024,
      models: [{ name: 'hpt', basePath: repo.path('hpt'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }],
    });
    try {
      const body = `{"instances":[${new Array(1_200_000).fill('0.1234567').join(',')}]}`;
      const r = await postJson(`${fast.restUrl}/v1/models/hpt:predict`, body);
      assert.equal(r.status, 504, `${r.status} ${r.text.slice(0, 100)}`);
      assert.match(r.json.error, /within 150 ms|Deadline exceeded/);
      const metrics = await (await fetch(`${fast.restUrl}/metrics`)).text();
      assert.match(metrics, /code="504"/);
      assert.doesNotMatch(metrics, /code="200"/);
    } finally {
      await fast.close();
    }
  });

  test('a model with its own max_body_bytes refuses bodies over it with 413; others keep the server limit', async () => {
    const body = { instances: new Array(600).fill(1) }; // ~1.2 KB
    const small = await postJson(`${srv.restUrl}/v1/models/small:predict`, body);
    assert.equal(small.status, 413);
    assert.match(small.json.error, /over the limit of 1024 bytes/);
    const other = await postJson(`${srv.restUrl}/v1/models/hpt:predict`, body);
    assert.equal(other.status, 200);
  });

  test('large bodies beyond --max_large_bodies get 503 with Retry-After; the slot frees when the first one ends', async () => {
    // The first large request declares 2 MiB and sends only a little: it holds the one slot.
    const holder = rawExchange(srv.restPort, postHead('/v1/models/hpt:predict', 2 * 1024 * 1024), (s) => s.write('{"instances":[1'));
    await new Promise((r) => setTimeout(r, 50));
    const big = instances(700_000); // 1.4 MB
    const refused = await postJson(`${srv.restUrl}/v1/models/hpt:predict`, big);
    assert.equal(refused.status, 503, refused.text.slice(0, 200));
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(refused.json.error, /Too many requests with bodies over 1048576 bytes/);
    // Small requests are not held up meanwhile.
    assert.equal((await postJson(`${srv.restUrl}/v1/models/hpt:predict`, { instances: [1] })).status, 200);
    holder.socket.destroy();
    await holder.answer;
    const served = await eventually(async () => {
      const r = await postJson(`${srv.restUrl}/v1/models/hpt:predict`, big);
      return r.status === 200 ? r : undefined;
    }, 5000);
    assert.equal(served.json.predictions.length, 700_000);
  });

  test('the garbage a large request leaves is collected once large requests stop, without further traffic', async () => {
    const heapAfter = async () => {
      let body: string | undefined = `{"instances":[${new Array(350_000).fill('0.1234567').join(',')}]}`; // 3.5 MB
      const r = await postJson(`${srv.restUrl}/v1/models/hpt:predict`, body);
      body = undefined;
      assert.equal(r.status, 200);
      return process.memoryUsage().heapUsed;
    };
    const high = await heapAfter();
    // Nothing allocates meanwhile: without a collection the heap would stay where it is.
    await new Promise((r) => setTimeout(r, 2000));
    const later = process.memoryUsage().heapUsed;
    assert.ok(later < high * 0.7, `heap used ${Math.round(high / 1048576)} MB after the request, ${Math.round(later / 1048576)} MB two seconds later`);
  });

  test('gRPC tensors whose element count is over the limit are INVALID_ARGUMENT before anything is allocated', async () => {
    const shape = (n: number) => ({ dim: [{ size: String(n) }] });
    // ~30 bytes on the wire; the fill rule would make 2e7 floats of one value.
    await within(expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'hpt' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: shape(2e7), float_val: [1] } } }), grpc.status.INVALID_ARGUMENT, /20000000 elements, over the limit of 16777216/), 5000, '[2e7]');
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'hpt' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: shape(1e12), float_val: [1] } } }), grpc.status.INVALID_ARGUMENT, /over the limit/);
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'hpt', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1000000000000'], contents: { fp32_contents: [1] } }] }), grpc.status.INVALID_ARGUMENT, /over the limit/);
    // Within the limit the fill rule still works.
    const ok = await call(c.prediction, 'Predict', { model_spec: { name: 'hpt' }, inputs: { x: { ...floatTensor([3], [2]) } } });
    assert.deepEqual(ok.outputs.y.float_val, [3, 3, 3]);
  });

  test('--max_tensor_elements sets the per-tensor limit on both gRPC APIs', async () => {
    const tight = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, warmup: false, maxTensorElements: 4,
      models: [{ name: 'hpt', basePath: repo.path('hpt'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }],
    });
    const tc = connect(tight.grpcAddress!);
    try {
      assert.deepEqual((await call(tc.prediction, 'Predict', { model_spec: { name: 'hpt' }, inputs: { x: floatTensor([4], [0, 0, 0, 0]) } })).outputs.y.float_val, [2, 2, 2, 2]);
      await expectCode(call(tc.prediction, 'Predict', { model_spec: { name: 'hpt' }, inputs: { x: floatTensor([5], [0, 0, 0, 0, 0]) } }), grpc.status.INVALID_ARGUMENT, /5 elements, over the limit of 4/);
      await expectCode(call(tc.kserve, 'ModelInfer', { model_name: 'hpt', inputs: [{ name: 'x', datatype: 'FP32', shape: ['5'], contents: { fp32_contents: [0, 0, 0, 0, 0] } }] }), grpc.status.INVALID_ARGUMENT, /over the limit of 4/);
    } finally {
      tc.close();
      await tight.close();
    }
  });

  /** Opens a gRPC call on a raw HTTP/2 session and sends 15 bytes of a message that declares 1000. */
  function stalledCall(session: http2.ClientHttp2Session, headers: Record<string, string>): Promise<Record<string, unknown>> {
    const stream = session.request({ ':method': 'POST', ':path': '/tensorflow.serving.PredictionService/Predict', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1000, 1);
    stream.write(Buffer.concat([head, Buffer.alloc(10)]));
    return new Promise((resolve) => {
      let got: Record<string, unknown> = {};
      stream.on('response', (h) => (got = { ...got, ...h }));
      stream.on('trailers', (h) => (got = { ...got, ...h }));
      stream.on('error', () => {});
      stream.on('close', () => resolve(got));
      stream.resume();
    });
  }

  test('a gRPC call stalled mid-message is cut at its deadline, and without one at the message-read timeout', async () => {
    const session = http2.connect(`http://${srv.grpcAddress}`);
    session.on('error', () => {});
    try {
      const byDeadline = await within(stalledCall(session, { 'grpc-timeout': '200m' }), 5000, 'a stalled call with a deadline');
      assert.equal(byDeadline['grpc-status'], String(grpc.status.CANCELLED));
      assert.match(decodeURIComponent(String(byDeadline['grpc-message'])), /deadline passed while the request message was still arriving \(15 bytes received\)/);
      const byTimeout = await within(stalledCall(session, {}), 5000, 'a stalled call without a deadline');
      assert.equal(byTimeout['grpc-status'], String(grpc.status.CANCELLED));
      assert.match(decodeURIComponent(String(byTimeout['grpc-message'])), /No complete request message within 400 ms/);
    } finally {
      session.destroy();
    }
  });

  test('idle HTTP/2 connections are closed by the idle timeout; the clients reconnect and keep working', async () => {
    const sessions = Array.from({ length: 50 }, () => {
      const s = http2.connect(`http://${srv.grpcAddress}`);
      s.on('error', () => {});
      return s;
    });
    try {
      const closed = sessions.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      await within(Promise.all(closed), 10_000, '50 idle connections');
      // grpc-js clients whose connection went idle reconnect on the next call.
      await new Promise((r) => setTimeout(r, 500));
      const r = await call(c.prediction, 'Predict', { model_spec: { name: 'hpt' }, inputs: { x: floatTensor([1], [2]) } });
      assert.deepEqual(r.outputs.y.float_val, [3]);
    } finally {
      for (const s of sessions) s.destroy();
    }
  });
});

describe('server limits configuration', () => {
  let repo: TempRepo;
  before(async () => {
    repo = await TempRepo.create();
  });
  after(async () => repo.remove());

  test('limits come from the flag, else the model config file\'s server section, else the defaults', async () => {
    const file = repo.path('models.yaml');
    await writeFile(file, 'server:\n  body_read_timeout_ms: 1234\n  max_body_bytes: 2048\nmodels:\n  - name: a\n    base_path: a\n    max_body_bytes: 512\n');
    const cfg = await configFromFlags(parseArgs(['--model_config_file', file, '--max_body_bytes', '4096'], SERVE_FLAGS).flags);
    assert.equal(cfg.bodyLimitBytes, 4096);
    assert.equal(cfg.bodyReadTimeoutMs, 1234);
    assert.equal(cfg.maxLargeBodies, 2);
    assert.equal(cfg.maxTensorElements, 0);
    assert.equal(cfg.grpcIdleTimeoutMs, 120_000);
    assert.equal(cfg.models[0]!.maxBodyBytes, 512);
    // modelgate start has no serve flags: it passes the file's server: section as is.
    assert.deepEqual(limitOptions((await readServerConfigFile(file)).limits), { bodyLimitBytes: 2048, bodyReadTimeoutMs: 1234 });
    const defaults = await configFromFlags(parseArgs(['--model_name', 'a', '--model_base_path', repo.path('a')], SERVE_FLAGS).flags);
    assert.equal(defaults.bodyLimitBytes, 4 * 1024 * 1024);
    assert.equal(defaults.bodyReadTimeoutMs, 30_000);
  });

  test('a limit of 0 or a stray key is refused with the place to fix it', async () => {
    assert.throws(() => parseArgs(['--model_name', 'a', '--model_base_path', 'x', '--body_read_timeout_ms', '0'], SERVE_FLAGS), /--body_read_timeout_ms must be longer than 0/);
    assert.throws(() => parseArgs(['--model_name', 'a', '--model_base_path', 'x', '--body_read_timeout', '0s'], SERVE_FLAGS), /--body_read_timeout must be longer than 0/);
    const file = repo.path('bad.yaml');
    await writeFile(file, 'server:\n  max_large_bodies: 0\n  body_timeout: 5\nmodels:\n  - name: a\n    base_path: a\n');
    await assert.rejects(configFromFlags(parseArgs(['--model_config_file', file], SERVE_FLAGS).flags), (e: Error) => /max_large_bodies/.test(JSON.stringify(e)) || /max_large_bodies/.test(String(e)));
  });
});
