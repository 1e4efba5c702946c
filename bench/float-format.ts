// The JSON float formatters, new vs the previous algorithm, in one process.
//
//   node --import tsx bench/float-format.ts
//
// Formats 1M values of a few distributions with formatFloat32/formatFloat64 (fast path) and
// with formatFloat32Slow/formatFloat64Slow (toPrecision + Number + String, the previous
// path and the fallback), alternating the two over several rounds; prints medians in ns per
// value and the ratio. Both print the same strings (test/server/float-format.test.ts).
import { formatFloat32, formatFloat32Slow, formatFloat64, formatFloat64Slow } from '../server/tensor/json.ts';

const N = 1_000_000;
const ROUNDS = 7;

let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

const distributions: { name: string; values: Float64Array; fmt: (v: number) => string; old: (v: number) => string }[] = [
  {
    name: 'float32 uniform [-1, 1)',
    values: Float64Array.from({ length: N }, () => Math.fround(rand() * 2 - 1)),
    fmt: formatFloat32,
    old: formatFloat32Slow,
  },
  {
    name: 'float32 log-uniform 1e-10..1e10',
    values: Float64Array.from({ length: N }, () => Math.fround((rand() < 0.5 ? -1 : 1) * 10 ** (rand() * 20 - 10))),
    fmt: formatFloat32,
    old: formatFloat32Slow,
  },
  {
    name: 'float32 3-decimal values (x.yyy)',
    values: Float64Array.from({ length: N }, () => Math.fround(Math.round(rand() * 100000) / 1000)),
    fmt: formatFloat32,
    old: formatFloat32Slow,
  },
  {
    name: 'float64 uniform [-1, 1)',
    values: Float64Array.from({ length: N }, () => rand() * 2 - 1),
    fmt: formatFloat64,
    old: formatFloat64Slow,
  },
];

function run(values: Float64Array, fmt: (v: number) => string): number {
  let len = 0;
  const t0 = performance.now();
  for (let i = 0; i < values.length; i++) len += fmt(values[i]!).length;
  const ns = ((performance.now() - t0) * 1e6) / values.length;
  if (len === 0) throw new Error('nothing formatted');
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`float formatting, ${N} values per round, ${ROUNDS} rounds (old and new alternate), medians in ns/value`);
console.log('distribution                        old ns   new ns   old/new');
for (const d of distributions) {
  run(d.values.subarray(0, 100_000), d.old); // warm-up
  run(d.values.subarray(0, 100_000), d.fmt);
  const olds: number[] = [];
  const news: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    olds.push(run(d.values, d.old));
    news.push(run(d.values, d.fmt));
  }
  const o = median(olds);
  const n = median(news);
  console.log(`${d.name.padEnd(34)} ${o.toFixed(0).padStart(7)}  ${n.toFixed(0).padStart(7)}   ${(o / n).toFixed(2)}×`);
}
