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

/** Shadow traffic of a rollout in its shadow step (shadow/ Mirror views). */
export interface ShadowRow {
  model: string;
  candidate: string;
  /** Mirrored share, 0..1. */
  share: number;
  pairs: number;
  rows: number;
  /** Share of compared rows that agree; null before any row. */
  agreement: number | null;
  candidateErrors: number;
  mismatched: number;
  dropped: number;
  /** The column that disagrees most, e.g. "label (9.5%)". */
  worst: string | null;
}

/** Labelled accuracy of one model version (truth/ GroundTruth scores). */
export interface AccuracyRow {
  model: string;
  version: string;
  task: string;
  labelled: number;
  labelledShare: number | null;
  /** Classifiers: accuracy; regression: null (see mae/rmse). */
  accuracy: number | null;
  mae: number | null;
  rmse: number | null;
  labelDelaySeconds: number | null;
}

/** The prediction store that labels join (truth/ GroundTruth.snapshot). */
export interface PredictionStoreRow {
  entries: number;
  maxEntries: number;
  evictions: { ttl: number; capacity: number; conflict: number };
  feedbackBatches: number;
  /** Feedback entries whose id was not in the store (never sampled, evicted, expired or unknown). */
  unmatched: number;
  labelledRows: number;
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
  shadow: ShadowRow[];
  accuracy: AccuracyRow[];
  /** Null without a `truth:` section. */
  predictionStore?: PredictionStoreRow | null;
  alerts: AlertRow[];
  charts: { burnRate: Series[]; budget: Series[]; weight: Series[] };
}
