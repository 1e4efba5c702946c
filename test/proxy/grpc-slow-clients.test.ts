// gRPC through the proxy: a unary inference call whose request trickles in is answered (the
// upstream timeout starts once the request is sent whole), and one whose request stalls is
// CANCELLED as a client_timeout, never DEADLINE_EXCEEDED, with its upstream stream closed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ServerHttp2Stream } from 'node:http2';
import { once } from 'node:events';
import type { Registry } from 'prom-client';
import { GrpcCode, PROXY_METRIC } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { parseMetrics, sample, startProxy, until } from './helpers.ts';

const PREDICT = '/tensorflow.serving.PredictionService/Predict';
// PredictRequest { model_spec { name: "m" } }, framed (no compression).
const MESSAGE = Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x6d]);
const FRAME = Buffer.concat([Buffer.from([0, 0, 0, 0, MESSAGE.length]), MESSAGE]);

describe('gRPC: slow clients are the client\'s time, not the upstream\'s', () => {
  let upstream: http2.Http2Server;
  let proxy: Proxy;
  let registry: Registry;
  let client: http2.ClientHttp2Session;
  const outcomes: RequestOutcome[] = [];
  let upstreamCancelled = 0;
  before(async () => {
    upstream = http2.createServer();
    upstream.on('stream', (s: ServerHttp2Stream) => {
      s.on('data', () => undefined);
      s.on('close', () => {
        if (s.rstCode === http2.constants.NGHTTP2_CANCEL) upstreamCancelled++;
      });
      s.on('end', () => {
        // A stream the proxy reset ends too (node pushes the end of a reset stream's body):
        // nothing to answer. node:http2's client sends END_STREAM before its RST_STREAM, the
        // frames client the RST_STREAM alone, so only the latter arrives destroyed.
        if (s.destroyed) return;
        s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
        s.end(FRAME);
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as { port: number }).port;
    ({ proxy, registry } = await startProxy({ grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` }, timeouts: { upstream: '400ms', clientBody: '400ms' } }));
    proxy.onOutcome((o) => outcomes.push(o));
    client = http2.connect(`http://${proxy.grpcAddress}`);
  });
  after(async () => {
    client.destroy();
    await proxy.close();
    upstream.close();
  });

  /** Sends FRAME in `pieces` writes `gapMs` apart; `stall` leaves the stream open after the first piece. */
  async function call(pieces: number, gapMs: number, stall = false): Promise<string | undefined> {
    const s = client.request({ ':method': 'POST', ':path': PREDICT, 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    s.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    s.on('trailers', (t) => (status = String(t['grpc-status'])));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    const closed = once(s, 'close');
    const size = Math.ceil(FRAME.length / pieces);
    for (let i = 0; i < pieces && !s.closed; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
      s.write(FRAME.subarray(i * size, (i + 1) * size));
      if (stall) break;
    }
    if (!stall && !s.closed) s.end();
    await closed;
    return status;
  }

  test('a Predict whose request trickles in over 1.2 s (3x the upstream timeout) is answered OK', { timeout: 30_000 }, async () => {
    assert.equal(await call(5, 300), String(GrpcCode.OK));
  });

  test('a Predict whose request stalls is CANCELLED as a client timeout, and its upstream stream is closed', { timeout: 30_000 }, async () => {
    const before = upstreamCancelled;
    assert.equal(await call(5, 10, true), String(GrpcCode.CANCELLED));
    await until(() => upstreamCancelled > before);
    const m = parseMetrics(await registry.metrics());
    assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { kind: 'client_timeout', protocol: 'grpc' }), 1);
    assert.equal(sample(m, PROXY_METRIC.upstreamErrors, { kind: 'timeout', protocol: 'grpc' }), undefined);
    assert.deepEqual(outcomes.map((o) => o.code), ['OK', 'CANCELLED']);
  });
});
