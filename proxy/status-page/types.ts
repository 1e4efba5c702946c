// What the status page shows, as plain JSON (also served at /status.json). The shapes are
// structural subsets of what the SLO engine (`SloEngine.snapshot()`), the drift recorder
// (`DriftRecorder.snapshot()`) and the rollout controller (`snapshot().rollouts`) return,
// so the lead passes those through unchanged; nothing here imports those areas' runtime.

/** One SLO series (one model version of one SLO). */
export interface SloRow {
  slo: string;
  model: string;
  version: string;
  sli: string;
  objective: number;
  /** Share of the period's budget left: 1 untouched, 0 spent; null without traffic. */
  budgetRemaining: number | null;
  /** Burn rate per window, by the window's Prometheus spelling ("5m"); null = no data. */
  burnRates: Array<{ window: string; burnRate: number | null }>;
  firing: string[];
  verdict: string;
  reason: string;
}

export interface DriftFeatureRow {
  model: string;
  version: string;
  feature: string;
  method: string;
  score: number;
  threshold: number;
  drifted: boolean | null;
}

export interface DriftVersionRow {
  model: string;
  version: string;
  verdict: string;
  reason: string;
  features: DriftFeatureRow[];
}

export interface RolloutRow {
  model: string;
  phase: string;
  canary: string | null;
  stable: string | null;
  weight: number;
  reason: string;
  history: Array<{ phase: string; canary: string | null; stable: string | null; reason: string; endedAt: string }>;
}

export interface AlertRow {
  status: 'firing' | 'resolved';
  slo: string;
  model: string;
  version: string;
  severity: string;
  /** ISO times. */
  startsAt: string;
  endsAt: string | null;
}

/** A time series of the last hour for a small chart. */
export interface Series {
  key: string;
  label: string;
  points: Array<[number, number]>;
}

export interface StatusModel {
  generatedAt: string;
  slos: SloRow[];
  drift: DriftVersionRow[];
  rollouts: RolloutRow[];
  alerts: AlertRow[];
  charts: { burnRate: Series[]; budget: Series[]; weight: Series[] };
}
