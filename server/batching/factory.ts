// The RunnerFactory the server passes to ModelManager: a Batcher for models whose config
// has `batching:`, the runtime directly for the others (batching is off unless configured).
import type { ServerMetrics } from '../metrics.ts';
import type { Runner, RunnerFactory } from '../models/types.ts';
import { Batcher } from './batcher.ts';

export function batchingRunnerFactory(metrics: ServerMetrics): RunnerFactory {
  return (model, version, loaded): Runner => {
    if (!model.batching) {
      return { run: (inputs, outputs) => loaded.run(inputs, outputs), close: async () => {} };
    }
    return new Batcher({ model: model.name, version, config: model.batching, run: (i, o) => loaded.run(i, o), metrics });
  };
}
