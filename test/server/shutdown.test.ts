import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer } from '../../server/index.ts';
import { halfPlusTwo } from '../../examples/models.ts';
import { eventually, TempRepo } from '../helpers/repo.ts';

/**
 * Sends one request on a raw socket, stops reading as soon as the first response bytes
 * arrive, calls `whilePaused`, then reads the rest. Resolves with everything received.
 */
function slowReader(port: number, head: string, body: string, whilePaused: () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let paused = false;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (paused) return;
      paused = true;
      s.pause();
      whilePaused();
      // A slow reader: nothing read for a while, then the rest.
      setTimeout(() => s.resume(), 300);
    });
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.write(head + body);
  });
}

function splitResponse(raw: Buffer): { status: number; contentLength: number; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
  const contentLength = Number(/content-length: (\d+)/i.exec(head)?.[1]);
  return { status, contentLength, body: raw.subarray(end + 4) };
}

describe('server shutdown', () => {
  let repo: TempRepo;
  before(async () => {
    repo = await TempRepo.create();
  });
  after(async () => repo.remove());

  test('a large response to a slow-reading client in flight at drain arrives whole', async () => {
    // y = 0.1234567 x + 0.7654321: "1," in, "0.8888888," out, so a 3 MB body answers ~15 MB.
    await repo.writeVersion('wide', 1, halfPlusTwo(0.1234567, 0.7654321));
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, warmup: false, models: [{ name: 'wide', basePath: repo.path('wide'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    let drained: Promise<void> | undefined;
    try {
      const n = 1_500_000;
      const body = `{"instances":[${new Array(n).fill('1').join(',')}]}`;
      const head = `POST /v1/models/wide:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const raw = await slowReader(srv.restPort, head, body, () => {
        drained = srv.drain(10_000);
      });
      const r = splitResponse(raw);
      assert.equal(r.status, 200);
      assert.ok(r.contentLength > 14_000_000, `response of ${r.contentLength} bytes`);
      assert.equal(r.body.length, r.contentLength, 'the whole response arrived');
      const json = JSON.parse(r.body.toString('utf8')) as { predictions: number[] };
      assert.equal(json.predictions.length, n);
      await drained;
    } finally {
      await srv.close();
    }
  });

  test('the same through modelgate serve: SIGTERM with a large response in flight to a slow reader, which arrives whole, then exit 0', async () => {
    await repo.writeVersion('wide2', 1, halfPlusTwo(0.1234567, 0.7654321));
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'modelgate.js');
    const child = spawn(process.execPath, [bin, 'serve', '--model_name', 'wide2', '--model_base_path', repo.path('wide2'), '--rest_api_port', '0', '--port', '-1', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await eventually(() => /REST listening on http:\/\/[\d.]+:(\d+)/.exec(out)?.[1], 15_000);
      const n = 1_500_000;
      const body = `{"instances":[${new Array(n).fill('1').join(',')}]}`;
      const head = `POST /v1/models/wide2:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const raw = await slowReader(Number(url), head, body, () => child.kill('SIGTERM'));
      const r = splitResponse(raw);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, r.contentLength, 'the whole response arrived');
      assert.equal((JSON.parse(r.body.toString('utf8')) as { predictions: number[] }).predictions.length, n);
      assert.equal(await exited, 0);
      assert.match(out, /SIGTERM: not ready any more/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('server shutdown, gRPC', () => {
  let repo: TempRepo;
  before(async () => {
    repo = await TempRepo.create();
  });
  after(async () => repo.remove());

  test('a large gRPC answer to a slow-reading client in flight at drain arrives whole, with its OK status', async () => {
    await repo.writeVersion('wide', 1, halfPlusTwo(0.1234567, 0.7654321));
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, warmup: false, models: [{ name: 'wide', basePath: repo.path('wide'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
    const { default: http2 } = await import('node:http2');
    const session = http2.connect(`http://${srv.grpcAddress}`);
    session.on('error', () => {});
    try {
      // PredictRequest { model_spec { name: "wide" } inputs { "x": DT_FLOAT [n] tensor_content } }, by hand.
      const n = 2_000_000;
      const content = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) content.writeFloatLE(1, i * 4);
      const { servingServices } = await import('../../server/grpc/index.ts');
      const method = (servingServices() as any).predictionService.Predict;
      const msg: Buffer = method.requestSerialize({ model_spec: { name: 'wide' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: String(n) }] }, tensor_content: content } } });
      const head = Buffer.alloc(5);
      head.writeUInt32BE(msg.length, 1);
      const stream = session.request({ ':method': 'POST', ':path': '/tensorflow.serving.PredictionService/Predict', 'content-type': 'application/grpc', te: 'trailers' });
      stream.end(Buffer.concat([head, msg]));
      const chunks: Buffer[] = [];
      let trailers: Record<string, unknown> = {};
      let drained: Promise<void> | undefined;
      const done = new Promise<void>((resolve) => {
        stream.on('trailers', (t) => (trailers = t));
        stream.on('close', () => resolve());
        stream.on('error', () => {});
        stream.once('data', (c: Buffer) => {
          chunks.push(c);
          stream.pause();
          drained = srv.drain(10_000);
          setTimeout(() => {
            stream.on('data', (d: Buffer) => chunks.push(d));
            stream.resume();
          }, 300);
        });
      });
      await done;
      const body = Buffer.concat(chunks);
      assert.equal(trailers['grpc-status'], '0', JSON.stringify(trailers));
      assert.ok(body.length > 5 && body.length === 5 + body.readUInt32BE(1), `${body.length} bytes received`);
      const res = method.responseDeserialize(body.subarray(5));
      assert.equal(res.outputs.y.float_val.length, n);
      await drained;
    } finally {
      session.destroy();
      await srv.close();
    }
  });
});
