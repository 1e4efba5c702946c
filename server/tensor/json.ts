// JSON in and out of the inference server, with TF Serving's rules
// (tensorflow_serving/util/json_tensor.cc): NaN / Infinity / -Infinity tokens are accepted,
// int64 keeps full precision, and floats are written the way WriteDecimal writes them.
import { SrvErr } from '../errors.ts';

/** Keys that could reach an object's prototype if a later step copied the body; rejected outright. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonLimits {
  /** Maximum nesting of arrays and objects (default 64: a rank-32 tensor in a row object still fits). */
  maxDepth: number;
}
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64 };

/** A JSON value as parsed here: integers outside ±2^53 come back as bigint. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [k: string]: JsonValue };

/**
 * Parses a request body. The native parser is used unless the text may hold a token it
 * cannot represent exactly (a 16+ digit integer, NaN, Infinity); then a small exact parser
 * runs instead. Both paths enforce the depth limit and the forbidden keys.
 */
export function parseJson(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): JsonValue {
  // includes() is a memchr-speed scan; the regex /\d{16,}/ this replaces cost as much as
  // JSON.parse itself on a 5 KB body (bench/server-rest-parts.ts).
  if (!text.includes('NaN') && !text.includes('Infinity')) {
    let v: JsonValue;
    try {
      v = JSON.parse(text) as JsonValue;
    } catch (e) {
      throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`JSON Parse error: ${(e as Error).message}`);
    }
    // A number at or beyond 2^53 may have been an integer token the native parser rounded:
    // parse again exactly (the only case where the two parsers' values can differ).
    if (checkTree(v, limits.maxDepth)) return v;
  }
  return new ExactParser(text, limits.maxDepth).parseDocument();
}

/** Smallest magnitude at which a parsed integer may have lost precision (2^53). */
const UNSAFE_MAGNITUDE = 2 ** 53;
const isUnsafe = (n: number) => n >= UNSAFE_MAGNITUDE || n <= -UNSAFE_MAGNITUDE;

/** Enforces depth and forbidden keys; returns false if a number needs the exact parser. */
function checkTree(root: JsonValue, maxDepth: number): boolean {
  if (typeof root === 'number') return !isUnsafe(root);
  // Iterative walk: a hostile body must not overflow our stack either.
  let exact = true;
  const stack: [JsonValue, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`JSON nesting deeper than ${maxDepth} levels`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c = v[i]!;
        if (typeof c === 'number') {
          if (isUnsafe(c)) exact = false;
        } else if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
      }
    } else {
      for (const k of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(k)) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`JSON key "${k}" is not allowed`);
        const c = v[k]!;
        if (typeof c === 'number') {
          if (isUnsafe(c)) exact = false;
        } else if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
      }
    }
  }
  return exact;
}

class ExactParser {
  #s: string;
  #i = 0;
  #maxDepth: number;
  constructor(s: string, maxDepth: number) {
    this.#s = s;
    this.#maxDepth = maxDepth;
  }
  parseDocument(): JsonValue {
    const v = this.#value(0);
    this.#ws();
    if (this.#i !== this.#s.length) this.#fail('unexpected trailing characters');
    return v;
  }
  #fail(msg: string): never {
    throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`JSON Parse error: ${msg} at offset ${this.#i}`);
  }
  #ws(): void {
    const s = this.#s;
    while (this.#i < s.length) {
      const c = s.charCodeAt(this.#i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.#i++;
      else break;
    }
  }
  #value(depth: number): JsonValue {
    this.#ws();
    const s = this.#s;
    const c = s[this.#i];
    if (c === '{' || c === '[') {
      if (depth >= this.#maxDepth) this.#fail(`nesting deeper than ${this.#maxDepth} levels`);
      return c === '{' ? this.#object(depth + 1) : this.#array(depth + 1);
    }
    if (c === '"') return this.#string();
    if (s.startsWith('true', this.#i)) return (this.#i += 4), true;
    if (s.startsWith('false', this.#i)) return (this.#i += 5), false;
    if (s.startsWith('null', this.#i)) return (this.#i += 4), null;
    if (s.startsWith('NaN', this.#i)) return (this.#i += 3), NaN;
    if (s.startsWith('Infinity', this.#i)) return (this.#i += 8), Infinity;
    if (s.startsWith('-Infinity', this.#i)) return (this.#i += 9), -Infinity;
    return this.#number();
  }
  #object(depth: number): JsonValue {
    this.#i++;
    const out: { [k: string]: JsonValue } = {};
    this.#ws();
    if (this.#s[this.#i] === '}') return this.#i++, out;
    for (;;) {
      this.#ws();
      if (this.#s[this.#i] !== '"') this.#fail('expected a string key');
      const key = this.#string();
      if (FORBIDDEN_KEYS.has(key)) throw SrvErr.SRV_ERR_INVALID_ARGUMENT(`JSON key "${key}" is not allowed`);
      this.#ws();
      if (this.#s[this.#i] !== ':') this.#fail('expected ":"');
      this.#i++;
      out[key] = this.#value(depth);
      this.#ws();
      const c = this.#s[this.#i++];
      if (c === '}') return out;
      if (c !== ',') this.#fail('expected "," or "}"');
    }
  }
  #array(depth: number): JsonValue {
    this.#i++;
    const out: JsonValue[] = [];
    this.#ws();
    if (this.#s[this.#i] === ']') return this.#i++, out;
    for (;;) {
      out.push(this.#value(depth));
      this.#ws();
      const c = this.#s[this.#i++];
      if (c === ']') return out;
      if (c !== ',') this.#fail('expected "," or "]"');
    }
  }
  #string(): string {
    // Find the closing quote, then let the native parser decode escapes exactly.
    const start = this.#i;
    let i = start + 1;
    const s = this.#s;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) i++;
      i++;
    }
    if (i >= s.length) this.#fail('unterminated string');
    this.#i = i + 1;
    try {
      return JSON.parse(s.slice(start, i + 1)) as string;
    } catch {
      this.#fail('bad string');
    }
  }
  #number(): JsonValue {
    const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.#i;
    const r = m.exec(this.#s);
    if (!r || r[0] === '' || r[0] === '-') this.#fail('unexpected token');
    this.#i += r[0].length;
    if (r[1] === undefined && r[2] === undefined) {
      const n = Number(r[0]);
      if (!Number.isSafeInteger(n)) return BigInt(r[0]);
      return n;
    }
    return Number(r[0]);
  }
}

// ---------------------------------------------------------------------------------------
// Number formatting (tensorflow_serving/util/json_tensor.cc, WriteDecimal): print with %g
// (6 significant digits); if that does not read back as the same value, print with the
// type's max_digits10 (9 for float32, 17 for float64). Whole numbers get ".0" so a float
// stays a float to the reader ("3.0", as TF Serving's half_plus_two example shows).
// ---------------------------------------------------------------------------------------

function withPoint(s: string): string {
  return /[.eEn]/.test(s) ? s : `${s}.0`;
}

/** Most significant digits %g prints by default, and the precision WriteDecimal tries first. */
const SHORT_DIGITS = 6;

/**
 * Fast path for values whose shortest double form already has at most 6 significant digits
 * and no exponent (2.5, 3, 0.25): that text is exactly what the toPrecision(6) path below
 * would produce, without its two number↔string round trips. Returns undefined otherwise.
 */
function shortForm(v: number): string | undefined {
  const s = String(v);
  let digits = 0;
  let leading = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */ || c === 45 /* - */) continue;
    if (c < 48 || c > 57) return undefined; // an exponent
    if (leading && c === 48) continue;
    leading = false;
    if (++digits > SHORT_DIGITS) return undefined;
  }
  return s.includes('.') ? s : `${s}.0`;
}

function nonFinite(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return undefined;
}

// The old path above costs two number↔string round trips per value. The fast path below
// gets the same digits with double arithmetic: x = |v|·10^k is one correctly rounded
// operation (10^k is exact for k ≤ 22), so its error is below 2^-23 for a 9-digit x; when
// x's fraction is that close to .5 the rounding direction is unsure and the old path runs.
// The 6-digit candidate m·10^-k is likewise one correctly rounded operation of exact
// operands, so it is the double Number(v.toPrecision(6)) reads. Number→String of a ≤ 9-digit
// decimal's double prints that decimal without trailing zeros, which formatDecimal writes
// directly. test/server/float-format.test.ts checks equality with the old path.

const POW10 = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
/** How close to a rounding decision x may be before the fast path gives up (x < 1e9). */
const UNSURE = 1e-6;

/** |v|·10^k as one correctly rounded operation; |k| ≤ 22. */
function scale(a: number, k: number): number {
  return k >= 0 ? a * POW10[k]! : a / POW10[-k]!;
}

// Results of roundDigits (module-level to avoid an allocation per value).
let outM = 0;
let outE = 0;

/**
 * Rounds a (> 0) to p significant digits: a ≈ outM·10^(outE-p+1) with 10^(p-1) ≤ outM < 10^p.
 * e is a guess of floor(log10(a)), off by at most one. Returns false when unsure.
 */
function roundDigits(a: number, p: number, e: number): boolean {
  let k = p - 1 - e;
  if (k < -22 || k > 22) return false;
  let x = scale(a, k);
  if (x < POW10[p - 1]!) {
    if (++k > 22) return false;
    e--;
    x = scale(a, k);
  } else if (x >= POW10[p]!) {
    if (--k < -22) return false;
    e++;
    x = scale(a, k);
  }
  if (x < POW10[p - 1]! || x >= POW10[p]!) return false;
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5 - UNSURE && d < 0.5 + UNSURE) return false;
  let m = d > 0.5 ? f + 1 : f;
  if (m === POW10[p]) {
    m = POW10[p - 1]!;
    e++;
  }
  outM = m;
  outE = e;
  return true;
}

/** The text JS's Number→String gives for the decimal m·10^(e-p+1), plus ".0" when whole. */
function formatDecimal(neg: boolean, m: number, e: number): string {
  while (m % 10 === 0) m /= 10;
  const digits = String(m);
  const n = digits.length;
  let s: string;
  if (e >= -7 + 1 && e <= 20) {
    if (e >= n - 1) s = digits + '0'.repeat(e - n + 1) + '.0';
    else if (e >= 0) s = `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
    else s = `0.${'0'.repeat(-e - 1)}${digits}`;
  } else {
    const mant = n === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    s = `${mant}e${e < 0 ? '-' : '+'}${e < 0 ? -e : e}`;
  }
  return neg ? `-${s}` : s;
}

export function formatFloat32(v: number): string {
  if (v === 0) return '0.0';
  const neg = v < 0;
  const a = neg ? -v : v;
  // Also false for NaN and ±Infinity, which the old path prints.
  if (a >= 1e-14 && a < 1e27) {
    const guess = Math.floor(Math.log10(a));
    if (roundDigits(a, SHORT_DIGITS, guess)) {
      const m6 = outM;
      const e6 = outE;
      const k6 = SHORT_DIGITS - 1 - e6;
      const short = k6 >= 0 ? m6 / POW10[k6]! : m6 * POW10[-k6]!;
      if (Math.fround(short) === a) return formatDecimal(neg, m6, e6);
      if (roundDigits(a, 9, guess)) return formatDecimal(neg, outM, outE);
    }
  }
  return formatFloat32Slow(v);
}

export function formatFloat64(v: number): string {
  const neg = v < 0;
  const a = neg ? -v : v;
  if (a >= 1e-14 && a < 1e27) {
    const k = SHORT_DIGITS - 1 - Math.floor(Math.log10(a));
    if (k >= -22 && k <= 22) {
      // Number(v.toPrecision(6)) === v needs |v|·10^k within ~1e-10 of an integer (plus the
      // error of this one rounding); well away from one, the answer is String(v). x may be
      // 10× too large (log10 rounding up): x/10 is then not near an integer either.
      const x = scale(a, k);
      const d = x - Math.floor(x);
      if (d > 1e-4 && d < 1 - 1e-4 && x >= 1e5 && x < 1e7) {
        const s = String(v);
        return a < 1e21 && Number.isInteger(v) ? `${s}.0` : s;
      }
    }
  }
  return formatFloat64Slow(v);
}

/** The reference algorithm, kept for the cases the fast paths leave out. */
export function formatFloat32Slow(v: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  const fast = shortForm(v);
  if (fast !== undefined) return fast;
  const short = Number(v.toPrecision(6));
  if (Math.fround(short) === v) return withPoint(String(short));
  return withPoint(String(Number(v.toPrecision(9))));
}

/** The reference algorithm, kept for the cases the fast path leaves out. */
export function formatFloat64Slow(v: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  const fast = shortForm(v);
  if (fast !== undefined) return fast;
  const short = Number(v.toPrecision(6));
  if (short === v) return withPoint(String(short));
  return withPoint(String(v));
}

/** Serialises a plain value (status bodies, metadata) — no typed arrays or bigints inside. */
export function stringifyPlain(v: unknown): string {
  return JSON.stringify(v);
}
