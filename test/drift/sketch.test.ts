import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binCounts, binIndex, quantileEdges, NumericSketch, CategoricalSketch, OTHER_CATEGORY } from '../../drift/index.ts';
import { seededRandom } from '../../drift/random.ts';

test('bins are right-closed and open at both ends', () => {
  const edges = [0, 1, 2];
  const table: [number, number][] = [[-5, 0], [0, 0], [0.5, 1], [1, 1], [1.0001, 2], [2, 2], [2.5, 3], [1e9, 3]];
  for (const [x, bin] of table) assert.equal(binIndex(edges, x), bin, `x = ${x}`);
});

test('quantile edges of a discrete feature collapse to one bin per value', () => {
  const values = Float64Array.from([...Array(80).fill(0), ...Array(15).fill(1), ...Array(5).fill(2)]);
  const edges = quantileEdges(values, 10);
  assert.deepEqual(edges, [0, 1]);
  assert.deepEqual(binCounts(edges, values), [80, 15, 5]);
});

test('quantile edges of a continuous feature split it into equal shares', () => {
  const values = Float64Array.from({ length: 1000 }, (_, i) => i);
  const edges = quantileEdges(values, 10);
  assert.equal(edges.length, 9);
  assert.deepEqual(binCounts(edges, values), [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
});

test('the reservoir stays at its size and is a uniform sample of the stream', () => {
  const s = new NumericSketch(1000, seededRandom(1));
  for (let i = 0; i < 100_000; i++) s.add(i);
  assert.equal(s.count, 100_000);
  assert.equal(s.sample().length, 1000);
  const mean = s.sample().reduce((a, b) => a + b, 0) / 1000;
  // Uniform over 0..99999: mean 50000, sd of the mean ≈ 28868/√1000 ≈ 913.
  assert.ok(Math.abs(mean - 50_000) < 3000, `mean ${mean}`);
  assert.equal(s.bytes(), 8000, '1000 doubles, no bins without a baseline');
});

test('merging numeric sketches adds bin counts exactly and samples both sides in proportion', () => {
  const edges = [0.5];
  const a = new NumericSketch(500, seededRandom(2), edges);
  const b = new NumericSketch(500, seededRandom(3), edges);
  for (let i = 0; i < 3000; i++) a.add(0);
  for (let i = 0; i < 1000; i++) b.add(1);
  a.merge(b);
  assert.equal(a.count, 4000);
  assert.deepEqual(a.counts, [3000, 1000]);
  const ones = a.sample().filter((x) => x === 1).length / a.sample().length;
  assert.equal(a.sample().length, 500);
  assert.ok(Math.abs(ones - 0.25) < 0.06, `share of the second sketch ${ones}`);
});

test('categories past the cap fold into one overflow count, also when merging', () => {
  const a = new CategoricalSketch(2);
  for (const c of ['x', 'y', 'z', 'w', 'x']) a.add(c);
  assert.deepEqual(Object.fromEntries(a.counts), { x: 2, y: 1, [OTHER_CATEGORY]: 2 });
  const b = new CategoricalSketch(2);
  for (const c of ['y', 'v']) b.add(c);
  a.merge(b);
  assert.deepEqual(Object.fromEntries(a.counts), { x: 2, y: 2, [OTHER_CATEGORY]: 3 });
  assert.equal(a.count, 7);
});
