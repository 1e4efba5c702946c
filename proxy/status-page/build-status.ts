// Builds the page's JSON from plain functions that return the other areas' snapshots. Each
// source is optional (a proxy without drift or rollouts shows "not configured"), and a
// source that throws is shown as an error instead of breaking the page.
import type { Clock } from '../../common/index.ts';
import { accuracyRows, driftRows, predictionStoreRow, rolloutRows, shadowRows, sloRows } from './adapters.ts';
import type { AccuracyScoreLike, DriftSnapshotLike, RecentAlerts, RolloutLike, ShadowViewLike, SloSnapshotLike, TruthSnapshotLike } from './adapters.ts';
import type { StatusHistory } from './history.ts';
import type { StatusModel } from './types.ts';

export interface StatusSources {
  slos?: () => SloSnapshotLike | undefined;
  drift?: () => DriftSnapshotLike | undefined;
  rollouts?: () => readonly RolloutLike[] | undefined;
  /** Shadow traffic of rollouts in their shadow step (shadow/ Mirror.views). */
  shadow?: () => readonly ShadowViewLike[] | undefined;
  /** Labelled accuracy per model version (truth/ GroundTruth.scores). */
  accuracy?: () => readonly AccuracyScoreLike[] | undefined;
  /** The prediction store's size, evictions and unmatched feedback (truth/ GroundTruth.snapshot). */
  predictionStore?: () => TruthSnapshotLike | undefined;
  /** Fed from the SLO engine's `onTransition`; without it the page derives alerts from snapshots. */
  alerts?: RecentAlerts;
}

function safely<T>(fn: (() => T) | undefined, errors: string[], what: string): T | undefined {
  if (!fn) return undefined;
  try {
    return fn();
  } catch (e) {
    errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/**
 * `derived` collects alerts from successive SLO snapshots when `sources.alerts` is not
 * given (the page's own tracker, kept across calls by `mountStatusPage`).
 */
export function buildStatusModel(sources: StatusSources, history: StatusHistory, clock: Clock, derived?: RecentAlerts): StatusModel & { errors: string[] } {
  const now = clock.now();
  const errors: string[] = [];
  const snapshot = safely(sources.slos, errors, 'slos');
  if (!sources.alerts) derived?.observe(snapshot, now);
  const slos = sloRows(snapshot);
  const drift = driftRows(safely(sources.drift, errors, 'drift'));
  const rollouts = rolloutRows(safely(sources.rollouts, errors, 'rollouts'));
  const shadow = shadowRows(safely(sources.shadow, errors, 'shadow'));
  const accuracy = accuracyRows(safely(sources.accuracy, errors, 'accuracy'));
  const predictionStore = predictionStoreRow(safely(sources.predictionStore, errors, 'prediction store'));
  for (const s of slos) {
    const label = `${s.slo} v${s.version}`;
    const worst = s.burnRates.reduce<number | null>((m, w) => (w.burnRate === null ? m : Math.max(m ?? 0, w.burnRate)), null);
    history.add(`burn\u0000${s.slo}\u0000${s.model}\u0000${s.version}`, label, now, worst);
    history.add(`budget\u0000${s.slo}\u0000${s.model}\u0000${s.version}`, label, now, s.budgetRemaining);
  }
  for (const r of rollouts) history.add(`weight\u0000${r.model}`, r.model, now, r.weight);
  return {
    generatedAt: new Date(now).toISOString(),
    slos,
    drift,
    rollouts,
    shadow,
    accuracy,
    predictionStore,
    alerts: (sources.alerts ?? derived)?.list() ?? [],
    charts: { burnRate: history.series('burn\u0000', now), budget: history.series('budget\u0000', now), weight: history.series('weight\u0000', now) },
    errors,
  };
}
