// The limit for the REST benchmark: onnxruntime-node's session.run called in-process, with
// `concurrency` loops in parallel, no HTTP and no JSON. Each call wraps the same prebuilt
// input in a fresh ort.Tensor, as a server does per request.
import * as ort from 'onnxruntime-node';
import { Samples, summarize, type LoadSummary } from './load-rest.ts';

export interface RawLoop {
  run(opts: { concurrency: number; warmupMs: number; durationMs: number }): Promise<LoadSummary>;
  close(): Promise<void>;
}

export async function openRawLoop(modelFile: string, intraOpThreads: number, input: { data: Float32Array; shape: number[] }): Promise<RawLoop> {
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: intraOpThreads, graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0]!;
  const once = () => session.run({ [inputName]: new ort.Tensor('float32', input.data, input.shape) });

  async function loop(until: number, samples: Samples | undefined, state: { runs: number; lastDone: number }): Promise<void> {
    while (performance.now() < until) {
      const t0 = performance.now();
      await once();
      const t1 = performance.now();
      samples?.push(t1 - t0);
      state.runs++;
      state.lastDone = t1;
    }
  }

  return {
    async run({ concurrency, warmupMs, durationMs }) {
      const all = (until: number, samples: Samples | undefined, state: { runs: number; lastDone: number }) =>
        Promise.all(Array.from({ length: concurrency }, () => loop(until, samples, state)));
      const warm = { runs: 0, lastDone: 0 };
      await all(performance.now() + warmupMs, undefined, warm);
      const samples = new Samples();
      const state = { runs: 0, lastDone: 0 };
      const start = performance.now();
      await all(start + durationMs, samples, state);
      return summarize(samples.data, samples.count, 0, state.lastDone - start, warm.runs);
    },
    close: () => session.release(),
  };
}
