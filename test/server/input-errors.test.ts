// Inputs a model cannot take are the client's error (400 / INVALID_ARGUMENT) on every
// protocol, checked before the run where the signature allows it; a model that fails on a
// valid request is the server's (500 / INTERNAL). Through the gateway, only the second
// spends SLO budget.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../../config/index.ts';
import { startGateway, type Gateway } from '../../app/gateway.ts';
import { startServer, type ModelConfig, type RunningServer } from '../../server/index.ts';
import { runError } from '../../server/runtime/onnx.ts';
import type { Signature } from '../../server/runtime/types.ts';
import type { GraphSpec } from '../../examples/lib/onnx-builder.ts';
import { eventually, postJson, TempRepo } from '../helpers/repo.ts';
import { call, connect, expectCode, floatTensor, grpc, type Clients } from './grpc-helpers.ts';

const FRAUD_FEATURES = ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'];
/** Fraud inputs where `amount` has `first` rows and every other feature `rest` rows. */
const columns = (first: number, rest: number) => Object.fromEntries(FRAUD_FEATURES.map((f, i) => [f, Array.from({ length: i === 0 ? first : rest }, (_, k) => i + k)]));

/** Two inputs whose free dimensions have different names, added together: the graph fails when they differ. */
const pair: GraphSpec = {
  name: 'pair',
  inputs: [{ name: 'a', type: 'float', shape: ['A'] }, { name: 'b', type: 'float', shape: ['B'] }],
  outputs: [{ name: 'sum', type: 'float', shape: ['A'] }],
  nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
};

/** Takes any x[N] by its signature, but reshapes it to [1]: it fails at run time on any valid batch larger than one. */
const broken: GraphSpec = {
  name: 'broken',
  inputs: [{ name: 'x', type: 'float', shape: ['N'] }],
  outputs: [{ name: 'y', type: 'float', shape: [1] }],
  initializers: [{ name: 'one', type: 'int64', dims: [1], values: [1] }],
  nodes: [{ op: 'Reshape', inputs: ['x', 'one'], outputs: ['y'] }],
};

const policy = { kind: 'latest', numVersions: 1 } as const;

async function startModels(repo: TempRepo): Promise<RunningServer> {
  await repo.copyExample('fraud');
  await repo.writeVersion('pair', 1, pair);
  await repo.writeVersion('broken', 1, broken);
  const models: ModelConfig[] = [
    { name: 'fraud', basePath: repo.path('fraud'), policy, labels: {} },
    { name: 'pair', basePath: repo.path('pair'), policy, labels: {} },
    // On a worker thread: the error class must survive the trip back from the thread.
    { name: 'pair_threaded', basePath: repo.path('pair'), policy, labels: {}, workerThreads: 1 },
    { name: 'broken', basePath: repo.path('broken'), policy, labels: {} },
  ];
  return startServer({ host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, models });
}

describe('inputs a model cannot take are the client\'s error', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let c: Clients;
  before(async () => {
    repo = await TempRepo.create();
    srv = await startModels(repo);
    c = connect(srv.grpcAddress!);
  });
  after(async () => {
    c.close();
    await srv.close();
    await repo.remove();
  });

  test('TF Serving REST columnar inputs with different batch sizes get 400 naming both inputs', async () => {
    const r = await postJson(`${srv.restUrl}/v1/models/fraud:predict`, { inputs: columns(2, 3) });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error, /"amount" and "account_age_days" share dimension N .* 2 and 3/);
  });

  test('KServe v2 REST inputs with different batch sizes get 400', async () => {
    const inputs = FRAUD_FEATURES.map((name, i) => ({ name, datatype: 'FP32', shape: [i === 7 ? 1 : 2], data: i === 7 ? [1] : [1, 2] }));
    const r = await postJson(`${srv.restUrl}/v2/models/fraud/infer`, { inputs });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error, /share dimension N/);
  });

  test('gRPC Predict with different batch sizes gets INVALID_ARGUMENT', async () => {
    const inputs = Object.fromEntries(Object.entries(columns(3, 2)).map(([k, v]) => [k, floatTensor([v.length], v)]));
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'fraud' }, inputs }), grpc.status.INVALID_ARGUMENT, /share dimension N/);
  });

  test('gRPC ModelInfer with different batch sizes gets INVALID_ARGUMENT', async () => {
    const inputs = FRAUD_FEATURES.map((name, i) => ({ name, datatype: 'FP32', shape: [i === 3 ? 4 : 2], contents: { fp32_contents: i === 3 ? [1, 2, 3, 4] : [1, 2] } }));
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'fraud', inputs }), grpc.status.INVALID_ARGUMENT, /share dimension N/);
  });

  test('a graph that fails on batch sizes the signature could not tie together is still a 400, on the event loop and on a worker thread', async () => {
    for (const model of ['pair', 'pair_threaded']) {
      const ok = await postJson(`${srv.restUrl}/v1/models/${model}:predict`, { inputs: { a: [1, 2], b: [3, 4] } });
      assert.equal(ok.status, 200, ok.text);
      const r = await postJson(`${srv.restUrl}/v1/models/${model}:predict`, { inputs: { a: [1, 2], b: [3, 4, 5] } });
      assert.equal(r.status, 400, `${model}: ${r.text}`);
      assert.match(r.json.error, /leading \(batch\) dimension: "a" has 2, "b" has 3/);
      await expectCode(
        call(c.prediction, 'Predict', { model_spec: { name: model }, inputs: { a: floatTensor([2], [1, 2]), b: floatTensor([3], [1, 2, 3]) } }),
        grpc.status.INVALID_ARGUMENT,
      );
    }
  });

  test('a model that fails at run time on a valid request answers 500 / INTERNAL', async () => {
    assert.equal((await postJson(`${srv.restUrl}/v1/models/broken:predict`, { inputs: [7] })).status, 200);
    const r = await postJson(`${srv.restUrl}/v1/models/broken:predict`, { inputs: [1, 2] });
    assert.equal(r.status, 500, r.text);
    assert.match(r.json.error, /model run failed/);
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'broken' }, inputs: { x: floatTensor([2], [1, 2]) } }), grpc.status.INTERNAL);
  });
});

describe('the error class of a failed run', () => {
  const sig: Signature = { inputs: [{ name: 'a', dtype: 'FP32', shape: [-1] }, { name: 'b', dtype: 'FP32', shape: [-1] }], outputs: [] };
  const same = new Map([['a', { shape: [2] }], ['b', { shape: [2] }]]);
  const differ = new Map([['a', { shape: [2] }], ['b', { shape: [3] }]]);

  test('ONNX Runtime\'s own input checks are INVALID_ARGUMENT', () => {
    for (const m of [
      'Invalid rank for input: x Got: 2 Expected: 1 Please fix either the inputs/outputs or the model.',
      'Got invalid dimensions for input: x for the following indices index: 1 Got: 3 Expected: 4',
      'Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))',
      "input 'x' is missing in 'feeds'.",
      "Tensor's size(3) does not match data length(2).",
    ]) {
      assert.equal(runError(new Error(m), same, sig).code, 'SRV_ERR_INVALID_ARGUMENT', m);
    }
  });

  test('a failure inside the graph is INTERNAL unless the batch sizes disagree and the failure is about shapes', () => {
    const concat = "Non-zero status code returned while running Concat node. Name:'c' Status Message: Non concat axis dimensions must match: Axis 0 has mismatched dimensions of 3 and 2";
    assert.equal(runError(new Error(concat), differ, sig).code, 'SRV_ERR_INVALID_ARGUMENT');
    assert.equal(runError(new Error(concat), same, sig).code, 'SRV_ERR_INTERNAL');
    assert.equal(runError(new Error('Non-zero status code returned while running Div node: out of memory'), differ, sig).code, 'SRV_ERR_INTERNAL');
    const fixedFirst: Signature = { inputs: [{ name: 'a', dtype: 'FP32', shape: [2] }, { name: 'b', dtype: 'FP32', shape: [3] }], outputs: [] };
    assert.equal(runError(new Error(concat), differ, fixedFirst).code, 'SRV_ERR_INTERNAL');
  });
});

describe('through the gateway, client input errors spend no SLO budget and server faults do', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  let gw: Gateway;
  let c: Clients;
  before(async () => {
    repo = await TempRepo.create();
    srv = await startModels(repo);
    const yaml = repo.path('modelgate.yaml');
    const slo = (model: string) => `  - name: ${model}-availability
    model: ${model}
    version: each
    sli: {availability: {}}
    objective: 99.9
    period: 30d
`;
    await writeFile(yaml, `apiVersion: modelgate/v1\nslos:\n${slo('fraud')}${slo('pair')}${slo('broken')}`);
    const config = loadConfig(yaml);
    gw = await startGateway({
      config,
      tickMs: 60_000,
      proxyOverride: (p) => ({
        ...p,
        rest: { ...p.rest, host: '127.0.0.1', port: 0, upstream: srv.restUrl },
        grpc: { ...p.grpc, host: '127.0.0.1', port: 0, upstream: srv.grpcAddress! },
        admin: { ...p.admin, host: '127.0.0.1', port: 0 },
      }),
    });
    c = connect(gw.proxy.grpcAddress!);
  });
  after(async () => {
    c.close();
    await gw.close();
    await srv.close();
    await repo.remove();
  });

  /** The model's budget, summed over its versions. */
  function budget(model: string): { bad: number; total: number } {
    const b = { bad: 0, total: 0 };
    for (const s of gw.slo.evaluate()) {
      if (s.model !== model) continue;
      b.bad += s.budget.bad;
      b.total += s.budget.total;
    }
    return b;
  }

  test('mismatched batches on all three protocols are 400 / INVALID_ARGUMENT and leave the budget whole', async () => {
    const rest = gw.proxy.restUrl;
    assert.equal((await postJson(`${rest}/v1/models/fraud:predict`, { inputs: columns(2, 3) })).status, 400);
    const v2 = FRAUD_FEATURES.map((name, i) => ({ name, datatype: 'FP32', shape: [i === 7 ? 1 : 2], data: i === 7 ? [1] : [1, 2] }));
    assert.equal((await postJson(`${rest}/v2/models/fraud/infer`, { inputs: v2 })).status, 400);
    const tf = Object.fromEntries(Object.entries(columns(3, 2)).map(([k, v]) => [k, floatTensor([v.length], v)]));
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'fraud' }, inputs: tf }), grpc.status.INVALID_ARGUMENT);
    const kserve = FRAUD_FEATURES.map((name, i) => ({ name, datatype: 'FP32', shape: [i === 3 ? 4 : 2], contents: { fp32_contents: i === 3 ? [1, 2, 3, 4] : [1, 2] } }));
    await expectCode(call(c.kserve, 'ModelInfer', { model_name: 'fraud', inputs: kserve }), grpc.status.INVALID_ARGUMENT);
    assert.equal((await postJson(`${rest}/v1/models/pair:predict`, { inputs: { a: [1, 2], b: [3, 4, 5] } })).status, 400);
    // One good request per model, so the series exist and can be read.
    assert.equal((await postJson(`${rest}/v1/models/fraud:predict`, { inputs: columns(2, 2) })).status, 200);
    assert.equal((await postJson(`${rest}/v1/models/pair:predict`, { inputs: { a: [1], b: [2] } })).status, 200);
    // Client errors are not SLO events at all; the good request counts once it is recorded,
    // and the 4xx sent before it have been seen by then.
    for (const model of ['fraud', 'pair']) {
      const b = await eventually(() => { const x = budget(model); return x.total >= 1 && x; });
      assert.deepEqual(b, { bad: 0, total: 1 }, model);
    }
  });

  test('a model that fails on a valid request spends budget on REST and gRPC', async () => {
    assert.equal((await postJson(`${gw.proxy.restUrl}/v1/models/broken:predict`, { inputs: [7] })).status, 200);
    assert.equal((await postJson(`${gw.proxy.restUrl}/v1/models/broken:predict`, { inputs: [1, 2] })).status, 500);
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'broken' }, inputs: { x: floatTensor([2], [1, 2]) } }), grpc.status.INTERNAL);
    const b = await eventually(() => { const x = budget('broken'); return x.total >= 3 && x; }).catch(() => budget('broken'));
    assert.deepEqual(b, { bad: 2, total: 3 });
  });
});
