import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../server/index.ts';
import { SERVER_METRIC } from '../../common/conventions.ts';
import { TempRepo, eventually, postJson } from '../helpers/repo.ts';
import { call, connect, rawFloatTensor, type Clients } from './grpc-helpers.ts';

const WIDTH = 256; // mlp: x float[N,256] → scores float[N,16]

/** Deterministic inputs (a small LCG), so a failure can be replayed. */
function rows(n: number, seed: number): Float32Array {
  const x = new Float32Array(n * WIDTH);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    x[i] = s / 2 ** 30 - 1;
  }
  return x;
}

function scoresOf(r: any): Float32Array {
  return Float32Array.from(r.outputs.scores.float_val);
}

describe('dynamic batching in the server', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;

  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('mlp');
    const base = repo.path('mlp');
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0,
      models: [
        // The same files twice: one batched, one not, to compare answers.
        { name: 'mlp', basePath: base, policy: { kind: 'latest', numVersions: 1 }, labels: {},
          batching: { maxBatchSize: 16, batchTimeoutMicros: 50_000, maxEnqueuedBatches: 100, numBatchThreads: 1, allowedBatchSizes: [], preferredBatchSizes: [] } },
        { name: 'mlp_plain', basePath: base, policy: { kind: 'latest', numVersions: 1 }, labels: {} },
      ],
    });
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  const predict = (model: string, x: Float32Array, n: number) =>
    call(c.prediction, 'Predict', { model_spec: { name: model }, inputs: { x: rawFloatTensor([n, WIDTH], x) } });

  test('concurrent requests get bit-identical answers to the same requests run unbatched, and batches form', async () => {
    const sizes = [1, 2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 1];
    const inputs = sizes.map((n, k) => rows(n, k + 1));
    const batched = await Promise.all(inputs.map((x, k) => predict('mlp', x, sizes[k]!)));
    for (const [k, x] of inputs.entries()) {
      const alone = await predict('mlp_plain', x, sizes[k]!);
      assert.deepEqual(batched[k].outputs.scores.tensor_shape.dim.map((d: any) => d.size), [String(sizes[k]), '16']);
      assert.deepEqual(Buffer.from(scoresOf(batched[k]).buffer), Buffer.from(scoresOf(alone).buffer), `request ${k}`);
    }
    const m = await srv.registry.getSingleMetric(SERVER_METRIC.batchSize)!.get();
    const pick = (suffix: string) => m.values.find((v) => (v as { metricName?: string }).metricName === `${SERVER_METRIC.batchSize}${suffix}` && v.labels.model === 'mlp')!.value;
    const [sum, count] = [pick('_sum'), pick('_count')];
    assert.equal(sum, sizes.reduce((a, b) => a + b, 0), 'every row ran exactly once (no padding configured)');
    assert.ok(count < sizes.length, `batches formed: ${count} runs for ${sizes.length} requests`);
  });

  test('REST requests go through the same batcher and get the same answers as gRPC', async () => {
    const x = rows(1, 99);
    const instances = [Array.from(x)];
    const [rest, grpcRes] = await Promise.all([postJson(`${srv.restUrl}/v1/models/mlp:predict`, { instances }), predict('mlp', x, 1)]);
    assert.equal(rest.status, 200);
    const restScores = Float32Array.from(rest.json.predictions[0] as number[]);
    assert.deepEqual(Array.from(restScores), Array.from(scoresOf(grpcRes)));
  });

  test('queue wait and queue depth are exported per model and version', async () => {
    const text = await srv.registry.metrics();
    assert.match(text, new RegExp(`${SERVER_METRIC.queueDuration}_count\\{model="mlp",version="1"\\} [1-9]`));
    assert.match(text, new RegExp(`${SERVER_METRIC.queueDepth}\\{model="mlp",version="1"\\} 0`));
    assert.doesNotMatch(text, new RegExp(`${SERVER_METRIC.batchSize}_count\\{model="mlp_plain"`), 'no batching unless configured');
  });
});

describe('deadlines while queued, over both surfaces', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;

  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('mlp');
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, requestTimeoutMs: 1000,
      models: [
        // A batch that waits a minute for company: any lone request outlives its deadline in the queue.
        { name: 'mlp', basePath: repo.path('mlp'), policy: { kind: 'latest', numVersions: 1 }, labels: {},
          batching: { maxBatchSize: 32, batchTimeoutMicros: 60_000_000, maxEnqueuedBatches: 10, numBatchThreads: 1, allowedBatchSizes: [], preferredBatchSizes: [] } },
      ],
    });
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  test('a gRPC request whose deadline passes in the queue is answered DEADLINE_EXCEEDED by the server and never run', async () => {
    await assert.rejects(call(c.prediction, 'Predict', { model_spec: { name: 'mlp' }, inputs: { x: rawFloatTensor([1, WIDTH], rows(1, 5)) } }, 1000), (e: any) => e.code === 4);
    const text = await eventuallyMatch(srv, /modelgate_server_requests_total\{model="mlp",version="1",api="predict",entrypoint="grpc",code="DEADLINE_EXCEEDED"\} 1/);
    assert.doesNotMatch(text, /modelgate_server_batch_size_count\{model="mlp",version="1"\} [1-9]/, 'the model never ran');
  });

  test('a REST request whose deadline passes in the queue is answered 504 and never run', async () => {
    const r = await postJson(`${srv.restUrl}/v1/models/mlp:predict`, { instances: [Array.from(rows(1, 6))] });
    assert.equal(r.status, 504);
    // The REST timer and the queue's own deadline fire together; wait for the queue to empty.
    const text = await eventuallyMatch(srv, /modelgate_server_queue_depth\{model="mlp",version="1"\} 0/);
    assert.doesNotMatch(text, /modelgate_server_batch_size_count\{model="mlp",version="1"\} [1-9]/);
  });
});

/** The server records a call just after answering it; wait until the line shows up. */
function eventuallyMatch(srv: RunningServer, re: RegExp): Promise<string> {
  return eventually(async () => {
    const text = await srv.registry.metrics();
    return re.test(text) && text;
  }, 5_000, 20, `metrics matching ${re}`);
}
