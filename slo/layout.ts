// How many buckets of which size each series keeps. Pure arithmetic, kept apart so the
// memory bound can be stated and tested.
//
// Fine ring: covers the longest alert window (3d by default) in buckets of period / 43200,
// i.e. 1 minute for a 30-day period: Prometheus' usual evaluation interval, so the windows
// end exactly where a rule evaluated every minute would see them (see ring.ts). The
// period ring: 720 buckets (1 hour for 30 days) for the error budget.
// Default cost: 4320 + 720 buckets × 8 bytes = 40,320 bytes per series (target <= 64 KiB).
import type { Slo } from './definitions.ts';
import { distinctWindows } from './windows.ts';

/** Buckets per period for the fine ring: one per minute of a 30-day period. */
export const FINE_BUCKETS_PER_PERIOD = 43_200;
/** Hard cap on the fine ring (48 KiB of counts); longer custom windows get coarser buckets. */
export const MAX_FINE_BUCKETS = 6144;
/** Buckets in the period (error budget) ring: hourly for 30 days. */
export const PERIOD_BUCKETS = 720;

export interface SeriesLayout {
  fineBucketMs: number;
  fineSize: number;
  periodBucketMs: number;
  periodSize: number;
  /** Distinct alert windows, ascending, in ms. */
  windowsMs: number[];
  /** Buckets of the fine ring per window (same order). */
  windowBuckets: number[];
}

export function layoutFor(slo: Pick<Slo, 'periodMs' | 'alerting'>): SeriesLayout {
  const windowsMs = distinctWindows(slo.alerting.windows);
  const longest = windowsMs[windowsMs.length - 1] ?? slo.periodMs;
  let fineBucketMs = Math.max(1, Math.floor(slo.periodMs / FINE_BUCKETS_PER_PERIOD));
  if (Math.ceil(longest / fineBucketMs) > MAX_FINE_BUCKETS) fineBucketMs = Math.ceil(longest / MAX_FINE_BUCKETS);
  const windowBuckets = windowsMs.map((w) => Math.max(1, Math.round(w / fineBucketMs)));
  const fineSize = Math.max(...windowBuckets, 1);
  const periodBucketMs = Math.max(1, Math.ceil(slo.periodMs / PERIOD_BUCKETS));
  const periodSize = Math.max(1, Math.round(slo.periodMs / periodBucketMs));
  return { fineBucketMs, fineSize, periodBucketMs, periodSize, windowsMs, windowBuckets };
}

/** Bytes of counts per series for a layout (two Uint32 per bucket in each ring). */
export function bytesPerSeries(layout: SeriesLayout): number {
  return (layout.fineSize + layout.periodSize) * 8;
}
