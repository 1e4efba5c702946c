// Pairwise comparison of two answers to the same request: the primary's and a candidate's
// (shadow traffic), or a recorded answer and a replayed one. Pure: decoded tensors in,
// running statistics out; the clock and random source are passed in.
//
// Each output tensor is compared row by row and column by column (`probabilities[1]`):
//   class columns (integers, strings, booleans): agreement and the label-flip matrix;
//   score columns (floats): absolute and relative differences (p50 / p99 / max), and whether
//     they are within tolerance: |a - b| <= abs + rel * |a| (numpy.isclose's rule).
// A row disagrees when any compared column of it does; the agreement ratio is over rows.
import { quantileSorted } from 'simple-statistics';
import type { DecodedTensor } from '../drift/index.ts';

export type OutputKind = 'class' | 'score';

export interface OutputRule {
  /** Output tensor name. */
  output: string;
  /** Column of a [N, C] output; absent: every column. */
  column?: number;
  /** Absent: class for integer/string/boolean values, score for floats. */
  kind?: OutputKind;
  absTolerance?: number;
  relTolerance?: number;
}

export interface CompareSettings {
  /** Outputs to compare; empty: every output both answers have. */
  outputs: readonly OutputRule[];
  absTolerance: number;
  relTolerance: number;
}

export const COMPARE_DEFAULTS: CompareSettings = { outputs: [], absTolerance: 1e-6, relTolerance: 1e-4 };

/** Columns of one output past this many are pooled into one `name[16+]` entry. */
const MAX_COLUMNS = 16;
/** Differences kept per score column for percentiles (reservoir sample beyond). */
const RESERVOIR = 4096;

export interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

export interface ColumnSummary {
  /** `label`, `probabilities[1]`, `scores[16+]`. */
  key: string;
  output: string;
  column?: number;
  kind: OutputKind;
  rows: number;
  /** Share of rows that agree (class: equal; score: within tolerance). */
  agreement: number;
  /** Class columns: primary → candidate label counts where they differ, most frequent first. */
  flips?: { from: string; to: string; count: number }[];
  /** Score columns: |primary - candidate|. */
  absDiff?: Quantiles;
  /** Score columns: |primary - candidate| / |primary| (0 when both are 0). */
  relDiff?: Quantiles;
}

export interface ComparisonSummary {
  /** Requests whose two answers were both received. */
  pairs: number;
  /** Rows compared (a batched request has several). */
  rows: number;
  disagreeingRows: number;
  /** 1 - disagreeingRows / rows; 1 when nothing was compared. */
  agreement: number;
  /** Pairs whose answers differ in structure (an output missing, a different row count). */
  mismatched: number;
  /** Requests the candidate failed (an error answer, a timeout) while the primary answered. */
  candidateErrors: number;
  /** candidateErrors / (pairs + candidateErrors). */
  candidateErrorRate: number;
  latencySeconds: { primary?: Quantiles; candidate?: Quantiles };
  columns: ColumnSummary[];
}

/** Outcome of one pair, for a caller that also wants per-request results (replay's report). */
export interface PairResult {
  rows: number;
  disagreeingRows: number;
  /** Set when the answers differ in structure; then no row is compared. */
  mismatch?: string;
}

interface ColumnState {
  key: string;
  output: string;
  column: number | undefined;
  kind: OutputKind | undefined;
  fixedKind: boolean;
  absTolerance: number;
  relTolerance: number;
  rows: number;
  agree: number;
  flips: Map<string, number>;
  abs: Reservoir;
  rel: Reservoir;
}

/** A bounded uniform sample of a stream plus its exact maximum. */
class Reservoir {
  readonly values: number[] = [];
  seen = 0;
  max = 0;
  constructor(private readonly random: () => number) {}
  add(v: number): void {
    this.seen++;
    if (v > this.max) this.max = v;
    if (this.values.length < RESERVOIR) this.values.push(v);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < RESERVOIR) this.values[j] = v;
    }
  }
  quantiles(): Quantiles | undefined {
    if (this.seen === 0) return undefined;
    const sorted = [...this.values].sort((a, b) => a - b);
    return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: this.max };
  }
}

export class Comparison {
  readonly #settings: CompareSettings;
  readonly #random: () => number;
  readonly #columns = new Map<string, ColumnState>();
  readonly #primaryLatency: Reservoir;
  readonly #candidateLatency: Reservoir;
  #pairs = 0;
  #rows = 0;
  #disagreeing = 0;
  #mismatched = 0;
  #candidateErrors = 0;
  readonly #onDifference: ((output: string, absDiff: number) => void) | undefined;

  /** `onDifference`: called with each compared score cell's |primary - candidate| (the shadow histogram). */
  constructor(settings: CompareSettings = COMPARE_DEFAULTS, random: () => number = Math.random, onDifference?: (output: string, absDiff: number) => void) {
    this.#settings = settings;
    this.#random = random;
    this.#onDifference = onDifference;
    this.#primaryLatency = new Reservoir(random);
    this.#candidateLatency = new Reservoir(random);
  }

  get pairs(): number {
    return this.#pairs;
  }

  /** Records the candidate failing a request the primary answered. */
  addCandidateError(primaryLatencySeconds?: number, candidateLatencySeconds?: number): void {
    this.#candidateErrors++;
    if (primaryLatencySeconds !== undefined) this.#primaryLatency.add(primaryLatencySeconds);
    if (candidateLatencySeconds !== undefined) this.#candidateLatency.add(candidateLatencySeconds);
  }

  /** Compares two answers to the same request. */
  add(primary: readonly DecodedTensor[], candidate: readonly DecodedTensor[], latency?: { primary?: number; candidate?: number }): PairResult {
    this.#pairs++;
    if (latency?.primary !== undefined) this.#primaryLatency.add(latency.primary);
    if (latency?.candidate !== undefined) this.#candidateLatency.add(latency.candidate);
    const cand = new Map(candidate.map((t) => [t.name, t]));
    const names = this.#settings.outputs.length > 0 ? [...new Set(this.#settings.outputs.map((r) => r.output))] : primary.map((t) => t.name);
    const prim = new Map(primary.map((t) => [t.name, t]));
    // Check the structure first, so a mismatched pair adds no row to any column.
    let rows = -1;
    const plan: { p: Layout; c: Layout; name: string }[] = [];
    for (const name of names) {
      const p = prim.get(name);
      const c = cand.get(name);
      if (!p || !c) return this.#mismatch(`output "${name}" is missing from the ${p ? 'candidate' : 'primary'} answer`);
      const lp = layout(p);
      const lc = layout(c);
      if (!lp || !lc) return this.#mismatch(`output "${name}" has a shape that does not match its values`);
      if (lp.rows !== lc.rows || lp.width !== lc.width) return this.#mismatch(`output "${name}" is [${lp.rows}, ${lp.width}] in the primary answer and [${lc.rows}, ${lc.width}] in the candidate's`);
      if (rows === -1) rows = lp.rows;
      else if (rows !== lp.rows) return this.#mismatch(`outputs have different row counts (${rows} and ${lp.rows})`);
      plan.push({ p: lp, c: lc, name });
    }
    if (rows <= 0) return { rows: 0, disagreeingRows: 0 };
    const rowDisagrees = new Uint8Array(rows);
    for (const { p, c, name } of plan) {
      const rules = this.#settings.outputs.filter((r) => r.output === name);
      const columns = rules.length === 0 || rules.some((r) => r.column === undefined) ? range(p.width) : rules.map((r) => r.column!).filter((k) => k < p.width);
      for (const col of columns) {
        const rule = rules.find((r) => r.column === col) ?? rules.find((r) => r.column === undefined);
        const state = this.#column(name, col, p.width, rule, p.values, c.values);
        for (let i = 0; i < rows; i++) {
          if (!this.#compareCell(state, p.values[i * p.width + col], c.values[i * c.width + col])) rowDisagrees[i] = 1;
        }
      }
    }
    let disagreeing = 0;
    for (let i = 0; i < rows; i++) disagreeing += rowDisagrees[i]!;
    this.#rows += rows;
    this.#disagreeing += disagreeing;
    return { rows, disagreeingRows: disagreeing };
  }

  summary(): ComparisonSummary {
    const attempts = this.#pairs + this.#candidateErrors;
    const primary = this.#primaryLatency.quantiles();
    const candidate = this.#candidateLatency.quantiles();
    return {
      pairs: this.#pairs,
      rows: this.#rows,
      disagreeingRows: this.#disagreeing,
      agreement: this.#rows === 0 ? 1 : 1 - this.#disagreeing / this.#rows,
      mismatched: this.#mismatched,
      candidateErrors: this.#candidateErrors,
      candidateErrorRate: attempts === 0 ? 0 : this.#candidateErrors / attempts,
      latencySeconds: { ...(primary ? { primary } : {}), ...(candidate ? { candidate } : {}) },
      columns: [...this.#columns.values()].map(columnSummary),
    };
  }

  #mismatch(why: string): PairResult {
    this.#mismatched++;
    return { rows: 0, disagreeingRows: 0, mismatch: why };
  }

  #column(output: string, col: number, width: number, rule: OutputRule | undefined, p: ArrayLike<unknown>, c: ArrayLike<unknown>): ColumnState {
    const pooled = col >= MAX_COLUMNS;
    const key = width === 1 ? output : pooled ? `${output}[${MAX_COLUMNS}+]` : `${output}[${col}]`;
    let s = this.#columns.get(key);
    if (!s) {
      s = {
        key,
        output,
        column: width === 1 || pooled ? undefined : col,
        kind: rule?.kind,
        fixedKind: rule?.kind !== undefined,
        absTolerance: rule?.absTolerance ?? this.#settings.absTolerance,
        relTolerance: rule?.relTolerance ?? this.#settings.relTolerance,
        rows: 0,
        agree: 0,
        flips: new Map(),
        abs: new Reservoir(this.#random),
        rel: new Reservoir(this.#random),
      };
      this.#columns.set(key, s);
    }
    if (!s.fixedKind && s.kind !== 'score') {
      // Typed float arrays (gRPC) are scores; JSON numbers are scores once one is not an integer.
      const k = kindOf(p) ?? kindOf(c);
      if (k === 'score' || (s.kind === undefined && k === 'class')) s.kind = k;
    }
    return s;
  }

  /** Compares one cell; true when it agrees. */
  #compareCell(s: ColumnState, a: unknown, b: unknown): boolean {
    s.rows++;
    if (!s.fixedKind && s.kind !== 'score' && ((typeof a === 'number' && !Number.isInteger(a)) || (typeof b === 'number' && !Number.isInteger(b)))) {
      s.kind = 'score';
    }
    if (s.kind === 'score') {
      const x = Number(a);
      const y = Number(b);
      const abs = Math.abs(x - y);
      const ok = abs <= s.absTolerance + s.relTolerance * Math.abs(x) || (Number.isNaN(x) && Number.isNaN(y));
      if (Number.isFinite(abs)) {
        this.#onDifference?.(s.output, abs);
        s.abs.add(abs);
        s.rel.add(x === 0 ? (y === 0 ? 0 : Infinity) : abs / Math.abs(x));
      }
      if (ok) s.agree++;
      return ok;
    }
    const ka = String(a);
    const kb = String(b);
    if (ka === kb) {
      s.agree++;
      return true;
    }
    const flip = `${ka}\u0000${kb}`;
    s.flips.set(flip, (s.flips.get(flip) ?? 0) + 1);
    return false;
  }
}

interface Layout {
  rows: number;
  width: number;
  values: ArrayLike<unknown>;
}

function layout(t: DecodedTensor): Layout | undefined {
  const rows = t.shape.length === 0 ? 1 : t.shape[0]!;
  let width = 1;
  for (let d = 1; d < t.shape.length; d++) width *= t.shape[d]!;
  if (!(rows >= 0) || !(width >= 1) || rows * width !== t.values.length) return undefined;
  return { rows, width, values: t.values };
}

function kindOf(values: ArrayLike<unknown>): OutputKind | undefined {
  if (values instanceof Float32Array || values instanceof Float64Array) return 'score';
  if (ArrayBuffer.isView(values)) return 'class';
  return values.length > 0 ? 'class' : undefined;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function columnSummary(s: ColumnState): ColumnSummary {
  const kind = s.kind ?? 'class';
  const out: ColumnSummary = { key: s.key, output: s.output, kind, rows: s.rows, agreement: s.rows === 0 ? 1 : s.agree / s.rows };
  if (s.column !== undefined) out.column = s.column;
  if (kind === 'class') {
    out.flips = [...s.flips.entries()]
      .map(([k, count]) => {
        const [from, to] = k.split('\u0000') as [string, string];
        return { from, to, count };
      })
      .sort((a, b) => b.count - a.count || a.from.localeCompare(b.from));
  } else {
    const abs = s.abs.quantiles();
    const rel = s.rel.quantiles();
    if (abs) out.absDiff = abs;
    if (rel) out.relDiff = rel;
  }
  return out;
}

export interface DivergenceThresholds {
  /** Largest share of disagreeing rows that passes (0.01 = 1%). */
  maxDisagreement: number;
  /** Largest share of requests the candidate may fail. */
  maxCandidateErrors: number;
  /** Pairs needed before a verdict; fewer is inconclusive. */
  minPairs: number;
}

export type DivergenceVerdict = { verdict: 'pass' | 'fail' | 'inconclusive'; reasons: string[] };

/**
 * Judges a comparison against thresholds: below `minPairs` compared requests it is
 * inconclusive whatever the figures (a handful of requests, possibly chosen by one client,
 * never decides); from there on, fail names every threshold exceeded.
 */
export function judgeDivergence(s: ComparisonSummary, t: DivergenceThresholds): DivergenceVerdict {
  if (s.pairs + s.candidateErrors < t.minPairs) return { verdict: 'inconclusive', reasons: [`${s.pairs + s.candidateErrors} of ${t.minPairs} compared requests`] };
  const reasons: string[] = [];
  const disagreement = 1 - s.agreement;
  if (s.rows > 0 && disagreement > t.maxDisagreement) {
    const worst = s.columns.filter((c) => c.agreement < 1).sort((a, b) => a.agreement - b.agreement)[0];
    reasons.push(`${pct(disagreement)} of rows disagree (max ${pct(t.maxDisagreement)})${worst ? `, most in ${worst.key} (${pct(1 - worst.agreement)})` : ''}`);
  }
  if (s.candidateErrorRate > t.maxCandidateErrors) reasons.push(`candidate failed ${pct(s.candidateErrorRate)} of requests (max ${pct(t.maxCandidateErrors)})`);
  if (s.mismatched > 0) reasons.push(`${s.mismatched} answers differ in structure`);
  return reasons.length > 0 ? { verdict: 'fail', reasons } : { verdict: 'pass', reasons: [] };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.001 && x > 0 ? 3 : 2).replace(/\.?0+$/, '')}%`;
}
