// The gRPC pass-through in front of modelgate's own gRPC server (server/grpc), with clients
// built from the TF Serving and KServe protos in server/grpc/protos.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { RequestOutcome } from '../../common/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { ALL_VERSIONS, serveExampleCopies, type ServerWithRepo } from '../helpers/server.ts';
import { call, connect, expectCode, floatTensor } from '../server/grpc-helpers.ts';
import type { Clients } from '../server/grpc-helpers.ts';
import { seeded, startProxy, until } from './helpers.ts';

describe('gRPC proxy in front of the modelgate server', () => {
  let srv: ServerWithRepo;
  let proxy: Proxy;
  let c: Clients;
  const outcomes: RequestOutcome[] = [];
  const fraudRow = (v: number) => ({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '1' }] }, float_val: [v] });
  const fraudInputs = Object.fromEntries(
    ['amount', 'account_age_days', 'tx_last_hour', 'distance_km', 'merchant_risk', 'hour_of_day', 'device_age_days', 'failed_logins'].map((k, i) => [k, fraudRow(i + 1)]),
  );

  before(async () => {
    srv = await serveExampleCopies({ half_plus_two: {}, fraud: { policy: ALL_VERSIONS } }, { grpcPort: 0 });
    ({ proxy } = await startProxy(
      { grpc: { host: '127.0.0.1', port: 0, upstream: srv.grpcAddress! }, splits: { fraud: { stable: 1, canary: 2, weight: 30 } } },
      { random: seeded(3) },
    ));
    proxy.onOutcome((o) => outcomes.push(o));
    c = connect(proxy.grpcAddress!);
  });
  after(async () => {
    c.close();
    await proxy.close();
    await srv.close();
  });

  test('TF Serving Predict passes through unchanged and is labelled with the version in the response', async () => {
    outcomes.length = 0;
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floatTensor([3], [1, 2, 5]) } });
    assert.deepEqual(r.outputs.y.float_val, [2.5, 3, 4.5]);
    assert.equal(r.model_spec.version.value, '123');
    const o = await until(() => outcomes[0]);
    assert.deepEqual([o.model, o.version, o.api, o.protocol, o.code, o.variant], ['half_plus_two', '123', 'predict', 'grpc', 'OK', 'direct']);
  });

  test('a split on fraud pins each unversioned Predict, and the server serves the pinned version', async () => {
    outcomes.length = 0;
    const served: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await call(c.prediction, 'Predict', { model_spec: { name: 'fraud' }, inputs: fraudInputs });
      served.push(r.model_spec.version.value);
    }
    assert.ok(served.includes('1') && served.includes('2'));
    await until(() => outcomes.length === 40);
    assert.deepEqual(outcomes.map((o) => o.version), served);
    assert.ok(outcomes.every((o) => (o.version === '2') === (o.variant === 'canary')));
  });

  test('version_label "stable" resolves to the split even though the server has no such label', async () => {
    const r = await call(c.prediction, 'Predict', { model_spec: { name: 'fraud', version_label: 'stable' }, inputs: fraudInputs });
    assert.equal(r.model_spec.version.value, '1');
  });

  test('KServe ModelInfer is labelled api=infer with the model_version of the response', async () => {
    outcomes.length = 0;
    const r = await call(c.kserve, 'ModelInfer', { model_name: 'half_plus_two', inputs: [{ name: 'x', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1, 2, 5] } }] });
    assert.equal(r.model_version, '123');
    const o = await until(() => outcomes[0]);
    assert.deepEqual([o.api, o.version], ['infer', '123']);
  });

  test('an error status from the server reaches the client with its code', async () => {
    await expectCode(call(c.prediction, 'Predict', { model_spec: { name: 'nope' }, inputs: { x: floatTensor([1], [1]) } }), grpc.status.NOT_FOUND);
  });

  test('the standard health service, which the proxy does not know, passes through', async () => {
    const r = await call(c.health, 'Check', { service: '' });
    assert.equal(r.status, 'SERVING');
  });
});
