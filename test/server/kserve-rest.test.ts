import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../server/index.ts';
import { getJson, postJson, TempRepo } from '../helpers/repo.ts';

describe('KServe v2 / Open Inference Protocol REST API', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let url: string;
  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('half_plus_two');
    await repo.copyExample('fraud');
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, pollMs: 0,
      models: [
        { name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
        { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: {} },
      ],
    });
    url = srv.restUrl;
  });
  after(async () => {
    await srv.close();
    await repo.remove();
  });

  test('server metadata, liveness and readiness answer as the spec says', async () => {
    assert.deepEqual((await getJson(`${url}/v2`)).json, { name: 'modelgate', version: '0.1.0', extensions: [] });
    assert.equal((await getJson(`${url}/v2/health/live`)).status, 200);
    assert.deepEqual((await getJson(`${url}/v2/health/ready`)).json, { ready: true });
  });

  test('model metadata lists versions, platform onnx_onnxv1 and -1 for free dimensions', async () => {
    const r = await getJson(`${url}/v2/models/fraud`);
    assert.equal(r.status, 200);
    assert.equal(r.json.platform, 'onnx_onnxv1');
    assert.deepEqual(r.json.versions, ['1', '2']);
    assert.equal(r.json.inputs.length, 8);
    assert.deepEqual(r.json.outputs, [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      { name: 'label', datatype: 'INT64', shape: [-1] },
    ]);
    assert.deepEqual((await getJson(`${url}/v2/models/fraud/versions/1/ready`)).json, { name: 'fraud', ready: true });
    assert.equal((await getJson(`${url}/v2/models/fraud/versions/9/ready`)).status, 503);
  });

  test('infer takes flat or nested data and returns model_version, id and flat outputs', async () => {
    const flat = await postJson(`${url}/v2/models/half_plus_two/infer`, { id: 'r1', inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 5] }] });
    assert.equal(flat.text, '{"model_name":"half_plus_two","model_version":"123","id":"r1","outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[2.5,3.0,4.5]}]}');
    const nested = await postJson(`${url}/v2/models/half_plus_two/versions/123/infer`, { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [[1], [2]] }] });
    assert.equal(nested.status, 200);
    assert.deepEqual(nested.json.outputs[0].data, [2.5, 3]);
  });

  test('the outputs filter returns only the named outputs', async () => {
    const names = ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'];
    const inputs = names.map((name) => ({ name, shape: [2], datatype: 'FP32', data: [1, 2] }));
    const r = await postJson(`${url}/v2/models/fraud/versions/2/infer`, { inputs, outputs: [{ name: 'label' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model_version, '2');
    assert.deepEqual(r.json.outputs.map((o: any) => [o.name, o.datatype, o.shape]), [['label', 'INT64', [2]]]);
  });

  const errors: [string, object, number, RegExp][] = [
    ['a datatype that does not match the model', { inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [1] }] }, 400, /expects datatype FP32, got INT32/],
    ['an unknown datatype', { inputs: [{ name: 'x', shape: [1], datatype: 'FLOAT', data: [1] }] }, 400, /datatype must be one of/],
    ['data that does not fill the shape', { inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2] }] }, 400, /needs 3 values, got 2/],
    ['an unknown input', { inputs: [{ name: 'z', shape: [1], datatype: 'FP32', data: [1] }] }, 400, /not in the model/],
    ['an unknown output', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], outputs: [{ name: 'q' }] }, 400, /output "q" is not in the signature/],
    ['no inputs', { inputs: [] }, 400, /non-empty list/],
  ];
  for (const [name, body, status, msg] of errors) {
    test(`${name} → ${status} {"error"}`, async () => {
      const r = await postJson(`${url}/v2/models/half_plus_two/infer`, body);
      assert.equal(r.status, status, r.text);
      assert.match(r.json.error, msg);
    });
  }

  test('an unknown model or version is 404', async () => {
    assert.equal((await postJson(`${url}/v2/models/nope/infer`, { inputs: [] })).status, 404);
    assert.equal((await getJson(`${url}/v2/models/half_plus_two/versions/1`)).status, 404);
  });
});
