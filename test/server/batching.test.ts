import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Batcher, concatRows, paddedSize, splitRows, batchKey, type RunFn } from '../../server/batching/index.ts';
import { ServerMetrics } from '../../server/metrics.ts';
import type { BatchingConfig } from '../../server/models/types.ts';
import type { Tensor } from '../../server/tensor/tensor.ts';
import { SERVER_METRIC } from '../../common/conventions.ts';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'FP32', shape, data: Float32Array.from(values) });
const rows = (...values: number[][]): Map<string, Tensor> => new Map([['x', f32([values.length, values[0]!.length], values.flat())]]);

function config(over: Partial<BatchingConfig> = {}): BatchingConfig {
  return { maxBatchSize: 8, batchTimeoutMicros: 0, maxEnqueuedBatches: 10, numBatchThreads: 1, allowedBatchSizes: [], preferredBatchSizes: [], ...over };
}

/** A runtime stand-in: doubles x, records each batch it ran, and can be held closed. */
function gatedRuntime() {
  const batches: number[][] = [];
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => (open = r));
  const run: RunFn = async (inputs) => {
    const x = inputs.get('x')!;
    batches.push(Array.from(x.data as Float32Array));
    await gate;
    return new Map([['y', { ...x, data: (x.data as Float32Array).map((v) => v * 2) }]]);
  };
  return {
    run,
    batches,
    release() {
      open();
    },
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
  };
}

function batcher(cfg: BatchingConfig, run: RunFn) {
  const registry = new Registry();
  const metrics = new ServerMetrics(registry);
  return { b: new Batcher({ model: 'm', version: 1, config: cfg, run, metrics }), registry };
}

describe('batch tensor helpers', () => {
  test('padded sizes go up to the next allowed size, or stay when none are configured', () => {
    const table: [number, number[], number][] = [
      [1, [], 1], [7, [], 7], [1, [2, 4, 8], 2], [2, [2, 4, 8], 2], [3, [2, 4, 8], 4], [8, [2, 4, 8], 8],
    ];
    for (const [n, allowed, want] of table) assert.equal(paddedSize(n, allowed), want, `${n} with [${allowed}]`);
  });

  test('concatenation pads with copies of the first row and the split returns each caller its rows', () => {
    const merged = concatRows([f32([1, 2], [1, 2]), f32([2, 2], [3, 4, 5, 6])], 4);
    assert.deepEqual(merged.shape, [4, 2]);
    assert.deepEqual(Array.from(merged.data as Float32Array), [1, 2, 3, 4, 5, 6, 1, 2]);
    const parts = splitRows(merged, [1, 2], 'y');
    assert.deepEqual(parts.map((p) => p.shape), [[1, 2], [2, 2]]);
    assert.deepEqual(parts.map((p) => Array.from(p.data as Float32Array)), [[1, 2], [3, 4, 5, 6]]);
  });

  test('requests with different inner shapes or outputs never share a batch', () => {
    const a = batchKey(rows([1, 2]), ['y']);
    assert.equal(a, batchKey(rows([3, 4], [5, 6]), ['y']));
    assert.notEqual(a, batchKey(rows([1, 2, 3]), ['y']));
    assert.notEqual(a, batchKey(rows([1, 2]), ['z']));
  });
});

describe('Batcher', () => {
  test('requests queued while the model is busy run together and each gets its own rows back', async () => {
    const rt = gatedRuntime();
    const { b, registry } = batcher(config(), rt.run);
    const first = b.run(rows([1, 1]), ['y']);
    const queued = [b.run(rows([2, 2]), ['y']), b.run(rows([3, 3], [4, 4]), ['y']), b.run(rows([5, 5]), ['y'])];
    rt.release();
    const out = await Promise.all([first, ...queued]);
    assert.deepEqual(rt.batches, [[1, 1], [2, 2, 3, 3, 4, 4, 5, 5]]);
    assert.deepEqual(out.map((o) => Array.from(o.get('y')!.data as Float32Array)), [[2, 2], [4, 4], [6, 6, 8, 8], [10, 10]]);
    const sizes = await registry.getSingleMetric(SERVER_METRIC.batchSize)!.get();
    const sum = sizes.values.find((v) => (v as { metricName?: string }).metricName === `${SERVER_METRIC.batchSize}_sum`)!.value;
    assert.equal(sum, 5, 'one batch of 1 row, then one of 4');
  });

  test('a full queue answers UNAVAILABLE at once', async () => {
    const rt = gatedRuntime();
    const { b } = batcher(config({ maxBatchSize: 2, maxEnqueuedBatches: 1 }), rt.run);
    const running = b.run(rows([1, 1]), ['y']);
    const waiting = b.run(rows([2, 2], [3, 3]), ['y']); // fills the one allowed batch
    await assert.rejects(b.run(rows([4, 4]), ['y']), (e: any) => e.code === 'SRV_ERR_UNAVAILABLE' && e.grpc === 14 && e.http === 503 && /queue .* is full/.test(e.message));
    rt.release();
    await Promise.all([running, waiting]);
  });

  test('a request whose deadline passes while queued is answered DEADLINE_EXCEEDED and never run', async () => {
    const rt = gatedRuntime();
    const { b } = batcher(config(), rt.run);
    const running = b.run(rows([1, 1]), ['y']);
    const late = b.run(rows([9, 9]), ['y'], Date.now() + 30);
    await assert.rejects(late, (e: any) => e.code === 'SRV_ERR_DEADLINE_EXCEEDED' && e.grpc === 4 && e.http === 504);
    const after = b.run(rows([2, 2]), ['y']);
    rt.release();
    await Promise.all([running, after]);
    assert.deepEqual(rt.batches, [[1, 1], [2, 2]], 'the expired request never reached the runtime');
  });

  test('a request bigger than max_batch_size is rejected, not split', async () => {
    const rt = gatedRuntime();
    const { b } = batcher(config({ maxBatchSize: 2 }), rt.run);
    await assert.rejects(b.run(rows([1], [2], [3]), ['y']), (e: any) => e.code === 'SRV_ERR_INVALID_ARGUMENT' && /larger than maximum batch size 2/.test(e.message));
    assert.equal(rt.batches.length, 0);
  });

  test('batches run at the next allowed size, padded, and padding never reaches a caller', async () => {
    const rt = gatedRuntime();
    rt.release();
    const { b } = batcher(config({ maxBatchSize: 4, allowedBatchSizes: [2, 4] }), rt.run);
    const out = await b.run(rows([7, 7], [8, 8], [9, 9]), ['y']);
    assert.deepEqual(rt.batches, [[7, 7, 8, 8, 9, 9, 7, 7]]);
    assert.deepEqual(out.get('y')!.shape, [3, 2]);
    assert.deepEqual(Array.from(out.get('y')!.data as Float32Array), [14, 14, 16, 16, 18, 18]);
  });

  test('a batch waits up to batch_timeout_micros for company, then runs without it', async () => {
    const rt = gatedRuntime();
    rt.release();
    const { b } = batcher(config({ batchTimeoutMicros: 20_000 }), rt.run);
    const a = b.run(rows([1, 1]), ['y']);
    const c = b.run(rows([2, 2]), ['y']);
    await Promise.all([a, c]);
    assert.deepEqual(rt.batches, [[1, 1, 2, 2]]);
  });

  test('a runtime failure fails every request of that batch and the next batch still runs', async () => {
    let calls = 0;
    const run: RunFn = async (inputs) => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return new Map([['y', inputs.get('x')!]]);
    };
    const { b } = batcher(config(), run);
    await assert.rejects(b.run(rows([1, 1]), ['y']), /boom/);
    const ok = await b.run(rows([2, 2]), ['y']);
    assert.deepEqual(Array.from(ok.get('y')!.data as Float32Array), [2, 2]);
  });

  test('closing answers every queued request UNAVAILABLE', async () => {
    const rt = gatedRuntime();
    const { b } = batcher(config(), rt.run);
    const running = b.run(rows([1, 1]), ['y']);
    const queued = b.run(rows([2, 2]), ['y']);
    await b.close();
    await assert.rejects(queued, (e: any) => e.code === 'SRV_ERR_UNAVAILABLE');
    rt.release();
    await running;
  });
});
