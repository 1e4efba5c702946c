// Baseline profiles: what the reference data looked like, per feature, in a form the live
// sketches can be compared with. A profile is plain JSON, written once per model version
// (see store.ts for where), and small: per numeric feature ≤ bins+1 counts and a bounded
// sample (default 1000 values) for KS; per categorical feature ≤ maxCategories counts.
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { isRecord, sortedCopy } from '../common/index.ts';
import type { FeatureConfig, FeatureKind } from './config.ts';
import { DriftErrors } from './errors.ts';
import { binCounts, quantileEdges } from './bins.ts';
import { seededRandom, seedOf } from './random.ts';

export const PROFILE_FORMAT = 'modelgate.drift.baseline/v1';
/** Category that collects every value past `maxCategories` distinct ones. */
export const OTHER_CATEGORY = '__other__';
/** Distinct values counted exactly before a numeric feature is taken as continuous (Evidently decides at 5). */
const DISTINCT_CAP = 1000;

export interface NumericProfile {
  kind: 'numeric';
  /** Non-missing values seen. */
  count: number;
  /** Rows where the value was absent or not a finite number. */
  missing: number;
  /** Interior quantile cut points (bins.ts). */
  edges: number[];
  /** Reference rows per bin, edges.length + 1 of them. */
  counts: number[];
  /** A uniform random sample of the reference values (for KS), at most `sampleSize`. */
  sample: number[];
  /** Distinct values, capped at 1000 (`distinctCapped`). */
  distinct: number;
  distinctCapped: boolean;
  min: number;
  max: number;
  mean: number;
  std: number;
}

export interface CategoricalProfile {
  kind: 'categorical';
  count: number;
  missing: number;
  categories: Record<string, number>;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

export type ProfileSource =
  | { kind: 'file'; path: string }
  | { kind: 'live'; version: string; fromMs: number; toMs: number };

export interface BaselineProfile {
  format: typeof PROFILE_FORMAT;
  model: string;
  /** The model version this baseline describes. */
  version: string;
  createdAt: string;
  source: ProfileSource;
  /** Reference rows read. */
  rows: number;
  features: Record<string, FeatureProfile>;
}

export interface BuildOptions {
  model: string;
  version: string;
  features: readonly FeatureConfig[];
  /** Values per feature name, one per reference row (undefined/null = missing). */
  columns: ReadonlyMap<string, readonly unknown[]>;
  rows: number;
  source: ProfileSource;
  createdAt: string;
  bins: number;
  sampleSize: number;
  maxCategories: number;
}

export function buildProfile(o: BuildOptions): BaselineProfile {
  const features: Record<string, FeatureProfile> = {};
  for (const f of o.features) {
    const column = o.columns.get(f.name);
    if (!column) continue;
    features[f.name] = f.kind === 'numeric'
      ? numericProfile(column, o.bins, o.sampleSize, seedOf(`${o.model}/${o.version}/${f.name}`))
      : categoricalProfile(column, o.maxCategories);
  }
  return { format: PROFILE_FORMAT, model: o.model, version: o.version, createdAt: o.createdAt, source: o.source, rows: o.rows, features };
}

/** A finite number from a reference cell: numbers, and numeric strings (CSV). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v); // int64 tensors from gRPC
  return undefined;
}

/** A category from a cell: strings as they are; numbers and booleans as their JSON text ("0", "true"). */
export function toCategory(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

export function numericProfile(column: readonly unknown[], bins: number, sampleSize: number, seed: number): NumericProfile {
  const values: number[] = [];
  for (const v of column) {
    const n = toNumber(v);
    if (n !== undefined) values.push(n);
  }
  const sorted = sortedCopy(values);
  const edges = quantileEdges(sorted, bins);
  const distinct = new Set<number>();
  for (const v of values) {
    if (distinct.size > DISTINCT_CAP) break;
    distinct.add(v);
  }
  return {
    kind: 'numeric',
    count: values.length,
    missing: column.length - values.length,
    edges,
    counts: binCounts(edges, values),
    sample: reservoir(values, sampleSize, seededRandom(seed)),
    distinct: Math.min(distinct.size, DISTINCT_CAP),
    distinctCapped: distinct.size > DISTINCT_CAP,
    min: sorted.length ? sorted[0]! : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: values.length ? mean(values) : Number.NaN,
    std: values.length > 1 ? sampleStandardDeviation(values) : Number.NaN,
  };
}

export function categoricalProfile(column: readonly unknown[], maxCategories: number): CategoricalProfile {
  const categories: Record<string, number> = {};
  let distinct = 0;
  let count = 0;
  for (const v of column) {
    const c = toCategory(v);
    if (c === undefined) continue;
    count++;
    if (categories[c] === undefined) {
      if (distinct >= maxCategories) {
        categories[OTHER_CATEGORY] = (categories[OTHER_CATEGORY] ?? 0) + 1;
        continue;
      }
      distinct++;
      categories[c] = 0;
    }
    categories[c]!++;
  }
  return { kind: 'categorical', count, missing: column.length - count, categories };
}

/** Uniform sample without replacement (Algorithm R), in stream order, deterministic for a seed. */
function reservoir(values: readonly number[], size: number, random: () => number): number[] {
  if (values.length <= size) return values.slice();
  const out = values.slice(0, size);
  for (let i = size; i < values.length; i++) {
    const j = Math.floor(random() * (i + 1));
    if (j < size) out[j] = values[i]!;
  }
  return out;
}

/** Checks a parsed baseline file; throws DRIFT_ERR_BAD_BASELINE naming the first problem. */
export function parseProfile(raw: unknown, where: string): BaselineProfile {
  const bad = (why: string) => DriftErrors.DRIFT_ERR_BAD_BASELINE(`${where}: ${why}`);
  if (!isRecord(raw)) throw bad('not a JSON object');
  if (raw['format'] !== PROFILE_FORMAT) throw bad(`format is ${JSON.stringify(raw['format'])}, expected "${PROFILE_FORMAT}"; rebuild it with \`modelgate baseline\``);
  for (const k of ['model', 'version', 'createdAt'] as const) if (typeof raw[k] !== 'string') throw bad(`"${k}" must be a string`);
  if (typeof raw['rows'] !== 'number') throw bad('"rows" must be a number');
  if (!isRecord(raw['source'])) throw bad('"source" must be an object');
  const features = raw['features'];
  if (!isRecord(features)) throw bad('"features" must be an object');
  for (const [name, f] of Object.entries(features)) {
    if (!isRecord(f)) throw bad(`feature "${name}" must be an object`);
    const kind = f['kind'] as FeatureKind;
    if (kind === 'numeric') {
      const edges = f['edges'];
      const counts = f['counts'];
      if (!isNumberArray(edges) || !isNumberArray(counts) || counts.length !== edges.length + 1) throw bad(`feature "${name}": needs edges[] and counts[] with one more count than edges`);
      for (let i = 1; i < edges.length; i++) if (!(edges[i]! > edges[i - 1]!)) throw bad(`feature "${name}": edges must increase`);
      if (!isNumberArray(f['sample'])) throw bad(`feature "${name}": sample must be an array of numbers`);
    } else if (kind === 'categorical') {
      if (!isRecord(f['categories']) || !Object.values(f['categories']).every((n) => typeof n === 'number')) throw bad(`feature "${name}": categories must map names to counts`);
    } else {
      throw bad(`feature "${name}": kind must be "numeric" or "categorical"`);
    }
  }
  return raw as unknown as BaselineProfile;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}
