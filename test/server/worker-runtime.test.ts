import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, readModels, type RunningServer } from '../../server/index.ts';
import { Issues } from '../../common/validate.ts';
import { SERVER_METRIC } from '../../common/conventions.ts';
import { TempRepo, EXAMPLES, getJson, postJson } from '../helpers/repo.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { loadOnnxInWorkers } from '../../server/runtime/workers.ts';

const WIDTH = 256; // mlp: x float[N,256] → scores float[N,16]

function rows(n: number, seed: number): number[][] {
  let s = seed;
  return Array.from({ length: n }, () =>
    Array.from({ length: WIDTH }, () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return Math.round((s / 2 ** 30 - 1) * 1e4) / 1e4;
    }),
  );
}

describe('models on worker threads (worker_threads)', () => {
  let repo: TempRepo;
  let srv: RunningServer;

  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('mlp');
    const base = repo.path('mlp');
    const policy = { kind: 'latest' as const, numVersions: 1 };
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, intraOpThreads: 1,
      models: [
        // The same files three ways: on the event loop, on two worker threads, and on two
        // worker threads behind a batcher with two batch threads.
        { name: 'inline', basePath: base, policy, labels: {} },
        { name: 'threaded', basePath: base, policy, labels: {}, workerThreads: 2 },
        { name: 'threaded_batched', basePath: base, policy, labels: {}, workerThreads: 2,
          batching: { maxBatchSize: 8, batchTimeoutMicros: 20_000, maxEnqueuedBatches: 100, numBatchThreads: 2, allowedBatchSizes: [], preferredBatchSizes: [] } },
      ],
    });
  });
  after(async () => {
    await srv.close();
    await repo.remove();
  });

  test('a model on worker threads answers exactly what the same model answers on the event loop', async () => {
    const instances = rows(3, 11);
    const [inline, threaded] = await Promise.all([
      postJson(`${srv.restUrl}/v1/models/inline:predict`, { instances }),
      postJson(`${srv.restUrl}/v1/models/threaded:predict`, { instances }),
    ]);
    assert.equal(threaded.status, 200, threaded.text);
    assert.equal(threaded.headers.get('x-model-version'), '1');
    assert.deepEqual(threaded.json, inline.json);
  });

  test('concurrent requests batched onto worker threads get the answers they get alone, and batches form', async () => {
    const inputs = Array.from({ length: 12 }, (_, k) => rows(1, 100 + k));
    const batched = await Promise.all(inputs.map((instances) => postJson(`${srv.restUrl}/v1/models/threaded_batched:predict`, { instances })));
    for (const [k, instances] of inputs.entries()) {
      const alone = await postJson(`${srv.restUrl}/v1/models/inline:predict`, { instances });
      assert.equal(batched[k]!.status, 200, batched[k]!.text);
      assert.deepEqual(batched[k]!.json, alone.json, `request ${k}`);
    }
    const m = await srv.registry.getSingleMetric(SERVER_METRIC.batchSize)!.get();
    const count = m.values.find((v) => (v as { metricName?: string }).metricName === `${SERVER_METRIC.batchSize}_count` && v.labels.model === 'threaded_batched')!.value;
    assert.ok(count < inputs.length, `batches formed: ${count} runs for ${inputs.length} requests`);
  });

  test('the server keeps answering while a long inference runs on a worker thread', async () => {
    // ~1000 rows take hundreds of ms; on the event loop nothing else would be answered meanwhile.
    let bigDone = false;
    const big = postJson(`${srv.restUrl}/v1/models/threaded:predict`, { instances: rows(1000, 5) }).then((r) => {
      bigDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    const ready = await getJson(`${srv.restUrl}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.equal(bigDone, false, 'the health check was answered before the long run finished');
    const r = await big;
    assert.equal(r.status, 200);
    assert.equal(r.json.predictions.length, 1000);
  });

  test('a model that does not load on worker threads reports the load error in its status', async () => {
    await repo.writeVersion('broken', 1, new Uint8Array([1, 2, 3, 4]));
    const s = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0,
      models: [{ name: 'broken', basePath: repo.path('broken'), policy: { kind: 'latest', numVersions: 1 }, labels: {}, workerThreads: 1 }],
    });
    try {
      const st = await getJson(`${s.restUrl}/v1/models/broken`);
      const v = st.json.model_version_status[0];
      assert.equal(v.state, 'END');
      assert.match(v.status.error_message, /not a loadable ONNX model/);
    } finally {
      await s.close();
    }
  });
});

describe('worker_threads in the model config file', () => {
  const read = (m: Record<string, unknown>) => {
    const issues = new Issues();
    const models = readModels([{ name: 'mlp', base_path: 'models/mlp', ...m }], 'models', issues, '/repo');
    return { models, issues };
  };

  test('is a whole number of threads, 0 (on the event loop) by default', () => {
    assert.equal(read({}).models[0]!.workerThreads, 0);
    assert.equal(read({ worker_threads: 2 }).models[0]!.workerThreads, 2);
  });

  test('a negative or fractional count is an error at that path', () => {
    for (const bad of [-1, 1.5, 'two']) {
      const { issues } = read({ worker_threads: bad });
      assert.equal(issues.errors.length, 1, String(bad));
      assert.equal(issues.errors[0]!.path, 'models[0].worker_threads');
    }
  });
});

describe('unloading a model on worker threads', () => {
  test('lets runs already sent to the thread finish with their answers before the session is freed', async () => {
    const bytes = await readFile(join(EXAMPLES, 'mlp', '1', 'model.onnx'));
    const model = await loadOnnxInWorkers(bytes, 1, { intraOpThreads: 1 });
    const x = (n: number) => new Map([['x', { dtype: 'FP32' as const, shape: [n, WIDTH], data: new Float32Array(n * WIDTH).fill(0.5) }]]);
    const runs = [model.run(x(200), ['scores']), model.run(x(200), ['scores'])];
    await new Promise((r) => setTimeout(r, 5));
    const released = model.release();
    const outs = await Promise.all(runs);
    await released;
    for (const out of outs) assert.deepEqual(out.get('scores')!.shape, [200, 16]);
    await assert.rejects(model.run(x(1), ['scores']), (e: any) => e.code === 'SRV_ERR_UNAVAILABLE');
  });
});

describe('a worker thread that dies', () => {
  test('is restarted by the next run, which succeeds with the same answer', async () => {
    const bytes = await readFile(join(EXAMPLES, 'mlp', '1', 'model.onnx'));
    const started: Worker[] = [];
    const model = await loadOnnxInWorkers(bytes, 1, { intraOpThreads: 1, onWorkerStart: (w) => started.push(w) });
    try {
      const x = new Map([['x', { dtype: 'FP32' as const, shape: [1, WIDTH], data: new Float32Array(WIDTH).fill(0.25) }]]);
      const first = (await model.run(x, ['scores'])).get('scores')!;
      // Stopped while idle: terminating a thread inside ONNX Runtime's native call aborts
      // the process (see workers.ts), which is why the runtime itself never does it.
      await started[0]!.terminate();
      const again = (await model.run(x, ['scores'])).get('scores')!;
      assert.equal(started.length, 2, 'a new thread was started');
      assert.deepEqual(Array.from(again.data as Float32Array), Array.from(first.data as Float32Array));
    } finally {
      await model.release();
    }
  });
});
