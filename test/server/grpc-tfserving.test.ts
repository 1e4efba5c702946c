import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../server/index.ts';
import type { ModelConfig } from '../../server/index.ts';
import { TempRepo } from '../helpers/repo.ts';
import { call, connect, expectCode, floatTensor, grpc, rawFloatTensor, unpackSignatureDefMap, type Clients } from './grpc-helpers.ts';

const FRAUD_FEATURES = ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'];
const fraudInputs = (n: number) => Object.fromEntries(FRAUD_FEATURES.map((f, i) => [f, floatTensor([n], Array.from({ length: n }, (_, k) => i + k))]));

describe('TF Serving gRPC API (PredictionService, ModelService, health)', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;
  let models: ModelConfig[];

  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('half_plus_two');
    await repo.copyExample('fraud');
    models = [
      { name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
      { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1, canary: 2 } },
    ];
    srv = await startServer({ host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, grpcMaxMessageBytes: 64 * 1024, models });
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  test('startServer reports the gRPC address it listens on', () => {
    assert.match(srv.grpcAddress!, /^127\.0\.0\.1:\d+$/);
  });

  test('Predict with float_val answers half_plus_two and reports the version that served', async () => {
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([3], [1, 2, 5]) } });
    assert.deepEqual(r.outputs.y.float_val, [2.5, 3, 4.5]);
    assert.equal(r.outputs.y.dtype, 'DT_FLOAT');
    assert.deepEqual(r.outputs.y.tensor_shape.dim.map((d: any) => d.size), ['3']);
    assert.equal(r.model_spec.name, 'half_plus_two');
    assert.equal(r.model_spec.version.value, '123');
    assert.equal(r.model_spec.signature_name, 'serving_default');
  });

  test('Predict with tensor_content bytes gives the same answer', async () => {
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: rawFloatTensor([3], Float32Array.of(1, 2, 5)) } });
    assert.deepEqual(r.outputs.y.float_val, [2.5, 3, 4.5]);
  });

  test('one float_val value fills the whole shape (TensorProto version 0 rule)', async () => {
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([4], [2]) } });
    assert.deepEqual(r.outputs.y.float_val, [3, 3, 3, 3]);
  });

  test('more values than the shape holds is INVALID_ARGUMENT', async () => {
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([2], [1, 2, 3]) } }), grpc.status.INVALID_ARGUMENT);
  });

  test('an explicit version serves that version', async () => {
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'fraud', version: { value: '1' } }, inputs: fraudInputs(2) });
    assert.equal(r.model_spec.version.value, '1');
    assert.deepEqual(r.outputs.probabilities.tensor_shape.dim.map((d: any) => d.size), ['2', '2']);
    assert.equal(r.outputs.label.dtype, 'DT_INT64');
    assert.equal(r.outputs.label.int64_val.length, 2);
  });

  test('a version label serves the version it points to', async () => {
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'fraud', version_label: 'canary' }, inputs: fraudInputs(1), output_filter: ['label'] });
    assert.equal(r.model_spec.version.value, '2');
    assert.deepEqual(Object.keys(r.outputs), ['label']);
  });

  test('an unknown model is NOT_FOUND, an unknown version too', async () => {
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'nope' }, inputs: { x: floatTensor([1], [1]) } }), grpc.status.NOT_FOUND, /Servable not found/);
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two', version: { value: '7' } }, inputs: { x: floatTensor([1], [1]) } }), grpc.status.NOT_FOUND);
  });

  test('a wrong dtype, a missing input and an unknown signature are INVALID_ARGUMENT', async () => {
    const asDouble = { dtype: 'DT_DOUBLE', tensor_shape: { dim: [{ size: '1' }] }, double_val: [1] };
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: asDouble } }), grpc.status.INVALID_ARGUMENT, /expects FP32, got FP64/);
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'fraud' }, inputs: { amount: floatTensor([1], [1]) } }), grpc.status.INVALID_ARGUMENT, /Missing named input/);
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two', signature_name: 'other' }, inputs: { x: floatTensor([1], [1]) } }), grpc.status.INVALID_ARGUMENT, /not found in signature def/);
  });

  test('a message over the configured limit is RESOURCE_EXHAUSTED', async () => {
    const big = new Float32Array(32 * 1024); // 128 KiB of tensor_content > 64 KiB limit
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: rawFloatTensor([big.length], big) } }), grpc.status.RESOURCE_EXHAUSTED);
  });

  test('GetModelMetadata packs the signature_def map in an Any, as TF Serving does', async () => {
    const r = await call(c.prediction, 'GetModelMetadata', { model_spec: { name: 'half_plus_two' }, metadata_field: ['signature_def'] });
    assert.equal(r.model_spec.version.value, '123');
    const any = r.metadata.signature_def;
    assert.equal(any.type_url, 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const sig = unpackSignatureDefMap(any).signature_def.serving_default;
    assert.equal(sig.method_name, 'tensorflow/serving/predict');
    assert.equal(sig.inputs.x.dtype, 'DT_FLOAT');
    assert.deepEqual(sig.inputs.x.tensor_shape.dim.map((d: any) => d.size), ['-1']);
    await expectCode(call(c.prediction, 'GetModelMetadata', { model_spec: { name: 'half_plus_two' }, metadata_field: ['graph'] }), grpc.status.INVALID_ARGUMENT);
  });

  test('Regress and Classify work on tf.Example input for [N] models', async () => {
    const ex = (x: number) => ({ features: { feature: { x: { float_list: { value: [x] } } } } });
    const reg = await call(c.prediction, 'Regress', { model_spec: { name: 'half_plus_two' }, input: { example_list: { examples: [ex(1), ex(3)] } } });
    assert.deepEqual(reg.result.regressions.map((r: any) => r.value), [2.5, 3.5]);
    const feats = Object.fromEntries(FRAUD_FEATURES.map((f) => [f, { float_list: { value: [1] } }]));
    const cls = await call(c.prediction, 'Classify', { model_spec: { name: 'fraud', version_label: 'stable' }, input: { example_list: { examples: [{ features: { feature: feats } }] } } });
    assert.equal(cls.model_spec.version.value, '1');
    const classes = cls.result.classifications[0].classes;
    assert.deepEqual(classes.map((k: any) => k.label), ['0', '1']);
    assert.ok(Math.abs(classes[0].score + classes[1].score - 1) < 1e-5, 'probabilities sum to 1');
  });

  test('MultiInference runs each task on the shared input, in order', async () => {
    const ex = { features: { feature: { x: { float_list: { value: [4] } } } } };
    const r = await call(c.prediction, 'MultiInference', {
      tasks: [{ model_spec: { name: 'half_plus_two' }, method_name: 'tensorflow/serving/regress' }],
      input: { example_list: { examples: [ex] } },
    });
    assert.equal(r.results[0].regression_result.regressions[0].value, 4);
    await expectCode(call(c.prediction, 'MultiInference', { tasks: [{ model_spec: { name: 'half_plus_two' }, method_name: 'tensorflow/serving/predict' }], input: { example_list: { examples: [ex] } } }), grpc.status.UNIMPLEMENTED);
  });

  test('GetModelStatus lists versions with their state; unknown models are NOT_FOUND', async () => {
    const r = await call(c.model, 'GetModelStatus', { model_spec: { name: 'half_plus_two' } });
    assert.deepEqual(r.model_version_status, [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }]);
    const one = await call(c.model, 'GetModelStatus', { model_spec: { name: 'fraud', version: { value: '2' } } });
    assert.deepEqual(one.model_version_status.map((s: any) => s.version), ['2']);
    await expectCode(call(c.model, 'GetModelStatus', { model_spec: { name: 'nope' } }), grpc.status.NOT_FOUND);
  });

  test('HandleReloadConfigRequest moves a label; a label on an unavailable version is FAILED_PRECONDITION', async () => {
    const cfg = (canary: number) => ({
      config: {
        model_config_list: {
          config: [
            { name: 'half_plus_two', base_path: repo.path('half_plus_two'), model_platform: 'onnx' },
            { name: 'fraud', base_path: repo.path('fraud'), model_version_policy: { all: {} }, version_labels: { stable: '1', canary: String(canary) } },
          ],
        },
      },
    });
    await expectCode(call(c.model, 'HandleReloadConfigRequest', cfg(7)), grpc.status.FAILED_PRECONDITION, /not currently available/);
    const ok = await call(c.model, 'HandleReloadConfigRequest', cfg(1));
    assert.equal(ok.status.error_code, 'OK');
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'fraud', version_label: 'canary' }, inputs: fraudInputs(1) });
    assert.equal(r.model_spec.version.value, '1');
    await call(c.model, 'HandleReloadConfigRequest', cfg(2));
  });

  test('an unknown method is UNIMPLEMENTED and error text survives the trip (non-ASCII included)', async () => {
    const id = (b: Buffer) => b;
    const Generic = grpc.makeGenericClientConstructor({ SessionRun: { path: '/tensorflow.serving.SessionService/SessionRun', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, 'S');
    const g = new Generic(srv.grpcAddress!, grpc.credentials.createInsecure()) as any;
    try {
      await expectCode(new Promise((resolve, reject) => g.SessionRun(Buffer.alloc(0), (e: unknown, r: unknown) => (e ? reject(e) : resolve(r)))), grpc.status.UNIMPLEMENTED);
    } finally {
      g.close();
    }
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'modèle 100%' }, inputs: {} }), grpc.status.NOT_FOUND, /Latest\(modèle 100%\)/);
  });

  test('the health service says SERVING for the server and each API', async () => {
    for (const service of ['', 'tensorflow.serving.PredictionService', 'inference.GRPCInferenceService']) {
      const r = await call(c.health, 'Check', { service });
      assert.equal(r.status, 'SERVING', service);
    }
    await expectCode(call(c.health, 'Check', { service: 'nope' }), grpc.status.NOT_FOUND);
  });

  test('gRPC requests are counted with entrypoint="grpc" and the gRPC code name', async () => {
    const text = await srv.registry.metrics();
    assert.match(text, /modelgate_server_requests_total\{model="half_plus_two",version="123",api="predict",entrypoint="grpc",code="OK"\} [1-9]/);
    assert.match(text, /modelgate_server_requests_total\{model="__other__",version="unknown",api="predict",entrypoint="grpc",code="NOT_FOUND"\} [1-9]/);
    assert.match(text, /modelgate_server_requests_total\{model="__other__",version="unknown",api="other",entrypoint="grpc",code="RESOURCE_EXHAUSTED"\} 1/, 'refused before any method ran, still counted');
  });
});

describe('gRPC drain', () => {
  test('on drain the health service turns NOT_SERVING before the server closes', async () => {
    const repo = await TempRepo.create();
    await repo.copyExample('half_plus_two');
    const srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0,
      models: [{ name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }],
    });
    const c = connect(srv.grpcAddress!);
    try {
      const seen: string[] = [];
      const stream = (c.health as any).Watch({ service: '' });
      const ended = new Promise<void>((resolve) => {
        stream.on('data', (m: any) => {
          seen.push(m.status);
          if (m.status === 'SERVING') void srv.drain(5_000);
        });
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      });
      await ended;
      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    } finally {
      c.close();
      await srv.close();
      await repo.remove();
    }
  });
});
