import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../server/index.ts';
import { TempRepo } from '../helpers/repo.ts';
import { call, connect, expectCode, grpc, type Clients } from './grpc-helpers.ts';

const FRAUD_FEATURES = ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'];

describe('KServe v2 gRPC API (GRPCInferenceService)', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;

  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('half_plus_two');
    await repo.copyExample('fraud');
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0,
      models: [
        { name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
        { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: {} },
      ],
    });
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  test('ModelInfer with typed contents answers in typed contents', async () => {
    const r = await call(c.kserve, 'ModelInfer', {
      model_name: 'half_plus_two', id: 'req-1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1, 2, 5] } }],
    });
    assert.equal(r.model_name, 'half_plus_two');
    assert.equal(r.model_version, '123');
    assert.equal(r.id, 'req-1');
    assert.equal(r.outputs[0].name, 'y');
    assert.equal(r.outputs[0].datatype, 'FP32');
    assert.deepEqual(r.outputs[0].shape, ['3']);
    assert.deepEqual(r.outputs[0].contents.fp32_contents, [2.5, 3, 4.5]);
    assert.equal(r.raw_output_contents.length, 0);
  });

  test('ModelInfer with raw_input_contents answers in raw_output_contents', async () => {
    const x = Float32Array.of(1, 2, 5, -3.5);
    const r = await call(c.kserve, 'ModelInfer', {
      model_name: 'half_plus_two', model_version: '123',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
      raw_input_contents: [Buffer.from(x.buffer)],
    });
    const raw: Buffer = r.raw_output_contents[0];
    const y = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assert.deepEqual(Array.from(y), [2.5, 3, 4.5, 0.25]);
    assert.deepEqual(r.outputs[0].shape, ['4']);
  });

  test('several inputs, an output filter and INT64 outputs', async () => {
    const inputs = FRAUD_FEATURES.map((name, i) => ({ name, datatype: 'FP32', shape: [2], contents: { fp32_contents: [i, i + 1] } }));
    const r = await call(c.kserve, 'ModelInfer', { model_name: 'fraud', model_version: '1', inputs, outputs: [{ name: 'label' }] });
    assert.equal(r.model_version, '1');
    assert.equal(r.outputs.length, 1);
    assert.equal(r.outputs[0].datatype, 'INT64');
    assert.equal(r.outputs[0].contents.int64_contents.length, 2);
    for (const v of r.outputs[0].contents.int64_contents) assert.ok(v === '0' || v === '1');
  });

  test('errors carry TF Serving status codes', async () => {
    const x = [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }];
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'nope', inputs: x }), grpc.status.NOT_FOUND);
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'half_plus_two', inputs: [{ name: 'x', datatype: 'FP64', shape: [1], contents: { fp64_contents: [1] } }] }), grpc.status.INVALID_ARGUMENT);
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'half_plus_two', inputs: [{ name: 'x', datatype: 'FP32', shape: [2], contents: { fp32_contents: [1] } }] }), grpc.status.INVALID_ARGUMENT, /needs 2 values/);
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'half_plus_two', inputs: x, raw_input_contents: [Buffer.alloc(3)] }), grpc.status.INVALID_ARGUMENT, /raw content has 3 bytes/);
  });

  test('liveness, readiness and metadata', async () => {
    assert.equal((await call(c.kserve, 'ServerLive', {})).live, true);
    assert.equal((await call(c.kserve, 'ServerReady', {})).ready, true);
    assert.equal((await call(c.kserve, 'ModelReady', { name: 'fraud', version: '2' })).ready, true);
    assert.equal((await call(c.kserve, 'ModelReady', { name: 'fraud', version: '9' })).ready, false);
    await expectCode(call(c.kserve, 'ModelReady', { name: 'nope' }), grpc.status.NOT_FOUND);
    const sm = await call(c.kserve, 'ServerMetadata', {});
    assert.equal(sm.name, 'modelgate');
    const mm = await call(c.kserve, 'ModelMetadata', { name: 'half_plus_two' });
    assert.equal(mm.platform, 'onnx_onnxv1');
    assert.deepEqual(mm.versions, ['123']);
    assert.deepEqual(mm.inputs, [{ name: 'x', datatype: 'FP32', shape: ['-1'] }]);
  });
});
