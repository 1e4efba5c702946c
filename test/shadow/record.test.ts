// What a capture line holds: only the allowed fields, and only the allowed inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPTURE_FIELDS, parseRecord, toRecord } from '../../shadow/index.ts';

const ALL = new Set(CAPTURE_FIELDS);
const NOW = new Date('2026-12-06T10:00:00Z');
const rest = (body: unknown) => ({
  model: 'fraud', version: '1', api: 'predict', protocol: 'rest' as const, contentType: 'application/json', path: '/v1/models/fraud:predict',
  requestBody: Buffer.from(JSON.stringify(body)), responseBody: Buffer.from('{"predictions":[[0.1,0.9]]}'), durationSeconds: 0.0042,
});

test('an inputs allowlist keeps only those inputs of a row-format request', () => {
  const r = toRecord(rest({ instances: [{ amount: 12, name: 'Ada Lovelace', card: '4111' }] }), ALL, NOW, new Set(['amount']));
  assert.deepEqual(JSON.parse(r.request!), { instances: [{ amount: 12 }] });
  assert.equal(r.latencyMs, 4.2);
});

test('an inputs allowlist keeps only those inputs of a columnar and of a KServe v2 request', () => {
  const columnar = toRecord(rest({ inputs: { amount: [12], name: ['Ada'] } }), ALL, NOW, new Set(['amount']));
  assert.deepEqual(JSON.parse(columnar.request!), { inputs: { amount: [12] } });
  const v2 = toRecord(rest({ inputs: [{ name: 'amount', shape: [1], datatype: 'FP32', data: [12] }, { name: 'name', shape: [1], datatype: 'BYTES', data: ['Ada'] }] }), ALL, NOW, new Set(['amount']));
  assert.deepEqual(JSON.parse(v2.request!).inputs.map((i: { name: string }) => i.name), ['amount']);
});

test('with an inputs allowlist a gRPC request message is left out whole, never written unfiltered', () => {
  const x = { ...rest({}), protocol: 'grpc' as const, contentType: 'application/grpc', method: '/tensorflow.serving.PredictionService/Predict', requestBody: Buffer.from([10, 5, 1, 2, 3]), responseBody: Buffer.from([1]) };
  const r = toRecord(x, ALL, NOW, new Set(['amount']));
  assert.equal(r.request, undefined);
  assert.equal(r.requestBase64, undefined);
  assert.equal(r.responseBase64, Buffer.from([1]).toString('base64'));
  assert.match(parseRecord(JSON.stringify(r)) as string, /no request body/);
  // Without the allowlist the message is kept (base64) and replayable.
  assert.equal(toRecord(x, ALL, NOW).requestBase64, Buffer.from([10, 5, 1, 2, 3]).toString('base64'));
});

test('fields not allowed are not written', () => {
  const r = toRecord(rest({ instances: [1] }), new Set(['model', 'request'] as const), NOW);
  assert.deepEqual(Object.keys(r).sort(), ['model', 'protocol', 'request']);
});
