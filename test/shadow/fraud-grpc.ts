// A TF Serving PredictRequest of one fraud row (as a grpc-js client built from the serving
// protos sends it), for the capture and replay tests.
import type { FraudRow } from '../../examples/data/fraud-reference.ts';

export function fraudPredictRequest(row: FraudRow, version: string): Record<string, unknown> {
  return {
    model_spec: { name: 'fraud', version: { value: version } },
    inputs: Object.fromEntries(Object.entries(row).map(([name, v]) => [name, { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }] }, float_val: [v] }])),
  };
}
