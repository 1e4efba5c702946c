// The inside of an inference worker thread: one ONNX Runtime session, loaded from the
// bytes the main thread sends, answering run requests one at a time. Protocol in
// worker-protocol.ts; the main-thread side is workers.ts.
import { parentPort } from 'node:worker_threads';
import { isModelgateError } from '../../common/errors.ts';
import { loadOnnx, type LoadedModel } from './onnx.ts';
import { ownedCopy, type ToMain, type ToWorker, type WireTensor } from './worker-protocol.ts';
import type { Tensor } from '../tensor/tensor.ts';

const port = parentPort;
if (!port) throw new Error('onnx-worker.ts runs only as a worker thread (see server/runtime/workers.ts)');

let model: LoadedModel | undefined;

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
      try {
        const inputs = new Map<string, Tensor>(msg.inputs.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: t.data }]));
        const out = await model.run(inputs, msg.outputNames);
        const outputs: WireTensor[] = [];
        const transfer: ArrayBuffer[] = [];
        for (const [name, t] of out) {
          const data = ownedCopy(t.data);
          if (ArrayBuffer.isView(data)) transfer.push(data.buffer as ArrayBuffer);
          outputs.push({ name, dtype: t.dtype, shape: t.shape, data });
        }
        post({ type: 'result', id: msg.id, outputs }, transfer);
      } catch (e) {
        post({ type: 'run-failed', id: msg.id, error: errorOf(e) });
      }
      return;
    }
    case 'release':
      await model?.release();
      model = undefined;
      port!.close();
      return;
  }
}
