// Reading Prometheus' instant-query answers (docs/querying/api.md): values arrive as text so
// NaN and the infinities survive JSON; anything that is not an instant vector is a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQueryResponse } from '../../slo/index.ts';

const ok = (result: unknown[], resultType = 'vector') => JSON.stringify({ status: 'success', data: { resultType, result } });
const sample = (value: string) => ({ metric: { model: 'm', version: '1' }, value: [1700000000, value] });

const TABLE: Array<{ name: string; status: number; body: string; values?: number[]; reason?: RegExp }> = [
  { name: 'a vector of numbers', status: 200, body: ok([sample('0.25'), sample('12')]), values: [0.25, 12] },
  { name: 'NaN (0/0)', status: 200, body: ok([sample('NaN')]), values: [NaN] },
  { name: '+Inf and -Inf', status: 200, body: ok([sample('+Inf'), sample('-Inf')]), values: [Infinity, -Infinity] },
  { name: 'an empty vector', status: 200, body: ok([]), values: [] },
  { name: 'a matrix instead of a vector', status: 200, body: ok([], 'matrix'), reason: /a "matrix" where an instant vector was expected/ },
  { name: 'a sample without a value', status: 200, body: ok([{ metric: {} }]), reason: /sample without metric or value/ },
  { name: 'an error answer', status: 422, body: JSON.stringify({ status: 'error', errorType: 'execution', error: 'query timed out' }), reason: /query failed \(HTTP 422, execution\): query timed out/ },
  { name: 'success text with an error status', status: 500, body: ok([]), reason: /HTTP 500 with status "success"/ },
  { name: 'not JSON', status: 200, body: 'hello', reason: /not JSON: "hello"/ },
];

for (const row of TABLE) {
  test(`an instant-query answer: ${row.name}`, () => {
    const r = parseQueryResponse(row.status, row.body);
    if (row.values) {
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.samples.map((s) => s.value), row.values);
    } else {
      assert.ok(!r.ok);
      assert.match(r.reason, row.reason!);
    }
  });
}
