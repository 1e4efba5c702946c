// One evaluation window of one model version: a sketch per configured feature.
import { sortedCopy } from '../common/sorted.ts';
import type { DriftConfig, FeatureConfig, ModelDriftConfig } from './config.ts';
import type { Side } from './evaluate.ts';
import { CategoricalSketch, NumericSketch } from './sketch.ts';
import type { FeatureSketch } from './sketch.ts';
import type { BaselineProfile } from './profile.ts';
import { toCategory, toNumber } from './profile.ts';
import { seededRandom, seedOf } from './random.ts';

export class FeatureWindow {
  requests = 0;
  rows = 0;
  readonly sketches = new Map<string, FeatureSketch>();

  constructor(
    readonly startMs: number,
    readonly endMs: number,
    model: ModelDriftConfig,
    version: string,
    config: Pick<DriftConfig, 'reservoirSize' | 'maxCategories'>,
    /** Baseline whose bins the numeric counts are kept in (exact); the reservoir covers a later one. */
    baseline: BaselineProfile | undefined,
  ) {
    for (const f of model.features) {
      const ref = baseline?.features[f.name];
      const random = seededRandom(seedOf(`${model.model}/${version}/${f.name}/${startMs}`));
      this.sketches.set(
        f.name,
        f.kind === 'numeric'
          ? new NumericSketch(config.reservoirSize, random, ref?.kind === 'numeric' ? ref.edges : undefined)
          : new CategoricalSketch(config.maxCategories),
      );
    }
  }

  /** Adds one request's rows. `values` holds a column per feature name (missing = absent or unusable). */
  record(features: readonly FeatureConfig[], rows: number, values: ReadonlyMap<string, readonly unknown[]>): void {
    this.requests++;
    this.rows += rows;
    for (const f of features) {
      const sketch = this.sketches.get(f.name);
      if (!sketch) continue;
      const column = values.get(f.name);
      if (!column) {
        sketch.missing += rows;
        continue;
      }
      if (sketch.kind === 'numeric') {
        for (const v of column) {
          const n = toNumber(v);
          if (n === undefined) sketch.missing++;
          else sketch.add(n);
        }
      } else {
        for (const v of column) {
          const c = toCategory(v);
          if (c === undefined) sketch.missing++;
          else sketch.add(c);
        }
      }
    }
  }

  /** The feature as a comparison side. */
  side(feature: string): Side | undefined {
    const s = this.sketches.get(feature);
    if (!s) return undefined;
    if (s.kind === 'categorical') return { kind: 'categorical', count: s.count, categories: s.counts };
    const side: Side = { kind: 'numeric', count: s.count, sample: s.sample() };
    if (s.edges && s.counts) {
      side.edges = s.edges;
      side.counts = s.counts;
    }
    return side;
  }

  bytes(): number {
    let b = 0;
    for (const s of this.sketches.values()) b += s.kind === 'numeric' ? s.bytes() : s.counts.size * 64;
    return b;
  }
}

/** Baselines never change once loaded, so each feature's side (with its sample sorted) is built once. */
const sides = new WeakMap<BaselineProfile, Map<string, Side>>();

/** A baseline feature as a comparison side. */
export function profileSide(profile: BaselineProfile, feature: string): Side | undefined {
  let cache = sides.get(profile);
  if (!cache) sides.set(profile, (cache = new Map()));
  const hit = cache.get(feature);
  if (hit) return hit;
  const f = profile.features[feature];
  if (!f) return undefined;
  const side: Side = f.kind === 'categorical'
    ? { kind: 'categorical', count: f.count, categories: new Map(Object.entries(f.categories)) }
    : { kind: 'numeric', count: f.count, sample: f.sample, sortedSample: sortedCopy(f.sample), edges: f.edges, counts: f.counts, distinct: f.distinct };
  cache.set(feature, side);
  return side;
}
