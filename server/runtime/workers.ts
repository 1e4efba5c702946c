// ONNX Runtime on worker threads. onnxruntime-node's session.run is a setImmediate around a
// synchronous native call (onnxruntime-node 1.30 dist/backend.js), so in-thread inference
// blocks the event loop for the whole run: no request is read, decoded or answered while a
// model computes, and two runs can never overlap. With `worker_threads: N` a model version
// gets N threads, each with its own session (Triton's instance_group count): the event loop
// only copies tensors in and out, and up to N runs (e.g. N batch threads) compute at once.
//
// Costs: each thread holds its own copy of the weights, and every run pays two message
// copies (tens of µs): worth it for models whose runs take hundreds of µs or more, not for
// half_plus_two.
import { Worker } from 'node:worker_threads';
import { SrvErr, type SrvErrCode } from '../errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { LoadedModel, RuntimeOptions, Signature } from './types.ts';
import { fromWire, toWire, type ToMain, type ToWorker, type WireError, type WireTensor } from './worker-protocol.ts';

const ENTRY = new URL('./worker-entry.js', import.meta.url);
/** How long release() waits for a thread to finish its current run before returning. */
const RELEASE_WAIT_MS = 5000;

function toError(e: WireError): Error {
  const make = (SrvErr as Record<string, (m: string) => Error>)[e.code as SrvErrCode] ?? SrvErr.SRV_ERR_INTERNAL;
  return make(e.message);
}

interface Pending {
  resolve(out: Map<string, Tensor>): void;
  reject(e: unknown): void;
}

/** One worker thread holding one session; restarted (and the model reloaded) if it dies. */
class Slot {
  #worker: Worker | undefined;
  #ready: Promise<Signature> | undefined;
  readonly pending = new Map<number, Pending>();
  #released = false;
  #loading = false;
  #releasing = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly intraOpThreads: number,
    private readonly onStart?: (worker: Worker) => void,
  ) {}

  /** Starts the thread and loads the model; resolves with the signature the session reports. */
  start(): Promise<Signature> {
    if (this.#ready) return this.#ready;
    const worker = new Worker(ENTRY, { execArgv: [] });
    this.#worker = worker;
    this.#loading = true;
    this.onStart?.(worker);
    this.#ready = new Promise<Signature>((resolve, reject) => {
      const onMessage = (msg: ToMain) => {
        switch (msg.type) {
          case 'loaded':
            this.#loading = false;
            this.#holdOpen();
            return resolve(msg.signature);
          case 'load-failed':
            this.#loading = false;
            this.#holdOpen();
            return reject(toError(msg.error));
          case 'result':
            return this.#take(msg.id)?.resolve(fromWire(msg.outputs));
          case 'run-failed':
            return this.#take(msg.id)?.reject(toError(msg.error));
        }
      };
      const onGone = (why: string) => {
        if (this.#worker !== worker) return;
        this.#worker = undefined;
        this.#ready = undefined;
        this.#loading = false;
        const err = SrvErr.SRV_ERR_INTERNAL(`inference worker stopped (${why}); the run was lost and the worker is restarted on the next request`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      worker.on('message', onMessage);
      worker.on('error', (e) => onGone(e.message));
      worker.on('exit', (code) => onGone(`exit code ${code}`));
    });
    // Copy: the bytes stay with us for restarts.
    this.#post({ type: 'load', bytes: this.bytes, intraOpThreads: this.intraOpThreads });
    return this.#ready;
  }

  /** The caller waiting for run `id`, no longer pending. */
  #take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.#holdOpen();
    return p;
  }

  /**
   * A thread keeps the process alive only while it has work (loading, runs, releasing):
   * an idle model must not keep a process with nothing else to do from exiting, and a
   * caller awaiting a run must not see the process exit under it.
   */
  #holdOpen(): void {
    const busy = this.#loading || this.#releasing || this.pending.size > 0;
    if (busy) this.#worker?.ref();
    else this.#worker?.unref();
  }

  #post(msg: ToWorker): void {
    this.#worker?.postMessage(msg);
  }

  async run(id: number, inputs: WireTensor[], outputNames: readonly string[]): Promise<Map<string, Tensor>> {
    if (this.#released) throw SrvErr.SRV_ERR_UNAVAILABLE('model version was unloaded');
    await this.start();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.#holdOpen();
      this.#post({ type: 'run', id, inputs, outputNames });
    });
  }

  async release(): Promise<void> {
    this.#released = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    this.#releasing = true;
    this.#holdOpen();
    this.#post({ type: 'release' });
    // The thread exits after the run it is in, if any. It is never terminated from here:
    // Worker#terminate during ONNX Runtime's native call aborts the whole process
    // ("terminate called after throwing an instance of 'Napi::Error'", seen in the tests),
    // so a run that outlasts the wait is left to finish on an unref'd thread.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, RELEASE_WAIT_MS)))]);
    clearTimeout(timer);
    this.#releasing = false;
    this.#holdOpen();
  }
}

export interface WorkerRuntimeOptions extends RuntimeOptions {
  /** Called with each thread as it starts (also on restarts): for diagnostics and tests. */
  onWorkerStart?: (worker: Worker) => void;
}

/**
 * Loads a model on `threads` worker threads. Resolves once every thread has its session;
 * rejects (stopping the threads) if the model does not load, with the error loadOnnx gives.
 */
export async function loadOnnxInWorkers(bytes: Uint8Array, threads: number, opts: WorkerRuntimeOptions = {}): Promise<LoadedModel> {
  const own = new Uint8Array(bytes); // the caller's buffer may be a view into something larger
  const slots = Array.from({ length: threads }, () => new Slot(own, opts.intraOpThreads ?? 0, opts.onWorkerStart));
  let signature: Signature;
  try {
    [signature] = (await Promise.all(slots.map((s) => s.start()))) as [Signature, ...Signature[]];
  } catch (e) {
    await Promise.all(slots.map((s) => s.release()));
    throw e;
  }
  let nextId = 1;
  let released = false;
  return {
    signature,
    run(inputs, outputNames) {
      if (released) return Promise.reject(SrvErr.SRV_ERR_UNAVAILABLE('model version was unloaded'));
      // The least busy thread; ties go to the first, so a lone caller keeps one warm thread.
      let slot = slots[0]!;
      for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
      return slot.run(nextId++, toWire(inputs), outputNames);
    },
    async release() {
      if (released) return;
      released = true;
      await Promise.all(slots.map((s) => s.release()));
    },
  };
}
