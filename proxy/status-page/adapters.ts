// Maps the other areas' JSON snapshots to the status page's rows. Input types are
// structural (only the fields read), so a snapshot passes as is and a field the page does
// not read can change freely.
import type { AccuracyRow, AlertRow, PredictionStoreRow, DriftVersionRow, RolloutRow, ShadowRow, SloRow } from './types.ts';

export interface SloSnapshotLike {
  slos: Array<{
    name: string;
    sli: string;
    objective: number;
    series: Array<{
      model: string;
      version: string;
      windows: Array<{ window: string; burnRate: number | null }>;
      budget: { remaining: number | null };
      alerts: Record<string, { firing: boolean; since?: string | null }>;
      verdict: string;
      reason: string;
    }>;
  }>;
}

export function sloRows(s: SloSnapshotLike | undefined): SloRow[] {
  if (!s) return [];
  return s.slos.flatMap((slo) =>
    slo.series.map((x) => ({
      slo: slo.name,
      model: x.model,
      version: x.version,
      sli: slo.sli,
      objective: slo.objective,
      budgetRemaining: x.budget.remaining,
      burnRates: x.windows.map((w) => ({ window: w.window, burnRate: w.burnRate })),
      firing: Object.entries(x.alerts).filter(([, a]) => a.firing).map(([sev]) => sev),
      verdict: x.verdict,
      reason: x.reason,
    })),
  );
}

export interface DriftSnapshotLike {
  models: Array<{
    model: string;
    versions: Array<{
      version: string;
      last: { verdict: string; reason: string; features: Array<{ feature: string; method: string; score: number; threshold: number; drifted: boolean | null }> } | null;
    }>;
  }>;
}

export function driftRows(s: DriftSnapshotLike | undefined): DriftVersionRow[] {
  if (!s) return [];
  return s.models.flatMap((m) =>
    m.versions.map((v) => ({
      model: m.model,
      version: v.version,
      verdict: v.last?.verdict ?? 'inconclusive',
      reason: v.last?.reason ?? 'not evaluated yet',
      features: (v.last?.features ?? []).map((f) => ({ model: m.model, version: v.version, feature: f.feature, method: f.method, score: f.score, threshold: f.threshold, drifted: f.drifted })),
    })),
  );
}

export interface RolloutLike {
  model: string;
  phase: string;
  canary: string | null;
  stable: string | null;
  weight: number;
  reason: string;
  history?: Array<{ phase: string; canary: string | null; stable: string | null; reason: string; endedAt: string }>;
  /** Set while the persisted state was invalid (the controller does nothing for the model). */
  blocked?: { reason: string; file: string };
}

/** A rollout blocked by invalid persisted state shows as phase `Blocked`, its reason saying how to resolve it. */
export function rolloutRows(r: readonly RolloutLike[] | undefined): RolloutRow[] {
  return (r ?? []).map((x) => ({ model: x.model, phase: x.blocked ? 'Blocked' : x.phase, canary: x.canary, stable: x.stable, weight: x.weight, reason: x.reason, history: [...(x.history ?? [])] }));
}

/** The SLO engine's alert transition (`onTransition`), reduced to what the page lists. */
export interface TransitionLike {
  status: 'firing' | 'resolved';
  slo: { name: string };
  model: string;
  version: string;
  severity: string;
  startsAt: number;
  endsAt?: number;
}

/** Keeps the most recent alert transitions for the page (newest first). */
export class RecentAlerts {
  readonly #rows: AlertRow[] = [];
  constructor(readonly limit = 20) {}
  record(t: TransitionLike): void {
    this.#rows.unshift({
      status: t.status,
      slo: t.slo.name,
      model: t.model,
      version: t.version,
      severity: t.severity,
      startsAt: new Date(t.startsAt).toISOString(),
      endsAt: t.endsAt === undefined ? null : new Date(t.endsAt).toISOString(),
    });
    if (this.#rows.length > this.limit) this.#rows.length = this.limit;
  }
  list(): AlertRow[] {
    return [...this.#rows];
  }

  /** Firing alerts seen by `observe`, by SLO/model/version/severity → startsAt (ISO). */
  readonly #firing = new Map<string, string>();

  /**
   * Derives transitions from successive SLO snapshots, for a process that has no hook on
   * the engine's transitions: an alert firing now and not at the last look has fired; one
   * firing then and not now has resolved. A fire-and-resolve between two looks is missed,
   * so feed `record` from `onTransition` where that hook exists (and do not use both).
   */
  observe(s: SloSnapshotLike | undefined, nowMs: number): void {
    if (!s) return;
    const seen = new Set<string>();
    for (const slo of s.slos) {
      for (const x of slo.series) {
        for (const [severity, a] of Object.entries(x.alerts)) {
          const key = [slo.name, x.model, x.version, severity].join('\u0000');
          const before = this.#firing.get(key);
          if (a.firing) {
            seen.add(key);
            if (before === undefined) {
              const startsAt = a.since ? Date.parse(a.since) : nowMs;
              this.#firing.set(key, new Date(startsAt).toISOString());
              this.record({ status: 'firing', slo: { name: slo.name }, model: x.model, version: x.version, severity, startsAt });
            }
          }
        }
      }
    }
    for (const [key, startsAt] of this.#firing) {
      if (seen.has(key)) continue;
      const [slo = '', model = '', version = '', severity = ''] = key.split('\u0000');
      this.#firing.delete(key);
      this.record({ status: 'resolved', slo: { name: slo }, model, version, severity, startsAt: Date.parse(startsAt), endsAt: nowMs });
    }
  }
}

/** The parts of shadow/ `Mirror.views()` the page reads. */
export interface ShadowViewLike {
  model: string;
  candidate: string;
  share: number;
  dropped: number;
  summary: { pairs: number; rows: number; agreement: number; candidateErrors: number; mismatched: number; columns: ReadonlyArray<{ key: string; agreement: number; rows: number }> };
}

export function shadowRows(views: readonly ShadowViewLike[] | undefined): ShadowRow[] {
  return (views ?? []).map((v) => {
    const worst = [...v.summary.columns].filter((c) => c.rows > 0 && c.agreement < 1).sort((a, b) => a.agreement - b.agreement)[0];
    return {
      model: v.model,
      candidate: v.candidate,
      share: v.share,
      pairs: v.summary.pairs,
      rows: v.summary.rows,
      agreement: v.summary.rows > 0 ? v.summary.agreement : null,
      candidateErrors: v.summary.candidateErrors,
      mismatched: v.summary.mismatched,
      dropped: v.dropped,
      worst: worst ? `${worst.key} (${((1 - worst.agreement) * 100).toFixed(1)}%)` : null,
    };
  });
}

/** The parts of truth/ `GroundTruth.scores()` the page reads. */
export interface AccuracyScoreLike {
  model: string;
  version: string;
  task: string;
  labelled: number;
  labelledShare: number | null;
  accuracy?: number | null;
  mae?: number | null;
  rmse?: number | null;
  labelDelaySeconds: { mean: number | null };
}

export function accuracyRows(scores: readonly AccuracyScoreLike[] | undefined): AccuracyRow[] {
  return (scores ?? [])
    .map((s) => ({
      model: s.model,
      version: s.version,
      task: s.task,
      labelled: s.labelled,
      labelledShare: s.labelledShare,
      accuracy: s.accuracy ?? null,
      mae: s.mae ?? null,
      rmse: s.rmse ?? null,
      labelDelaySeconds: s.labelDelaySeconds.mean,
    }))
    .sort((a, b) => a.model.localeCompare(b.model) || a.version.localeCompare(b.version, undefined, { numeric: true }));
}

/** The parts of truth/ `GroundTruth.snapshot()` the page reads. */
export interface TruthSnapshotLike {
  settings: { maxEntries: number };
  store: { entries: number; evictions: { ttl: number; capacity: number; conflict: number } };
  counters: { feedbackBatches: number; unmatched: number; labelledRows: number };
}

export function predictionStoreRow(s: TruthSnapshotLike | undefined): PredictionStoreRow | null {
  if (!s) return null;
  return {
    entries: s.store.entries,
    maxEntries: s.settings.maxEntries,
    evictions: { ...s.store.evictions },
    feedbackBatches: s.counters.feedbackBatches,
    unmatched: s.counters.unmatched,
    labelledRows: s.counters.labelledRows,
  };
}
