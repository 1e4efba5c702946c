// Overload at five times a model's capacity: the admission stage sheds what the model cannot
// serve in time, so the requests it admits keep their latency. The upstream is a model-like
// server with a fixed number of inference slots (requests beyond them wait in a FIFO queue,
// as in a model server's batch queue), so its capacity is known: slots / service time. The
// admitted requests' latency is the one the proxy records for the SLOs (RequestOutcome),
// which a loaded test machine's client-side queueing does not inflate.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { quantileSorted } from 'simple-statistics';
import type { RequestOutcome } from '../../../common/index.ts';
import type { Proxy } from '../../../proxy/index.ts';
import { sha256KeyHash } from '../../../proxy/guard/index.ts';
import { startProxy, startUpstream, until } from '../helpers.ts';
import type { Upstream } from '../helpers.ts';

/** The latency SLO threshold the admitted requests are held to (5x the service time). */
const THRESHOLD_S = 0.5;
const SERVICE_MS = 100;
const SLOTS = 2;
/** Requests per second the model can serve: 20. Unshed, 5x that for 2 s would queue 160 requests (8 s). */
const CAPACITY = (SLOTS * 1000) / SERVICE_MS;
const DURATION_MS = 2000;

/** A model with SLOTS inference slots of SERVICE_MS each and a FIFO queue before them. */
class SlowModel {
  #busy = 0;
  readonly #queue: Array<() => void> = [];
  maxQueued = 0;
  served = 0;
  run(done: () => void): void {
    this.#queue.push(done);
    this.maxQueued = Math.max(this.maxQueued, this.#queue.length - (SLOTS - this.#busy));
    this.#next();
  }
  #next(): void {
    while (this.#busy < SLOTS && this.#queue.length > 0) {
      const done = this.#queue.shift()!;
      this.#busy++;
      setTimeout(() => {
        this.#busy--;
        this.served++;
        done();
        this.#next();
      }, SERVICE_MS);
    }
  }
}

interface Result { ok: boolean; status: string; seconds: number }

/** Open-loop load: `rps` requests per second for DURATION_MS, whatever the answers' pace. */
async function load(rps: number, send: () => Promise<string>): Promise<Result[]> {
  const started: Array<Promise<Result>> = [];
  const perTick = rps / 100;
  let owed = 0;
  await new Promise<void>((resolve) => {
    const t0 = performance.now();
    const timer = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) {
        const s = performance.now();
        started.push(send().then((status) => ({ ok: status === '200' || status === 'OK', status, seconds: (performance.now() - s) / 1000 })));
      }
      if (performance.now() - t0 >= DURATION_MS) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  return Promise.all(started);
}

/** p99 of the admitted requests' durations as the proxy recorded them. */
function p99(outcomes: readonly RequestOutcome[]): number {
  const admitted = outcomes.filter((o) => o.rejected === undefined && (o.code === '200' || o.code === 'OK')).map((o) => o.durationSeconds).sort((a, b) => a - b);
  return admitted.length === 0 ? NaN : quantileSorted(admitted, 0.99);
}

function recorded(proxy: Proxy): RequestOutcome[] {
  const out: RequestOutcome[] = [];
  proxy.onOutcome((o) => out.push(o));
  return out;
}

const PREDICT_BODY = '{"instances":[[1.0,2.0]]}';

async function restModel(model: SlowModel): Promise<Upstream> {
  return startUpstream((_req, res) => model.run(() => {
    res.setHeader('content-type', 'application/json');
    res.end('{"predictions":[[0.5]]}');
  }));
}

const restCall = (proxy: Proxy, headers: Record<string, string> = {}) => async (): Promise<string> => {
  const r = await fetch(`${proxy.restUrl}/v1/models/fraud:predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: PREDICT_BODY });
  await r.arrayBuffer();
  return String(r.status);
};

describe(`overload at 5x a model's capacity (${CAPACITY} rps)`, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('REST, fixed limit: the rest is shed with 503, the admitted p99 stays under the SLO threshold, the model never queues', async () => {
    const model = new SlowModel();
    const upstream = await restModel(model);
    cleanups.push(() => upstream.close());
    const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: upstream.url }, concurrency: { models: { fraud: { limit: SLOTS } } } });
    cleanups.push(() => proxy.close());
    const outcomes = recorded(proxy);
    const results = await load(5 * CAPACITY, restCall(proxy));
    const shed = results.filter((r) => r.status === '503').length;
    const admitted = results.filter((r) => r.ok).length;
    assert.equal(shed + admitted, results.length, 'every request was admitted or shed');
    assert.ok(shed > results.length / 2, `most of the excess is shed: ${shed} of ${results.length}`);
    assert.ok(admitted >= (CAPACITY * DURATION_MS) / 1000 / 4, `the model kept serving: ${admitted}`);
    assert.ok(model.maxQueued <= 1, `requests waited in the model's queue: ${model.maxQueued}`);
    await until(() => outcomes.length === results.length);
    assert.ok(p99(outcomes) < THRESHOLD_S, `admitted p99 ${p99(outcomes).toFixed(3)} s`);
    assert.equal(outcomes.filter((o) => o.rejected === 'shed').length, shed, 'each shed request is an outcome marked shed');
  });

  test('gRPC, adaptive (AIMD) limit starting above capacity: it comes down, sheds UNAVAILABLE, admitted p99 under the threshold', async () => {
    const model = new SlowModel();
    const root = protobuf.Root.fromJSON({ nested: { ModelSpec: { fields: { name: { type: 'string', id: 1 } } }, PredictRequest: { fields: { modelSpec: { type: 'ModelSpec', id: 1 } } } } });
    const PredictRequest = root.lookupType('PredictRequest');
    const id = (b: Buffer) => b;
    const service: grpc.ServiceDefinition = {
      Predict: { path: '/tensorflow.serving.PredictionService/Predict', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
    };
    const server = new grpc.Server();
    server.addService(service, { Predict: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => model.run(() => cb(null, Buffer.alloc(0))) });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    cleanups.push(() => server.forceShutdown());
    const { proxy } = await startProxy({
      grpc: { host: '127.0.0.1', port: 0, upstream: `127.0.0.1:${port}` },
      concurrency: { models: { fraud: { adaptive: 'aimd', initial: 4, min: 1, max: 32, latencyTarget: '150ms' } } },
    });
    cleanups.push(() => proxy.close());
    const outcomes = recorded(proxy);
    const client = new (grpc.makeGenericClientConstructor(service, 'P'))(proxy.grpcAddress!, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    cleanups.push(() => client.close());
    const body = Buffer.from(PredictRequest.encode({ modelSpec: { name: 'fraud' } }).finish());
    const call = () => new Promise<string>((resolve) =>
      (client['Predict'] as (r: Buffer, cb: (e: grpc.ServiceError | null) => void) => void)(body, (e) => resolve(e ? grpc.status[e.code] ?? String(e.code) : 'OK')));
    const results = await load(5 * CAPACITY, call);
    const shed = results.filter((r) => r.status === 'UNAVAILABLE').length;
    assert.ok(shed > results.length / 2, `most of the excess is shed: ${shed} of ${results.length}`);
    assert.equal(results.filter((r) => !r.ok && r.status !== 'UNAVAILABLE').length, 0);
    await until(() => outcomes.length === results.length);
    assert.ok(p99(outcomes) < THRESHOLD_S, `admitted p99 ${p99(outcomes).toFixed(3)} s`);
  });

  test('priority callers are shed last: a named identity keeps its share while a bulk caller is shed', async () => {
    const model = new SlowModel();
    const upstream = await restModel(model);
    cleanups.push(() => upstream.close());
    const { proxy } = await startProxy({
      rest: { host: '127.0.0.1', port: 0, upstream: upstream.url },
      auth: { apiKeys: [{ name: 'checkout', hash: sha256KeyHash('k-checkout') }, { name: 'bulk', hash: sha256KeyHash('k-bulk') }], rules: [{ identities: ['*'], models: ['*'] }] },
      concurrency: { models: { fraud: { limit: 4 } }, priority: ['checkout'], reserve: 0.5 },
    });
    cleanups.push(() => proxy.close());
    const [bulk, checkout] = await Promise.all([
      load(5 * CAPACITY, restCall(proxy, { 'x-api-key': 'k-bulk' })),
      load(CAPACITY / 5, restCall(proxy, { 'x-api-key': 'k-checkout' })),
    ]);
    const shedShare = (rs: Result[]) => rs.filter((r) => r.status === '503').length / rs.length;
    assert.ok(shedShare(bulk) > 0.5, `bulk shed ${shedShare(bulk).toFixed(2)}`);
    assert.ok(shedShare(checkout) < 0.05, `checkout shed ${shedShare(checkout).toFixed(2)}`);
  });
});
