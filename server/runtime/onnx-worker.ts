// The inside of an inference worker thread: one ONNX Runtime session, loaded from the
// bytes the main thread sends, answering run requests one at a time. Protocol in
// worker-protocol.ts; the main-thread side is workers.ts.
import { parentPort } from 'node:worker_threads';
import { isModelgateError } from '../../common/errors.ts';
import { loadOnnx } from './onnx.ts';
import type { LoadedModel } from './types.ts';
import { fromWire, toWire, type ToMain, type ToWorker } from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('onnx-worker.ts runs only as a worker thread (see server/runtime/workers.ts)');

let model: LoadedModel | undefined;
/** Runs started and not yet answered: release waits for them, so a session is never freed under a run. */
const running = new Set<Promise<unknown>>();

function errorOf(e: unknown): { code: string; message: string } {
  return { code: isModelgateError(e) ? e.code : 'SRV_ERR_INTERNAL', message: (e as Error)?.message ?? String(e) };
}

function post(msg: ToMain, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

port.on('message', (msg: ToWorker) => {
  void handle(msg);
});

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'load':
      try {
        model = await loadOnnx(msg.bytes, { intraOpThreads: msg.intraOpThreads });
        post({ type: 'loaded', signature: model.signature });
      } catch (e) {
        post({ type: 'load-failed', error: errorOf(e) });
      }
      return;
    case 'run': {
      if (!model) return post({ type: 'run-failed', id: msg.id, error: { code: 'SRV_ERR_UNAVAILABLE', message: 'model is not loaded in this worker' } });
      const run = model.run(fromWire(msg.inputs), msg.outputNames);
      running.add(run);
      try {
        const out = await run;
        const transfer: ArrayBuffer[] = [];
        post({ type: 'result', id: msg.id, outputs: toWire(out, transfer) }, transfer);
      } catch (e) {
        post({ type: 'run-failed', id: msg.id, error: errorOf(e) });
      } finally {
        running.delete(run);
      }
      return;
    }
    case 'release':
      await Promise.allSettled(running);
      await model?.release();
      model = undefined;
      port!.close();
      return;
  }
}
