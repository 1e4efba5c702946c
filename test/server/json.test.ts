import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloat32, formatFloat64, parseJson } from '../../server/tensor/json.ts';

test('float32 values print as the shortest decimal that reads back the same float', () => {
  const table: [number, string][] = [
    [Math.fround(0.2), '0.2'],
    [2.5, '2.5'],
    [3, '3.0'],
    [Math.fround(0.1), '0.1'],
    [Math.fround(1 / 3), '0.333333343'],
    [Math.fround(1e-7), '1e-7'],
    [Math.fround(123456789), '123456792.0'],
    [NaN, 'NaN'],
    [-Infinity, '-Infinity'],
  ];
  for (const [v, text] of table) assert.equal(formatFloat32(v), text, String(v));
});

test('float64 values print exactly and whole numbers keep a decimal point', () => {
  assert.equal(formatFloat64(0.2), '0.2');
  assert.equal(formatFloat64(1 / 3), '0.3333333333333333');
  assert.equal(formatFloat64(-2), '-2.0');
});

test('integers beyond 2^53 come back as exact bigints; small ones stay numbers', () => {
  const v = parseJson('{"a": [9007199254740993, 12, -9223372036854775808, 1.5]}') as { a: unknown[] };
  assert.deepEqual(v.a, [9007199254740993n, 12, -9223372036854775808n, 1.5]);
});

test('both parse paths reject forbidden keys and over-deep nesting', () => {
  for (const text of ['{"__proto__": 1}', '{"x": NaN, "constructor": 1}']) {
    assert.throws(() => parseJson(text), /not allowed/);
  }
  const deep = `${'['.repeat(70)}1${']'.repeat(70)}`;
  assert.throws(() => parseJson(deep), /nesting deeper than 64/);
  assert.throws(() => parseJson(`${'['.repeat(70)}NaN${']'.repeat(70)}`), /nesting deeper than 64/);
});

test('the exact parser reports where bad JSON breaks', () => {
  assert.throws(() => parseJson('{"a": NaN,'), /JSON Parse error/);
  assert.throws(() => parseJson('[Infinity] x'), /trailing/);
});
