import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractJson, extractTensors } from '../../drift/index.ts';
import type { FeatureConfig } from '../../drift/index.ts';
import { fraudRows } from '../../examples/data/fraud-reference.ts';
import { fraudDriftConfig, kserveBodies, tfServingColumnarBodies, tfServingRowBodies } from './helpers.ts';

const features = fraudDriftConfig().models[0]!.features;
const rows = fraudRows(3, 7);

function ok(r: ReturnType<typeof extractJson>) {
  assert.ok(r.ok, `extraction failed: ${r.ok ? '' : r.detail}`);
  return r;
}

for (const [format, bodies] of [
  ['TF Serving row format', tfServingRowBodies],
  ['TF Serving columnar format', tfServingColumnarBodies],
  ['KServe v2 JSON', kserveBodies],
] as const) {
  test(`${format}: every input by name, the fraud probability from column 1, the label`, () => {
    const b = bodies(rows);
    const r = ok(extractJson(features, b.requestBody, b.responseBody, 'application/json'));
    assert.equal(r.rows, 3);
    assert.deepEqual(r.values.get('amount'), rows.map((x) => x.amount));
    assert.deepEqual(r.values.get('failed_logins'), rows.map((x) => x.failed_logins));
    const p = r.values.get('fraud_probability')!;
    assert.equal(p.length, 3);
    for (const v of p) assert.ok(typeof v === 'number' && v >= 0 && v <= 1);
    assert.equal(r.values.get('label')!.length, 3);
  });
}

const single: FeatureConfig[] = [
  { name: 'x0', source: 'input', tensor: 'x', column: 0, kind: 'numeric', method: 'auto' },
  { name: 'x2', source: 'input', tensor: 'x', column: 2, kind: 'numeric', method: 'auto' },
  { name: 'y', source: 'output', tensor: 'y', kind: 'numeric', method: 'auto' },
];

const table: { name: string; request: unknown; response: unknown; expect: Record<string, unknown[]> }[] = [
  {
    name: 'row instances that are bare arrays belong to the only input',
    request: { instances: [[1, 2, 3], [4, 5, 6]] },
    response: { predictions: [0.5, 0.7] },
    expect: { x0: [1, 4], x2: [3, 6], y: [0.5, 0.7] },
  },
  {
    name: 'a bare columnar input belongs to the only input',
    request: { inputs: [[1, 2, 3], [4, 5, 6]] },
    response: { outputs: [0.5, 0.7] },
    expect: { x0: [1, 4], x2: [3, 6], y: [0.5, 0.7] },
  },
  {
    name: 'KServe nested data is read row-major',
    request: { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6]] }] },
    response: { outputs: [{ name: 'y', shape: [2], datatype: 'FP32', data: [0.5, 0.7] }] },
    expect: { x0: [1, 4], x2: [3, 6], y: [0.5, 0.7] },
  },
  {
    name: 'a response that cannot be read still yields the inputs',
    request: { instances: [{ x: [1, 2, 3] }] },
    response: { something: 'else' },
    expect: { x0: [1], x2: [3] },
  },
];
for (const c of table) {
  test(c.name, () => {
    const r = ok(extractJson(single, JSON.stringify(c.request), JSON.stringify(c.response)));
    assert.deepEqual(Object.fromEntries(r.values), c.expect);
  });
}

test('decoded gRPC tensors: column of a [N, C] input, bigint labels as they come', () => {
  const r = extractTensors(
    [...single, { name: 'label', source: 'output', tensor: 'label', kind: 'categorical', method: 'auto' }],
    [{ name: 'x', shape: [2, 3], values: new Float32Array([1, 2, 3, 4, 5, 6]) }],
    [{ name: 'y', shape: [2], values: [0.25, 0.75] }, { name: 'label', shape: [2], values: [0n, 1n] }],
  );
  assert.ok(r.ok);
  assert.deepEqual(Object.fromEntries(r.values), { x0: [1, 4], x2: [3, 6], y: [0.25, 0.75], label: [0n, 1n] });
});

test('a tensor whose shape does not match its data is not read', () => {
  const r = extractTensors(single, [{ name: 'x', shape: [2, 3], values: [1, 2, 3] }], []);
  assert.deepEqual(r, { ok: false, reason: 'unparsable', detail: 'no configured feature found in the body' });
});

const bad: [string, string | Buffer, string | Buffer, string | undefined, 'unparsable' | 'skipped'][] = [
  ['invalid JSON', '{"instances": [', '{}', 'application/json', 'unparsable'],
  ['a body in neither format', '{"examples": []}', '{"results": []}', undefined, 'unparsable'],
  ['a binary KServe body', Buffer.from([1, 2, 3]), Buffer.from([4]), 'application/octet-stream', 'unparsable'],
  ['an error response', '{"instances": [[1, 2, 3]]}', '{"error": "model not found"}', 'application/json', 'skipped'],
];
for (const [what, req, res, type, reason] of bad) {
  test(`${what} is ${reason}, never thrown`, () => {
    const r = extractJson(single, req, res, type);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, reason);
  });
}

test('a JSON body sent as form-urlencoded (curl -d) is still read, as TF Serving serves it; binary types are not', () => {
  const features = [{ name: 'x', source: 'input', tensor: 'x', kind: 'numeric', method: 'auto' }] as unknown as Parameters<typeof extractJson>[0];
  const form = extractJson(features, '{"instances":[{"x":1},{"x":2}]}', '{"predictions":[1,2]}', 'application/x-www-form-urlencoded');
  assert.equal(form.ok, true);
  const bin = extractJson(features, '{"instances":[{"x":1}]}', '', 'application/octet-stream');
  assert.equal(bin.ok, false);
});
