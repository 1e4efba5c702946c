// GroundTruth: the one object the gateway talks to. `offer` takes the proxy's sampled
// bodies (already off the response path) and keeps the prediction by request id;
// `feedback` joins a batch of labels to them; every joined row updates the version's
// scores and is handed to `onLabelled` subscribers (the accuracy SLI, metrics). Nothing
// here throws into the proxy: a body that does not decode is counted and skipped.
import type { Clock } from '../common/index.ts';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../common/index.ts';
import type { FeatureConfig, GrpcDecoder } from '../drift/index.ts';
import type { ModelTruth, TruthConfig } from './config.ts';
import { className, featuresFor, readPrediction } from './capture.ts';
import type { PredictionOffer } from './capture.ts';
import { parseFeedback } from './feedback.ts';
import type { FeedbackEntry } from './feedback.ts';
import { PredictionStore } from './store.ts';
import type { StoredPrediction } from './store.ts';
import { VersionScores } from './scores.ts';
import type { ScoredRow, VersionScore } from './scores.ts';

/** One labelled row, when its label arrived. */
export interface LabelledEvent {
  model: string;
  version: string;
  variant: 'stable' | 'canary' | 'direct';
  pinned: boolean;
  task: 'classification' | 'regression';
  /** Classification: the predicted class was the label. */
  correct?: boolean;
  /** Regression: |predicted - value|. */
  absError?: number;
  /** When the label arrived, ms: the event's time in the SLO windows. */
  atMs: number;
  /** When the prediction was made, ms. */
  predictedAtMs: number;
}

export interface FeedbackReport {
  /** Entries in the batch. */
  received: number;
  /** Entries joined to a stored prediction. */
  matched: number;
  /** Labelled rows (a batch prediction has several). */
  labelledRows: number;
  /** Ids not in the store: never sampled, evicted, expired, or unknown. */
  unmatched: number;
  /** Ids labelled before (the first label counts). */
  duplicate: number;
  /** Entries that do not fit their prediction (label for a regression model, row count, unknown class). */
  rejected: number;
  /** Up to 20 unmatched ids and rejected entries, for the caller to look at. */
  unmatchedIds: string[];
  rejections: Array<{ index: number; id: string; reason: string }>;
}

export interface TruthCounters {
  offered: number;
  stored: number;
  /** Sampled bodies of a configured model that held no readable prediction. */
  undecodable: number;
  /** Bodies not stored: sampled out, unconfigured model, unknown version or no request id. */
  skipped: number;
  feedbackBatches: number;
  unmatched: number;
  duplicate: number;
  rejected: number;
  labelledRows: number;
}

export interface TruthSnapshot {
  settings: { sampleRate: number; ttlMs: number; maxEntries: number; maxBatch: number; windowMs: number };
  store: { entries: number; byModel: Record<string, number>; evictions: { ttl: number; capacity: number; conflict: number } };
  counters: TruthCounters;
  versions: VersionScore[];
}

export interface GroundTruthOptions {
  clock: Clock;
  random?: () => number;
  /** Decodes gRPC bodies (drift/grpc-bodies.ts decodeGrpcBodies); without one, gRPC samples are skipped. */
  grpcDecoder?: GrpcDecoder;
  /**
   * The caller already sampled at `config.sampleRate` (the gateway subscribes to the
   * proxy's bodies with that share), so every offer is stored.
   */
  presampled?: boolean;
  /** Appends each feedback batch's report to an audit log, when the gateway has one. Errors are ignored. */
  audit?: (entry: { kind: 'feedback'; atMs: number; report: FeedbackReport }) => void;
}

const MAX_LISTED = 20;
/** Versions scored per model; versions come from the proxy's allowlist, this is a backstop. */
const MAX_VERSIONS_PER_MODEL = 64;

export class GroundTruth {
  readonly config: TruthConfig;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #decoder: GrpcDecoder | undefined;
  readonly #audit: GroundTruthOptions['audit'];
  readonly #presampled: boolean;
  readonly #models = new Map<string, { truth: ModelTruth; features: FeatureConfig[] }>();
  readonly #scores = new Map<string, Map<string, VersionScores>>();
  readonly #store: PredictionStore;
  readonly #listeners: Array<(e: LabelledEvent) => void> = [];
  readonly counters: TruthCounters = { offered: 0, stored: 0, undecodable: 0, skipped: 0, feedbackBatches: 0, unmatched: 0, duplicate: 0, rejected: 0, labelledRows: 0 };

  constructor(config: TruthConfig, options: GroundTruthOptions) {
    this.config = config;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#decoder = options.grpcDecoder;
    this.#audit = options.audit;
    this.#presampled = options.presampled === true;
    this.#store = new PredictionStore(config.ttlMs, config.maxEntries);
    for (const m of config.models) this.#models.set(m.model, { truth: m, features: featuresFor(m) });
  }

  get models(): ReadonlyMap<string, ModelTruth> {
    return new Map([...this.#models].map(([k, v]) => [k, v.truth]));
  }

  onLabelled(fn: (e: LabelledEvent) => void): () => void {
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }

  /** A sampled exchange from the proxy: keeps its prediction under its request id. Never throws. */
  offer(o: PredictionOffer): void {
    this.counters.offered++;
    try {
      const m = this.#models.get(o.model);
      if (!m || !o.requestId || o.version === UNKNOWN_VERSION || o.version === OVERFLOW_LABEL_VALUE || (!this.#presampled && this.config.sampleRate < 1 && this.#random() >= this.config.sampleRate)) {
        this.counters.skipped++;
        return;
      }
      const p = readPrediction(m.truth, m.features, o, this.#decoder);
      if (!p) {
        this.counters.undecodable++;
        return;
      }
      const scores = this.#scoresFor(o.model, o.version, m.truth.task);
      if (!scores) {
        this.counters.skipped++;
        return;
      }
      const now = this.#clock.now();
      const stored: StoredPrediction = { model: o.model, version: o.version, variant: o.variant ?? 'direct', pinned: o.pinned === true, atMs: now, rows: p.rows, labelled: false };
      if (p.task === 'regression') stored.values = p.values;
      else {
        stored.classes = p.classes;
        if (p.probabilities) stored.probabilities = p.probabilities;
      }
      this.#store.put(o.requestId, stored);
      scores.predicted(now, p.rows);
      this.counters.stored++;
    } catch {
      this.counters.undecodable++;
    }
  }

  /**
   * Joins a feedback body. Invalid input: `{ ok: false, status: 400 | 413, index?, message }`
   * and nothing is applied; otherwise the batch's report.
   */
  feedback(body: unknown): { ok: true; report: FeedbackReport } | { ok: false; status: 400 | 413; index: number | undefined; message: string } {
    const parsed = parseFeedback(body, this.config.maxBatch);
    if (!parsed.ok) return { ok: false, status: parsed.tooLarge ? 413 : 400, index: parsed.index, message: parsed.message };
    const now = this.#clock.now();
    this.#store.expire(now);
    const report: FeedbackReport = { received: parsed.entries.length, matched: 0, labelledRows: 0, unmatched: 0, duplicate: 0, rejected: 0, unmatchedIds: [], rejections: [] };
    parsed.entries.forEach((e, index) => this.#join(e, index, now, report));
    const c = this.counters;
    c.feedbackBatches++;
    c.unmatched += report.unmatched;
    c.duplicate += report.duplicate;
    c.rejected += report.rejected;
    c.labelledRows += report.labelledRows;
    try {
      this.#audit?.({ kind: 'feedback', atMs: now, report });
    } catch {
      // The audit log is the gateway's; a failure there must not lose the labels.
    }
    return { ok: true, report };
  }

  #join(e: FeedbackEntry, index: number, now: number, report: FeedbackReport): void {
    const p = this.#store.get(e.id, now);
    const reject = (reason: string) => {
      report.rejected++;
      if (report.rejections.length < MAX_LISTED) report.rejections.push({ index, id: e.id, reason });
    };
    if (!p) {
      report.unmatched++;
      if (report.unmatchedIds.length < MAX_LISTED) report.unmatchedIds.push(e.id);
      return;
    }
    const truth = this.#models.get(p.model)?.truth;
    const scores = this.#scores.get(p.model)?.get(p.version);
    if (!truth || !scores) return reject('the model is no longer configured');
    if (truth.task === 'regression' && e.kind !== 'value') return reject(`${p.model} is a regression model: send "value", not "label"`);
    if (truth.task === 'classification' && e.kind !== 'label') return reject(`${p.model} is a classifier: send "label", not "value"`);
    if (p.labelled) {
      report.duplicate++;
      return;
    }
    const given = e.kind === 'label' ? e.labels.length : e.values.length;
    if (given !== p.rows) return reject(`the prediction has ${p.rows} rows, the entry ${given} ${e.kind === 'label' ? 'labels' : 'values'}`);
    const rows: ScoredRow[] = [];
    if (e.kind === 'value') {
      for (let r = 0; r < p.rows; r++) rows.push({ task: 'regression', predicted: p.values![r]!, actual: e.values[r]! });
    } else if (truth.task === 'classification') {
      for (let r = 0; r < p.rows; r++) {
        const actual = className(truth, e.labels[r]);
        if (actual === undefined || (truth.classNames && !truth.classNames.includes(actual))) {
          return reject(`label ${JSON.stringify(e.labels[r])} is not a class of ${p.model} (${truth.classNames!.join(', ')}, or their index)`);
        }
        const row: ScoredRow = { task: 'classification', predicted: p.classes![r]!, actual };
        if (p.probabilities && truth.classNames) {
          const k = truth.classNames.length;
          row.pActual = p.probabilities[r * k + truth.classNames.indexOf(actual)]!;
        }
        rows.push(row);
      }
    }
    p.labelled = true;
    report.matched++;
    for (const row of rows) {
      const correct = row.task === 'classification' ? row.predicted === row.actual : false;
      scores.labelled(p.atMs, now, row, correct, row.task === 'classification' && !p.pinned);
      report.labelledRows++;
      const ev: LabelledEvent = { model: p.model, version: p.version, variant: p.variant, pinned: p.pinned, task: row.task, atMs: now, predictedAtMs: p.atMs };
      if (row.task === 'classification') ev.correct = correct;
      else ev.absError = Math.abs(row.predicted - row.actual);
      for (const fn of this.#listeners) {
        try {
          fn(ev);
        } catch {
          // A subscriber's failure is its own.
        }
      }
    }
  }

  #scoresFor(model: string, version: string, task: ModelTruth['task']): VersionScores | undefined {
    let byVersion = this.#scores.get(model);
    if (!byVersion) this.#scores.set(model, (byVersion = new Map()));
    let s = byVersion.get(version);
    if (!s) {
      if (byVersion.size >= MAX_VERSIONS_PER_MODEL) return undefined;
      byVersion.set(version, (s = new VersionScores(model, version, task, this.config.windowMs)));
    }
    return s;
  }

  /** Split-routed labelled rows of a classifier version whose labels arrived in the last `windowMs` (the rollout's accuracy check). */
  labelledCounts(model: string, version: string, windowMs: number): { labelled: number; correct: number } {
    return this.#scores.get(model)?.get(version)?.splitCounts(this.#clock.now(), windowMs) ?? { labelled: 0, correct: 0 };
  }

  scores(): VersionScore[] {
    const now = this.#clock.now();
    const out: VersionScore[] = [];
    for (const byVersion of this.#scores.values()) for (const s of byVersion.values()) out.push(s.score(now));
    return out;
  }

  snapshot(): TruthSnapshot {
    this.#store.expire(this.#clock.now());
    const c = this.config;
    return {
      settings: { sampleRate: c.sampleRate, ttlMs: c.ttlMs, maxEntries: c.maxEntries, maxBatch: c.maxBatch, windowMs: c.windowMs },
      store: { entries: this.#store.size, byModel: Object.fromEntries(this.#store.sizes()), evictions: { ...this.#store.evictions } },
      counters: { ...this.counters },
      versions: this.scores(),
    };
  }
}
