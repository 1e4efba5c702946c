// gRPC bodies from the proxy's tee (message bytes + method path) decoded into tensors and
// recorded like JSON: TF Serving Predict and KServe ModelInfer, encoded with the protos in server/grpc/protos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../common/index.ts';
import { DriftRecorder, loadBaselines } from '../../drift/index.ts';
import { decodeGrpcBodies } from '../../drift/grpc-bodies.ts';
import { servingServices } from '../../server/grpc/index.ts';
import { FRAUD_INPUTS, fraudPredict, fraudRows } from '../../examples/data/fraud-reference.ts';
import type { FraudRow } from '../../examples/data/fraud-reference.ts';
import { fraudDriftConfig } from './helpers.ts';

type Serialize = (v: unknown) => Buffer;
const services = servingServices();
const predict = services.predictionService['Predict']!;
const infer = services.inferenceService['ModelInfer']!;
const shape = (...dims: number[]) => ({ dim: dims.map((size) => ({ size: String(size) })) });

function predictMessages(rows: readonly FraudRow[]): { request: Buffer; response: Buffer } {
  const { probabilities, label } = fraudPredict(rows);
  const n = rows.length;
  const inputs = Object.fromEntries(FRAUD_INPUTS.map((k) => [k, { dtype: 'DT_FLOAT', tensor_shape: shape(n), float_val: rows.map((r) => r[k]) }]));
  return {
    request: (predict.requestSerialize as Serialize)({ model_spec: { name: 'fraud' }, inputs }),
    response: (predict.responseSerialize as Serialize)({
      outputs: {
        probabilities: { dtype: 'DT_FLOAT', tensor_shape: shape(n, 2), float_val: probabilities.flat() },
        label: { dtype: 'DT_INT64', tensor_shape: shape(n), int64_val: label.map(String) },
      },
    }),
  };
}

function inferMessages(rows: readonly FraudRow[]): { request: Buffer; response: Buffer } {
  const { probabilities, label } = fraudPredict(rows);
  const n = rows.length;
  const raw = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
  return {
    request: (infer.requestSerialize as Serialize)({
      model_name: 'fraud',
      inputs: FRAUD_INPUTS.map((k) => ({ name: k, datatype: 'FP32', shape: [String(n)] })),
      raw_input_contents: FRAUD_INPUTS.map((k) => raw(rows.map((r) => r[k]))),
    }),
    response: (infer.responseSerialize as Serialize)({
      model_name: 'fraud',
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: ['' + n, '2'], contents: { fp32_contents: probabilities.flat() } },
        { name: 'label', datatype: 'INT64', shape: [String(n)], contents: { int64_contents: label.map(String) } },
      ],
    }),
  };
}

test('a TF Serving Predict exchange decodes to the inputs and outputs by name', () => {
  const rows = fraudRows(3, 1);
  const { request, response } = predictMessages(rows);
  const d = decodeGrpcBodies('/tensorflow.serving.PredictionService/Predict', request, response)!;
  assert.deepEqual(d.inputs.map((t) => t.name).sort(), [...FRAUD_INPUTS].sort());
  const amount = d.inputs.find((t) => t.name === 'amount')!;
  assert.deepEqual(amount.shape, [3]);
  assert.deepEqual(Array.from(amount.values as Float32Array), rows.map((r) => Math.fround(r.amount)));
  assert.deepEqual(d.outputs.find((t) => t.name === 'probabilities')!.shape, [3, 2]);
});

test('a method that carries no tensors is not decoded', () => {
  assert.equal(decodeGrpcBodies('/tensorflow.serving.PredictionService/GetModelMetadata', Buffer.alloc(0), Buffer.alloc(0)), undefined);
});

for (const [what, method, messages] of [
  ['TF Serving Predict', '/tensorflow.serving.PredictionService/Predict', predictMessages],
  ['KServe ModelInfer (raw contents)', '/inference.GRPCInferenceService/ModelInfer', inferMessages],
] as const) {
  test(`${what} bodies from the proxy tee are recorded, and a shifted feature is found`, async () => {
    const { profiles } = await loadBaselines(fileURLToPath(new URL('../../examples/baselines', import.meta.url)));
    const rec = new DriftRecorder(fraudDriftConfig(), { clock: new ManualClock(0), baselines: profiles, grpcDecoder: decodeGrpcBodies });
    const rows = fraudRows(600, 2, { flatHours: true });
    for (let i = 0; i < rows.length; i += 20) {
      const { request, response } = messages(rows.slice(i, i + 20));
      rec.offer({ model: 'fraud', version: '1', protocol: 'grpc', method, requestBody: request, responseBody: response, contentType: 'application/grpc' });
    }
    rec.offer({ model: 'fraud', version: '1', protocol: 'grpc', method, requestBody: Buffer.from([0xff, 0xff, 0xff]), responseBody: Buffer.alloc(0) });
    await rec.flush();
    assert.equal(rec.stats.unparsable, 1, 'a damaged message is counted');
    const [v] = rec.evaluate();
    assert.equal(v!.samples, 600);
    assert.deepEqual(v!.driftedFeatures, ['hour_of_day']);
  });
}

test('without a decoder, gRPC bodies are skipped and counted, not misread as JSON', async () => {
  const rec = new DriftRecorder(fraudDriftConfig(), { clock: new ManualClock(0) });
  const { request, response } = predictMessages(fraudRows(2, 3));
  rec.offer({ model: 'fraud', version: '1', protocol: 'grpc', method: '/tensorflow.serving.PredictionService/Predict', requestBody: request, responseBody: response });
  await rec.flush();
  assert.deepEqual([rec.stats.skipped, rec.stats.unparsable], [1, 0]);
});
