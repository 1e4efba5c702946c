// Shared by the drift tests: the fraud model's drift section and real request/response
// bodies in the shapes TF Serving and KServe v2 use.
import assert from 'node:assert/strict';
import { Issues } from '../../common/index.ts';
import { validateDriftSection } from '../../drift/index.ts';
import type { DriftConfig } from '../../drift/index.ts';
import { FRAUD_INPUTS, fraudPredict } from '../../examples/data/fraud-reference.ts';
import type { FraudRow } from '../../examples/data/fraud-reference.ts';

/** The fraud model as the example YAML describes it: 8 inputs, the fraud probability and the label. */
export function fraudDriftConfig(extra: Record<string, unknown> = {}, model: Record<string, unknown> = {}): DriftConfig {
  const issues = new Issues();
  const config = validateDriftSection(
    {
      window: '5m',
      minSamples: 200,
      ...extra,
      models: {
        fraud: {
          inputs: [...FRAUD_INPUTS],
          outputs: [{ name: 'fraud_probability', output: 'probabilities', column: 1 }, 'label'],
          ...model,
        },
      },
    },
    'drift',
    issues,
  );
  assert.deepEqual(issues.errors, [], 'the test config is valid');
  return config;
}

/** A TF Serving REST predict in row format, and the response TF Serving gives for a two-output model. */
export function tfServingRowBodies(rows: readonly FraudRow[]): { requestBody: Buffer; responseBody: Buffer } {
  const { probabilities, label } = fraudPredict(rows);
  return {
    requestBody: Buffer.from(JSON.stringify({ signature_name: 'serving_default', instances: rows })),
    responseBody: Buffer.from(JSON.stringify({ predictions: rows.map((_, i) => ({ probabilities: probabilities[i], label: label[i] })) })),
  };
}

/** The same batch in TF Serving's columnar format. */
export function tfServingColumnarBodies(rows: readonly FraudRow[]): { requestBody: Buffer; responseBody: Buffer } {
  const { probabilities, label } = fraudPredict(rows);
  const inputs = Object.fromEntries(FRAUD_INPUTS.map((k) => [k, rows.map((r) => r[k])]));
  return {
    requestBody: Buffer.from(JSON.stringify({ inputs })),
    responseBody: Buffer.from(JSON.stringify({ outputs: { probabilities, label } })),
  };
}

/** The same batch as a KServe v2 inference request/response. */
export function kserveBodies(rows: readonly FraudRow[]): { requestBody: Buffer; responseBody: Buffer } {
  const { probabilities, label } = fraudPredict(rows);
  const n = rows.length;
  return {
    requestBody: Buffer.from(JSON.stringify({
      inputs: FRAUD_INPUTS.map((k) => ({ name: k, shape: [n], datatype: 'FP32', data: rows.map((r) => r[k]) })),
    })),
    responseBody: Buffer.from(JSON.stringify({
      model_name: 'fraud',
      model_version: '1',
      outputs: [
        { name: 'probabilities', shape: [n, 2], datatype: 'FP32', data: probabilities.flat() },
        { name: 'label', shape: [n], datatype: 'INT64', data: label },
      ],
    })),
  };
}
