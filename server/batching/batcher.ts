// Dynamic batching for one model version, after TF Serving's BasicBatchScheduler
// (tensorflow/core/kernels/batching_util/shared_batch_scheduler.h, configured by
// BatchingParameters in servables/tensorflow/session_bundle_config.proto):
//
// - requests ("tasks") join the open batch of their kind until it holds max_batch_size rows;
// - a batch runs when a batch thread is free and the batch is full, or has reached a
//   preferred size (Triton's preferred_batch_size), or has waited batch_timeout_micros
//   since it was opened; with the default timeout 0 whatever is queued runs as soon as a
//   thread is free, so batches form only while the model is busy;
// - at most max_enqueued_batches batches wait; a task that would open one more is
//   rejected with UNAVAILABLE, TF Serving's wording;
// - a task bigger than max_batch_size is rejected (TF Serving does the same unless
//   enable_large_batch_splitting is set; we do not split);
// - a task whose deadline passes while queued is answered DEADLINE_EXCEEDED at once and is
//   never run;
// - a batch runs at the next allowed_batch_sizes entry, padded with copies of its first row.
import type { BatchingConfig, Runner } from '../models/types.ts';
import type { ServerMetrics } from '../metrics.ts';
import { SrvErr } from '../errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { batchKey, concatRows, paddedSize, rowsOf, splitRows } from './tensors.ts';

export type RunFn = (inputs: Map<string, Tensor>, outputNames: readonly string[]) => Promise<Map<string, Tensor>>;

export interface BatcherOptions {
  model: string;
  version: number;
  config: BatchingConfig;
  /** Runs one (merged) batch on the runtime: LoadedModel.run. */
  run: RunFn;
  metrics: ServerMetrics;
  /** Wall clock for request deadlines (ms since epoch), the same clock infer() uses. */
  now?: () => number;
}

interface Task {
  inputs: Map<string, Tensor>;
  outputNames: readonly string[];
  rows: number;
  deadlineMs?: number;
  enqueuedAt: number;
  batch: Batch | undefined;
  timer?: NodeJS.Timeout;
  resolve(out: Map<string, Tensor>): void;
  reject(e: unknown): void;
}

interface Batch {
  key: string;
  rows: number;
  tasks: Task[];
  openedAt: number;
  /** No more tasks join: full, or a later batch of the same kind was opened. */
  closed: boolean;
}

export class Batcher implements Runner {
  readonly recordsInference = true;
  readonly #o: BatcherOptions;
  readonly #labels: { model: string; version: string };
  readonly #now: () => number;
  readonly #timeoutMs: number;
  /** Rows at which a batch goes without waiting: the largest preferred size, else max_batch_size. */
  readonly #goRows: number;
  #queue: Batch[] = [];
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: BatcherOptions) {
    this.#o = opts;
    this.#labels = { model: opts.model, version: String(opts.version) };
    this.#now = opts.now ?? Date.now;
    this.#timeoutMs = opts.config.batchTimeoutMicros / 1000;
    const preferred = opts.config.preferredBatchSizes.filter((p) => p <= opts.config.maxBatchSize);
    this.#goRows = preferred.length > 0 ? Math.max(...preferred) : opts.config.maxBatchSize;
  }

  /** Tasks waiting (not yet running). */
  get queuedTasks(): number {
    return this.#queue.reduce((n, b) => n + b.tasks.length, 0);
  }

  run(inputs: Map<string, Tensor>, outputNames: readonly string[], deadlineMs?: number): Promise<Map<string, Tensor>> {
    if (this.#closed) return Promise.reject(SrvErr.SRV_ERR_UNAVAILABLE('model version was unloaded'));
    const { maxBatchSize, maxEnqueuedBatches } = this.#o.config;
    let rows: number;
    try {
      rows = rowsOf(inputs);
    } catch (e) {
      return Promise.reject(e);
    }
    if (rows > maxBatchSize) {
      return Promise.reject(SrvErr.SRV_ERR_INVALID_ARGUMENT(`Task size ${rows} is larger than maximum batch size ${maxBatchSize}; send at most ${maxBatchSize} rows per request`));
    }
    if (deadlineMs !== undefined && this.#now() >= deadlineMs) {
      return Promise.reject(SrvErr.SRV_ERR_DEADLINE_EXCEEDED('Deadline exceeded before the request was queued'));
    }
    const key = batchKey(inputs, outputNames);
    let batch = this.#openBatchFor(key, rows);
    if (!batch) {
      if (this.#queue.length >= maxEnqueuedBatches) {
        // Wording of TF's SharedBatchScheduler (UNAVAILABLE → 503).
        return Promise.reject(SrvErr.SRV_ERR_UNAVAILABLE('The batch scheduling queue to which this task was submitted is full'));
      }
      for (const b of this.#queue) if (b.key === key) b.closed = true;
      batch = { key, rows: 0, tasks: [], openedAt: performance.now(), closed: false };
      this.#queue.push(batch);
    }
    return new Promise((resolve, reject) => {
      const task: Task = { inputs, outputNames, rows, deadlineMs, enqueuedAt: performance.now(), batch, resolve, reject };
      batch.tasks.push(task);
      batch.rows += rows;
      if (batch.rows >= maxBatchSize) batch.closed = true;
      if (deadlineMs !== undefined) {
        task.timer = setTimeout(() => this.#expire(task), Math.max(0, deadlineMs - this.#now()));
      }
      this.#o.metrics.queueDepth.inc(this.#labels);
      this.#pump();
    });
  }

  #openBatchFor(key: string, rows: number): Batch | undefined {
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const b = this.#queue[i]!;
      if (b.key === key && !b.closed && b.rows + rows <= this.#o.config.maxBatchSize) return b;
    }
    return undefined;
  }

  #ready(b: Batch, now: number): boolean {
    return b.closed || b.rows >= this.#goRows || now - b.openedAt >= this.#timeoutMs;
  }

  /** Starts every batch that may run now; otherwise wakes up when the oldest one times out. */
  #pump(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#running < this.#o.config.numBatchThreads && this.#queue.length > 0) {
      const now = performance.now();
      const i = this.#queue.findIndex((b) => this.#ready(b, now));
      if (i < 0) {
        const wait = Math.min(...this.#queue.map((b) => b.openedAt + this.#timeoutMs - now));
        this.#timer = setTimeout(() => this.#pump(), Math.max(0, wait));
        return;
      }
      const [batch] = this.#queue.splice(i, 1);
      this.#running++;
      this.#execute(batch!).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  #expire(task: Task): void {
    const b = task.batch;
    if (!b) return;
    b.tasks.splice(b.tasks.indexOf(task), 1);
    b.rows -= task.rows;
    task.batch = undefined;
    if (b.tasks.length === 0) {
      const i = this.#queue.indexOf(b);
      if (i >= 0) this.#queue.splice(i, 1);
    }
    this.#o.metrics.queueDepth.dec(this.#labels);
    task.reject(SrvErr.SRV_ERR_DEADLINE_EXCEEDED('Deadline exceeded while waiting in the batch queue; the request was not run'));
  }

  async #execute(batch: Batch): Promise<void> {
    const now = performance.now();
    const wall = this.#now();
    const tasks: Task[] = [];
    for (const t of batch.tasks) {
      if (t.timer) clearTimeout(t.timer);
      t.batch = undefined;
      this.#o.metrics.queueDepth.dec(this.#labels);
      if (t.deadlineMs !== undefined && wall >= t.deadlineMs) {
        t.reject(SrvErr.SRV_ERR_DEADLINE_EXCEEDED('Deadline exceeded while waiting in the batch queue; the request was not run'));
        continue;
      }
      this.#o.metrics.queueDuration.observe(this.#labels, (now - t.enqueuedAt) / 1000);
      tasks.push(t);
    }
    if (tasks.length === 0) return;
    try {
      const rows = tasks.reduce((n, t) => n + t.rows, 0);
      const size = paddedSize(rows, this.#o.config.allowedBatchSizes);
      const first = tasks[0]!;
      // A lone task at its own size runs on its own tensors: nothing to copy.
      const inputs = tasks.length === 1 && size === rows ? first.inputs : mergeInputs(tasks, size);
      this.#o.metrics.batchSize.observe(this.#labels, size);
      const t0 = performance.now();
      const out = await this.#o.run(inputs, first.outputNames);
      this.#o.metrics.inferenceDuration.observe(this.#labels, (performance.now() - t0) / 1000);
      if (tasks.length === 1 && size === rows) {
        first.resolve(out);
        return;
      }
      const perTask = tasks.map(() => new Map<string, Tensor>());
      const counts = tasks.map((t) => t.rows);
      for (const [name, t] of out) {
        splitRows(t, counts, name).forEach((part, k) => perTask[k]!.set(name, part));
      }
      tasks.forEach((t, k) => t.resolve(perTask[k]!));
    } catch (e) {
      for (const t of tasks) t.reject(e);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const b of this.#queue.splice(0)) {
      for (const t of b.tasks) {
        if (t.timer) clearTimeout(t.timer);
        this.#o.metrics.queueDepth.dec(this.#labels);
        t.reject(SrvErr.SRV_ERR_UNAVAILABLE('model version was unloaded'));
      }
    }
  }
}

function mergeInputs(tasks: readonly Task[], size: number): Map<string, Tensor> {
  const merged = new Map<string, Tensor>();
  for (const name of tasks[0]!.inputs.keys()) {
    merged.set(name, concatRows(tasks.map((t) => t.inputs.get(name)!), size));
  }
  return merged;
}
