import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../server/index.ts';
import { connect } from 'node:net';
import { eventually, getJson, postJson, TempRepo } from '../helpers/repo.ts';

// Extra models only these tests need: int64 and string identities, to check dtype rules.
const int64Identity = {
  name: 'ids', inputs: [{ name: 'id', type: 'int64' as const, shape: ['N'] }],
  outputs: [{ name: 'id_out', type: 'int64' as const, shape: ['N'] }],
  nodes: [{ op: 'Identity', inputs: ['id'], outputs: ['id_out'] }],
};
const stringIdentity = {
  name: 'echo', inputs: [{ name: 'text', type: 'string' as const, shape: ['N'] }],
  outputs: [{ name: 'text_bytes', type: 'string' as const, shape: ['N'] }],
  nodes: [{ op: 'Identity', inputs: ['text'], outputs: ['text_bytes'] }],
};

describe('TF Serving REST API', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let url: string;

  before(async () => {
    repo = await TempRepo.create();
    await repo.copyExample('half_plus_two');
    await repo.copyExample('fraud');
    await repo.writeVersion('ids', 1, int64Identity);
    await repo.writeVersion('echo', 1, stringIdentity);
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, pollMs: 0,
      models: [
        { name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
        { name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1, canary: 2 } },
        { name: 'ids', basePath: repo.path('ids'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
        { name: 'echo', basePath: repo.path('echo'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
      ],
    });
    url = srv.restUrl;
  });
  after(async () => {
    await srv.close();
    await repo.remove();
  });

  test('the documented half_plus_two predict gives exactly the documented response', async () => {
    const r = await postJson(`${url}/v1/models/half_plus_two:predict`, '{"instances": [1.0, 2.0, 5.0]}');
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"predictions":[2.5,3.0,4.5]}');
    assert.equal(r.headers.get('x-model-version'), '123');
  });

  test('columnar inputs give outputs, and an explicit version serves that version', async () => {
    const r = await postJson(`${url}/v1/models/half_plus_two/versions/123:predict`, { inputs: [1, 2] });
    assert.equal(r.text, '{"outputs":[2.5,3.0]}');
  });

  test('float32 results are written as their shortest decimal (0.2 reads 0.2)', async () => {
    const r = await postJson(`${url}/v1/models/half_plus_two:predict`, { instances: [-3.5, 0.1, 1e-7, -3.6] });
    // float32: 0.5*0.1+2 is 2.04999995..., which reads back as 2.05; 0.5*-3.6f+2 is 0.200000048 (not 0.2f).
    assert.equal(r.text, '{"predictions":[0.25,2.05,2.0,0.200000048]}');
  });

  test('the model status answers in GetModelStatusResponse JSON', async () => {
    const r = await getJson(`${url}/v1/models/half_plus_two`);
    assert.deepEqual(r.json, { model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
    const one = await getJson(`${url}/v1/models/fraud/versions/2`);
    assert.deepEqual(one.json.model_version_status.map((s: any) => s.version), ['2']);
    const all = await getJson(`${url}/v1/models/fraud`);
    assert.deepEqual(all.json.model_version_status.map((s: any) => s.version), ['2', '1']);
  });

  test('metadata has the double-nested signature_def with TF dtypes and string dims', async () => {
    const r = await getJson(`${url}/v1/models/half_plus_two/metadata`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.model_spec, { name: 'half_plus_two', signature_name: '', version: '123' });
    const sig = r.json.metadata.signature_def.signature_def.serving_default;
    assert.deepEqual(sig.inputs.x, { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1', name: '' }], unknown_rank: false }, name: 'x' });
    assert.equal(sig.method_name, 'tensorflow/serving/predict');
  });

  test('a model with several inputs takes row objects and returns one object per row', async () => {
    const row = { amount: 2500, account_age_days: 3, tx_last_hour: 9, distance_km: 800, merchant_risk: 0.9, hour_of_day: 3, device_age_days: 1, failed_logins: 4 };
    const r = await postJson(`${url}/v1/models/fraud/labels/stable:predict`, { instances: [row] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-model-version'), '1');
    assert.equal(r.json.predictions.length, 1);
    assert.deepEqual(Object.keys(r.json.predictions[0]), ['probabilities', 'label']);
    assert.equal(r.json.predictions[0].label, 1);
    const canary = await postJson(`${url}/v1/models/fraud/labels/canary:predict`, { instances: [row] });
    assert.equal(canary.headers.get('x-model-version'), '2');
  });

  test('regress and classify work on models whose inputs are [N] tensors; results key is "results"', async () => {
    const reg = await postJson(`${url}/v1/models/half_plus_two:regress`, { examples: [{ x: 1.0 }, { x: 2.0 }] });
    assert.equal(reg.text, '{"results":[2.5,3.0]}');
    const row = { amount: 10, account_age_days: 2000, tx_last_hour: 0, distance_km: 1, merchant_risk: 0.05, hour_of_day: 14, device_age_days: 900, failed_logins: 0 };
    const cls = await postJson(`${url}/v1/models/fraud:classify`, { context: { hour_of_day: 12 }, examples: [row] });
    assert.equal(cls.status, 200, cls.text);
    const [[c0, c1]] = cls.json.results;
    assert.equal(c0[0], '0');
    assert.equal(c1[0], '1');
    assert.ok(Math.abs(c0[1] + c1[1] - 1) < 1e-6);
  });

  test('int64 values keep full precision both ways', async () => {
    const r = await postJson(`${url}/v1/models/ids:predict`, '{"instances": [9007199254740993, -9223372036854775808, 1]}');
    assert.equal(r.text, '{"predictions":[9007199254740993,-9223372036854775808,1]}');
  });

  test('an int input rejects 1.5 and a float input rejects a string', async () => {
    const r = await postJson(`${url}/v1/models/ids:predict`, { instances: [1.5] });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /expected an integer for INT64/);
    const s = await postJson(`${url}/v1/models/half_plus_two:predict`, { instances: ['x'] });
    assert.equal(s.status, 400);
  });

  test('b64 strings are decoded on the way in and re-encoded for *_bytes outputs', async () => {
    const r = await postJson(`${url}/v1/models/echo:predict`, { instances: [{ b64: Buffer.from('héllo').toString('base64') }, 'plain'] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: [{ b64: Buffer.from('héllo').toString('base64') }, { b64: Buffer.from('plain').toString('base64') }] });
  });

  test('NaN and Infinity tokens are accepted like TF Serving accepts them', async () => {
    const r = await postJson(`${url}/v1/models/half_plus_two:predict`, '{"instances": [NaN, Infinity, -Infinity]}');
    assert.equal(r.text, '{"predictions":[NaN,Infinity,-Infinity]}');
  });

  const errorCases: [string, string, string | object, number, RegExp][] = [
    ['unknown model', '/v1/models/nope:predict', { instances: [1] }, 404, /Servable not found for request: Latest\(nope\)/],
    ['unknown version', '/v1/models/half_plus_two/versions/7:predict', { instances: [1] }, 404, /Specific\(half_plus_two, 7\)/],
    ['unknown label', '/v1/models/half_plus_two/labels/gold:predict', { instances: [1] }, 400, /Unrecognized servable version label: gold/],
    ['bad JSON', '/v1/models/half_plus_two:predict', '{"instances": [1,', 400, /JSON Parse error/],
    ['both instances and inputs', '/v1/models/half_plus_two:predict', { instances: [1], inputs: [1] }, 400, /both/],
    ['neither instances nor inputs', '/v1/models/half_plus_two:predict', { foo: 1 }, 400, /Missing 'inputs' or 'instances' key/],
    ['empty instances', '/v1/models/half_plus_two:predict', { instances: [] }, 400, /empty/],
    ['unknown signature', '/v1/models/half_plus_two:predict', { signature_name: 'other', instances: [1] }, 400, /Serving signature name: "other" not found/],
    ['ragged instances', '/v1/models/half_plus_two:predict', { inputs: [[1, 2], [3]] }, 400, /ragged/],
    ['wrong rank', '/v1/models/half_plus_two:predict', { inputs: [[1, 2], [3, 4]] }, 400, /expects shape \[-1\]/],
    ['missing named input', '/v1/models/fraud:predict', { inputs: { amount: [1] } }, 400, /Missing named input: account_age_days/],
    ['__proto__ key', '/v1/models/half_plus_two:predict', '{"instances":[1],"__proto__":{"x":1}}', 400, /not allowed/],
    ['constructor key', '/v1/models/half_plus_two:predict', '{"instances":[{"constructor":1}]}', 400, /not allowed/],
    ['deep nesting', '/v1/models/half_plus_two:predict', `{"instances":${'['.repeat(200)}1${']'.repeat(200)}}`, 400, /nesting deeper/],
    ['malformed verb', '/v1/models/half_plus_two:explode', { instances: [1] }, 400, /Malformed request/],
    ['version and label path', '/v1/models/half_plus_two/versions/x:predict', { instances: [1] }, 400, /Malformed request/],
    ['classify on a model without scores', '/v1/models/half_plus_two:classify', { examples: [{ x: 1 }] }, 501, /classify needs/],
  ];
  for (const [name, path, body, status, message] of errorCases) {
    test(`${name} → ${status} with a JSON error`, async () => {
      const r = await postJson(url + path, body);
      assert.equal(r.status, status, r.text);
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.match(r.json.error, message);
    });
  }

  test('GET on a predict URL is a malformed request, not a crash', async () => {
    const r = await getJson(`${url}/v1/models/half_plus_two:predict`);
    assert.equal(r.status, 400);
    assert.match(r.json.error, /Malformed request: GET/);
  });

  test('model names that try to leave the repository read nothing and answer 404 or 400', async () => {
    for (const p of ['/v1/models/..%2F..%2Fetc', '/v1/models/%2e%2e', '/v1/models/%2Fetc%2Fpasswd', '/v1/models/a%00b', '/v1/models/%E0%A4%A']) {
      const r = await getJson(url + p);
      assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
      assert.equal(typeof r.json.error, 'string');
    }
    const traversal = await getJson(`${url}/v1/models/..%2F..%2Fetc`);
    assert.equal(traversal.json.error, 'Could not find any versions of model ../../etc');
  });

  test('requests are counted per model and version; unknown model names fold into one series', async () => {
    await postJson(`${url}/v1/models/evil-${Date.now()}:predict`, { instances: [1] });
    const text = await (await fetch(`${url}/monitoring/prometheus/metrics`)).text();
    assert.match(text, /modelgate_server_requests_total\{model="half_plus_two",version="123",api="predict",entrypoint="rest",code="200"\} \d+/);
    assert.match(text, /modelgate_server_requests_total\{model="__other__",version="unknown",api="predict",entrypoint="rest",code="404"\}/);
    assert.doesNotMatch(text, /evil-/);
    assert.match(text, /modelgate_server_model_state\{model="fraud",version="2",state="AVAILABLE"\} 1/);
    assert.match(text, /modelgate_server_model_load_duration_seconds_count\{model="fraud",version="1"\} 1/);
    assert.match(text, /modelgate_server_inference_duration_seconds_bucket/);
  });

  test('a client that goes away in the middle of its body is counted as 499 (client closed request)', async () => {
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /v1/models/fraud/versions/2:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"instances": [');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await eventually(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return /modelgate_server_requests_total\{model="fraud",version="unknown",api="predict",entrypoint="rest",code="499"\} 1/.test(text);
    });
  });
});
