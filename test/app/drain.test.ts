// `modelgate proxy` as deployed, stopped with SIGTERM while requests are in flight: readiness
// goes 503, new connections are refused, idle keep-alive connections close, the in-flight
// REST and gRPC requests finish with their answers, and the process exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { ServerHttp2Stream } from 'node:http2';
import { connect } from 'node:net';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startUpstream } from '../proxy/helpers.ts';
import { eventually, EXAMPLES } from '../helpers/repo.ts';

const BIN = join(EXAMPLES, '..', '..', 'bin', 'modelgate.js');

function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

test('SIGTERM drains the proxy: 10 REST and 2 gRPC requests in flight all finish with their answers, then it exits 0', { timeout: 120_000 }, async () => {
  // REST upstream: holds every predict until released.
  const held: ServerResponse[] = [];
  let holding = true;
  const rest = await startUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.includes(':predict') && holding) held.push(res);
    else res.end('{"predictions":[1]}');
  });
  // gRPC upstream (h2c): holds every call until released, then answers one message and OK.
  const heldCalls: ServerHttp2Stream[] = [];
  const grpc = http2.createServer();
  grpc.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () => heldCalls.push(stream));
  });
  grpc.listen(0, '127.0.0.1');
  await once(grpc, 'listening');
  const grpcPort = (grpc.address() as { port: number }).port;
  const answer = (s: ServerHttp2Stream) => {
    s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end(grpcFrame(Buffer.from('ok')));
  };

  const child = spawn(process.execPath, [BIN, 'proxy', '--host', '127.0.0.1', '--rest_port', '0', '--grpc_port', '0', '--admin_port', '0', '--upstream_rest', rest.url, '--upstream_grpc', `127.0.0.1:${grpcPort}`, '--drain_timeout_seconds', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const agent = new Agent({ connections: 10 });
  let client: http2.ClientHttp2Session | undefined;
  try {
    const restUrl = await eventually(() => /\[proxy\] REST (http:\/\/[\d.:]+)/.exec(out)?.[1], 30_000);
    const grpcAddr = await eventually(() => /\[proxy\] gRPC ([\d.:]+)/.exec(out)?.[1], 5_000);
    const admin = await eventually(() => /\[proxy\] admin (http:\/\/[\d.:]+)/.exec(out)?.[1], 5_000);
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);

    // An idle keep-alive connection: one answered request, then nothing.
    const idle = connect(Number(new URL(restUrl).port), '127.0.0.1');
    await once(idle, 'connect');
    idle.on('error', () => undefined);
    idle.write('GET /v1/models/m HTTP/1.1\r\nhost: x\r\n\r\n');
    await once(idle, 'data');
    const idleClosed = once(idle, 'close');

    // 10 REST requests and 2 gRPC calls in flight, all waiting on the upstreams.
    const restCalls = Array.from({ length: 10 }, (_, i) =>
      request(`${restUrl}/v1/models/m:predict`, { method: 'POST', body: `{"instances":[${i}]}`, dispatcher: agent }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })));
    client = http2.connect(`http://${grpcAddr}`);
    client.on('error', () => undefined);
    const grpcCalls = Array.from({ length: 2 }, () => {
      const s = client!.request({ ':method': 'POST', ':path': '/test.Echo/Call', 'content-type': 'application/grpc', te: 'trailers' });
      s.end(grpcFrame(Buffer.from('hi')));
      return new Promise<{ status: string | undefined; bytes: number }>((resolve, reject) => {
        let bytes = 0;
        let status: string | undefined;
        s.on('data', (d: Buffer) => (bytes += d.length));
        s.on('trailers', (t) => (status = String(t['grpc-status'])));
        s.on('close', () => resolve({ status, bytes }));
        s.on('error', reject);
      });
    });
    await eventually(() => held.length === 10 && heldCalls.length === 2, 20_000);

    child.kill('SIGTERM');
    // Readiness false at once (the admin port stays up while draining).
    await eventually(async () => (await fetch(`${admin}/healthz`).catch(() => undefined))?.status === 503, 10_000);
    // The idle keep-alive connection is closed by the proxy.
    await idleClosed;
    // No new connections.
    await eventually(async () => {
      const fresh = new Agent();
      const r = await request(`${restUrl}/v1/models/m`, { dispatcher: fresh }).then(() => 'answered', (e: { code?: string }) => e.code);
      await fresh.close();
      return r === 'ECONNREFUSED';
    }, 10_000);
    assert.equal(child.exitCode, null, 'still running while requests are in flight');

    // The upstreams answer: every request in flight gets its answer.
    holding = false;
    for (const res of held.splice(0)) res.end('{"predictions":[42]}');
    for (const s of heldCalls.splice(0)) answer(s);
    const answers = await Promise.all(restCalls);
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(200));
    assert.ok(answers.every((a) => a.body === '{"predictions":[42]}'));
    const calls = await Promise.all(grpcCalls);
    assert.deepEqual(calls.map((c) => c.status), ['0', '0']);
    assert.ok(calls.every((c) => c.bytes === 7));
    assert.equal(await exited, 0, out);
    assert.match(out, /SIGTERM: not ready any more, draining/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    client?.destroy();
    for (const res of held) res.end();
    await agent.close();
    grpc.close();
    await rest.close();
  }
});
