// A baseline captured from live traffic: the stable version's feature values over a
// configured window, kept as a bounded uniform sample per feature, then turned into a
// profile exactly as a reference file would be (profile.ts).
import type { DriftConfig, ModelDriftConfig } from './config.ts';
import type { BaselineProfile } from './profile.ts';
import { buildProfile } from './profile.ts';
import { seededRandom, seedOf } from './random.ts';

/**
 * Rows kept per feature while capturing. The profile's quantile edges and counts come
 * from this sample: 5000 rows put each decile edge within ~±0.8 percentile points
 * (binomial sd √(0.1·0.9/5000) ≈ 0.4%), at 16 features × 5000 × ~8 B ≈ 640 KiB per model.
 */
export const CAPTURE_SAMPLE_ROWS = 5000;

export class BaselineCapture {
  rows = 0;
  readonly #columns = new Map<string, unknown[]>();
  readonly #random: () => number;

  constructor(
    readonly model: ModelDriftConfig,
    readonly version: string,
    readonly startMs: number,
    readonly windowMs: number,
    readonly minSamples: number,
  ) {
    this.#random = seededRandom(seedOf(`capture/${model.model}/${version}/${startMs}`));
    for (const f of model.features) this.#columns.set(f.name, []);
  }

  /** Row-aligned reservoir (Algorithm R over rows), so a kept row keeps all its features together. */
  record(rows: number, values: ReadonlyMap<string, readonly unknown[]>): void {
    for (let i = 0; i < rows; i++) {
      this.rows++;
      let slot: number;
      if (this.rows <= CAPTURE_SAMPLE_ROWS) slot = this.rows - 1;
      else {
        slot = Math.floor(this.#random() * this.rows);
        if (slot >= CAPTURE_SAMPLE_ROWS) continue;
      }
      for (const [name, column] of this.#columns) column[slot] = values.get(name)?.[i];
    }
  }

  ready(nowMs: number): boolean {
    return nowMs >= this.startMs + this.windowMs && this.rows >= this.minSamples;
  }

  build(nowMs: number, config: Pick<DriftConfig, 'bins' | 'reservoirSize' | 'maxCategories'>): BaselineProfile {
    const profile = buildProfile({
      model: this.model.model,
      version: this.version,
      features: this.model.features,
      columns: this.#columns,
      rows: this.rows,
      source: { kind: 'live', version: this.version, fromMs: this.startMs, toMs: nowMs },
      createdAt: new Date(nowMs).toISOString(),
      bins: config.bins,
      sampleSize: config.reservoirSize,
      maxCategories: config.maxCategories,
    });
    return profile;
  }
}
