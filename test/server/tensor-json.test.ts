import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestedJson, scalarJson, type Tensor } from '../../server/tensor/tensor.ts';

/** The nesting written out element by element, as the general path does for any rank. */
function expected(t: Tensor, shape: number[]): string {
  const el = (i: number) => scalarJson(t, i, false);
  if (shape.length === 1) return `[${Array.from({ length: shape[0]! }, (_, i) => el(i)).join(',')}]`;
  const [n, w] = shape as [number, number];
  return `[${Array.from({ length: n }, (_, k) => `[${Array.from({ length: w }, (_, j) => el(k * w + j)).join(',')}]`).join(',')}]`;
}

test('float tensors of rank 1 and 2 are written as their elements nested by row, WriteDecimal-formatted', () => {
  const values = [2.5, 3, 0.2, -1 / 3, 1e-7, 123456789, NaN, -Infinity, 0];
  const table: [Tensor['dtype'], number[]][] = [
    ['FP32', [9]],
    ['FP64', [9]],
    ['FP32', [3, 3]],
    ['FP64', [9, 1]],
    ['FP32', [0]],
    ['FP32', [2, 0]],
  ];
  for (const [dtype, shape] of table) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'FP32' ? Float32Array.from(values.slice(0, n)) : Float64Array.from(values.slice(0, n));
    const t: Tensor = { dtype, shape, data };
    assert.equal(nestedJson(t, 0, shape, false), expected(t, shape), `${dtype} [${shape}]`);
  }
  const f32: Tensor = { dtype: 'FP32', shape: [3], data: Float32Array.from([2.5, 3, 0.2]) };
  assert.equal(nestedJson(f32, 0, f32.shape, false), '[2.5,3.0,0.2]');
  // A row of a rank-3 tensor starting past element 0.
  const r3: Tensor = { dtype: 'FP32', shape: [2, 2, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
  assert.equal(nestedJson(r3, 4, [2, 2], false), '[[5.0,6.0],[7.0,8.0]]');
});
