// The last hour of a few numbers, for the page's small charts. Bounded: one point per key
// per `stepMs` (10 s → 360 points an hour), keys capped, older points dropped.
import type { Series } from './types.ts';

/** An hour: what a person glancing at the page wants to see ("since when?"). */
export const HISTORY_SPAN_MS = 60 * 60_000;
/** 10 s: finer than any chart pixel at 360 points per hour; matches a typical eval tick. */
export const HISTORY_STEP_MS = 10_000;
/** Far above the series an allowlisted proxy has (models × versions × SLOs). */
export const MAX_KEYS = 500;

export class StatusHistory {
  readonly #series = new Map<string, { label: string; points: Array<[number, number]> }>();
  constructor(readonly spanMs = HISTORY_SPAN_MS, readonly stepMs = HISTORY_STEP_MS) {}

  /** Records a value; ignored when the last point of the key is less than a step old. */
  add(key: string, label: string, t: number, value: number | null): void {
    if (value === null || !Number.isFinite(value)) return;
    let s = this.#series.get(key);
    if (!s) {
      if (this.#series.size >= MAX_KEYS) return;
      s = { label, points: [] };
      this.#series.set(key, s);
    }
    const last = s.points[s.points.length - 1];
    if (last && t - last[0] < this.stepMs) return;
    s.points.push([t, value]);
    const cutoff = t - this.spanMs;
    while (s.points.length && s.points[0]![0] < cutoff) s.points.shift();
  }

  /** Series whose key starts with the prefix, with points inside the span. */
  series(prefix: string, now: number): Series[] {
    const out: Series[] = [];
    for (const [key, s] of this.#series) {
      if (!key.startsWith(prefix)) continue;
      const points = s.points.filter((p) => p[0] >= now - this.spanMs);
      if (points.length) out.push({ key, label: s.label, points });
    }
    return out;
  }
}
