// The float formatters print exactly what the reference algorithm (TF Serving's WriteDecimal
// rules written with toPrecision + Number + String) prints, for millions of values chosen to
// hit every branch: random bit patterns, subnormals, NaN, ±Infinity, ±0, integers, powers of
// ten and their neighbours, the 1e-7 / 1e21 notation boundaries and exact 6- and 9-digit ties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloat32, formatFloat64 } from '../../server/tensor/json.ts';

// --- Reference copy of the algorithm the fast formatters must match, character for character.
function refWithPoint(s: string): string {
  return /[.eEn]/.test(s) ? s : `${s}.0`;
}
function refShortForm(v: number): string | undefined {
  const s = String(v);
  let digits = 0;
  let leading = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 || c === 45) continue;
    if (c < 48 || c > 57) return undefined;
    if (leading && c === 48) continue;
    leading = false;
    if (++digits > 6) return undefined;
  }
  return s.includes('.') ? s : `${s}.0`;
}
function refNonFinite(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return undefined;
}
function refFloat32(v: number): string {
  const nf = refNonFinite(v);
  if (nf) return nf;
  const fast = refShortForm(v);
  if (fast !== undefined) return fast;
  const short = Number(v.toPrecision(6));
  if (Math.fround(short) === v) return refWithPoint(String(short));
  return refWithPoint(String(Number(v.toPrecision(9))));
}
function refFloat64(v: number): string {
  const nf = refNonFinite(v);
  if (nf) return nf;
  const fast = refShortForm(v);
  if (fast !== undefined) return fast;
  const short = Number(v.toPrecision(6));
  if (short === v) return refWithPoint(String(short));
  return refWithPoint(String(v));
}

// --- Seeded generator, so a failure can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function fromBits32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}
function bits32(v: number): number {
  f32[0] = v;
  return u32[0]!;
}
const f64 = new Float64Array(1);
const u64 = new Uint32Array(f64.buffer);
function fromBits64(lo: number, hi: number): number {
  u64[0] = lo >>> 0;
  u64[1] = hi >>> 0;
  return f64[0]!;
}

/** Float32 inputs: ≥ 2 million, covering the cases the fast path must get right or hand back. */
function float32Cases(): Float32Array {
  const r = rng(0x5eed32);
  const out: number[] = [0, -0, NaN, Infinity, -Infinity, fromBits32(1), fromBits32(0x807fffff), fromBits32(0x7f7fffff)];
  // Random bit patterns: every exponent, subnormals, NaN payloads, infinities.
  for (let i = 0; i < 800_000; i++) out.push(fromBits32(Math.floor(r() * 4294967296)));
  // Subnormals and the smallest normals.
  for (let i = 0; i < 50_000; i++) out.push(fromBits32(Math.floor(r() * 0x01000000)));
  // Typical tensor values: uniform and log-uniform over the whole float32 range.
  for (let i = 0; i < 400_000; i++) out.push(r() * 2 - 1);
  for (let i = 0; i < 400_000; i++) out.push((r() < 0.5 ? -1 : 1) * 10 ** (r() * 84 - 45));
  // Integers, small and up to 2^24 and beyond.
  for (let i = -5000; i <= 5000; i++) out.push(i);
  for (let i = 0; i < 50_000; i++) out.push(Math.floor(r() * 2 ** (1 + r() * 31)));
  // Powers of ten and of two, with their float32 neighbours, across the whole range.
  for (let e = -46; e <= 39; e++) {
    const b = bits32(Number(`1e${e}`));
    for (let d = -40; d <= 40; d++) out.push(fromBits32(b + d));
    for (const m of [1, 2, 5, 9.99999, 9.999999, 9.9999995, 1.000005, 1.0000005]) out.push(Number(`${m}e${e}`));
  }
  for (let e = -149; e <= 127; e++) for (let d = -3; d <= 3; d++) out.push(fromBits32(bits32(2 ** e) + d));
  // Around the 1e-7 and 1e21 notation boundaries (and 1e-6, 1e20): random values within a few %.
  for (const b of [1e-7, 1e-6, 1e20, 1e21]) for (let i = 0; i < 20_000; i++) out.push(b * (0.97 + r() * 0.06));
  // Exact 6-digit ties (a 7th significant digit of exactly 5): n + 0.5 for 6-digit n, 10n + 5 ...
  for (let i = 0; i < 60_000; i++) out.push(100000 + Math.floor(r() * 900000) + 0.5);
  for (let i = 0; i < 60_000; i++) out.push((1_000_000 + Math.floor(r() * 9_000_000)) * 10 + 5);
  for (let i = 0; i < 30_000; i++) out.push((10000 + Math.floor(r() * 90000)) + 0.25 * (1 + 2 * Math.floor(r() * 2)));
  // ... and exact 9-digit ties: 7-digit integers plus an odd number of eighths (10 digits, ending in 5).
  for (let i = 0; i < 60_000; i++) out.push(1_000_000 + Math.floor(r() * 9_000_000) + (1 + 2 * Math.floor(r() * 4)) / 8);
  // Dyadic values with short exact decimal expansions: m / 2^j.
  for (let i = 0; i < 60_000; i++) out.push(Math.floor(r() * 2 ** 24) / 2 ** Math.floor(r() * 40));
  // Decimals of 1 to 9 significant digits, including x.xxxxx5 (near ties after rounding to float32).
  for (let i = 0; i < 200_000; i++) {
    const digits = 1 + Math.floor(r() * 9);
    const m = Math.floor(r() * 10 ** digits);
    const tie = r() < 0.3 ? `${m}5` : `${m}`;
    out.push(Number(`${tie}e${Math.floor(r() * 60) - 30}`) * (r() < 0.5 ? -1 : 1));
  }
  // Negatives of a share of everything above.
  const n = out.length;
  for (let i = 0; i < n; i += 7) out.push(-out[i]!);
  return Float32Array.from(out);
}

function float64Cases(): number[] {
  const r = rng(0x5eed64);
  const out: number[] = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** -1022];
  for (let i = 0; i < 300_000; i++) out.push(fromBits64(Math.floor(r() * 4294967296), Math.floor(r() * 4294967296)));
  for (let i = 0; i < 300_000; i++) out.push(r() * 2 - 1);
  for (let i = 0; i < 200_000; i++) out.push((r() < 0.5 ? -1 : 1) * 10 ** (r() * 90 - 45));
  for (let i = -5000; i <= 5000; i++) out.push(i);
  for (let i = 0; i < 50_000; i++) out.push(Math.floor(r() * 2 ** (1 + r() * 60)));
  for (let e = -330; e <= 308; e++) {
    const p = Number(`1e${e}`);
    out.push(p, p * (1 + Number.EPSILON), p * (1 - Number.EPSILON / 2));
  }
  for (const b of [1e-7, 1e-6, 1e20, 1e21]) for (let i = 0; i < 10_000; i++) out.push(b * (0.97 + r() * 0.06));
  // Decimals of 1 to 17 digits: the 6-digit ones must take the short path, the rest String(v).
  for (let i = 0; i < 200_000; i++) {
    const digits = 1 + Math.floor(r() * 17);
    const m = Math.floor(r() * 10 ** digits);
    out.push(Number(`${m}e${Math.floor(r() * 60) - 30}`) * (r() < 0.5 ? -1 : 1));
  }
  // Exact 6-digit ties and float32 values seen as float64.
  for (let i = 0; i < 30_000; i++) out.push(100000 + Math.floor(r() * 900000) + 0.5);
  for (let i = 0; i < 100_000; i++) out.push(Math.fround(r() * 2 - 1));
  return out;
}

function firstMismatch(values: ArrayLike<number>, fmt: (v: number) => string, ref: (v: number) => string): string | undefined {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const got = fmt(v);
    const want = ref(v);
    if (got !== want) return `value ${String(v)} (#${i}): got ${got}, want ${want}`;
  }
  return undefined;
}

test('formatFloat32 prints exactly what the reference algorithm prints, for over 2 million float32 values', { timeout: 300_000 }, () => {
  const values = float32Cases();
  assert.ok(values.length >= 2_000_000, `only ${values.length} cases`);
  assert.equal(firstMismatch(values, formatFloat32, refFloat32), undefined);
});

test('formatFloat64 prints exactly what the reference algorithm prints, for over a million float64 values', { timeout: 300_000 }, () => {
  const values = float64Cases();
  assert.ok(values.length >= 1_000_000, `only ${values.length} cases`);
  assert.equal(firstMismatch(values, formatFloat64, refFloat64), undefined);
});

test('a few hand-picked values print as TF Serving prints them', () => {
  const table32: [number, string][] = [
    [0, '0.0'], [-0, '0.0'], [Math.fround(1e-7), '1e-7'], [Math.fround(1.5e-7), '1.5e-7'],
    [Math.fround(1e-6), '0.000001'], [Math.fround(0.000123), '0.000123'], [Math.fround(1e21), '1e+21'],
    [Math.fround(1e20), '100000000000000000000.0'], [-3, '-3.0'], [Math.fround(-0.1), '-0.1'],
    [Math.fround(123456.7), '123456.703'], [Math.fround(1 / 3), '0.333333343'],
  ];
  for (const [v, text] of table32) assert.equal(formatFloat32(v), refFloat32(v), String(v));
  for (const [v, text] of table32) assert.equal(formatFloat32(v), text, String(v));
});
