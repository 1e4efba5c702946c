// Live quality of one model version from its labelled predictions: accuracy, precision and
// recall per class and log loss (classifiers), MAE and RMSE (regression), the labelled
// share and the label delay. Windowed by prediction time (a label joins the bucket of the
// prediction it labels), the usual reading of "accuracy of last hour's predictions"; the
// SLI and the rollout count labels when they arrive instead (truth.ts).
import { OVERFLOW_LABEL_VALUE } from '../common/index.ts';
import { TimeRing } from './ring.ts';

/** Distinct classes tracked per version; more fold into `__other__` (labels may be free text). */
export const MAX_TRACKED_CLASSES = 100;
/** Probability floor in the log loss, so one confident miss is large but finite (scikit-learn clips at eps too). */
export const LOG_LOSS_EPS = 1e-15;
/** Buckets per window: the window slides in steps of 1/12 of it. */
const BUCKETS_PER_WINDOW = 12;
/** Label-time buckets for the rollout's counts: 5 s each, one hour. */
const SPLIT_BUCKET_MS = 5_000;
const SPLIT_BUCKETS = 720;

interface ClassCounts {
  tp: number;
  fp: number;
  fn: number;
}

class Bucket {
  predicted = 0;
  labelled = 0;
  correct = 0;
  classes = new Map<string, ClassCounts>();
  logLossSum = 0;
  logLossN = 0;
  absErrSum = 0;
  sqErrSum = 0;
  delaySumMs = 0;
  delayMaxMs = 0;
}

function resetBucket(b: Bucket): void {
  b.predicted = b.labelled = b.correct = b.logLossSum = b.logLossN = b.absErrSum = b.sqErrSum = b.delaySumMs = b.delayMaxMs = 0;
  b.classes.clear();
}

/** One labelled row, as scored. */
export type ScoredRow =
  | { task: 'classification'; predicted: string; actual: string; /** probability given to the actual class, when known */ pActual?: number }
  | { task: 'regression'; predicted: number; actual: number };

export interface ClassScore {
  precision: number | null;
  recall: number | null;
  /** Labelled rows of this class. */
  support: number;
}

export interface VersionScore {
  model: string;
  version: string;
  task: 'classification' | 'regression';
  windowMs: number;
  /** Rows predicted (stored) in the window. */
  predictions: number;
  labelled: number;
  labelledShare: number | null;
  correct?: number;
  accuracy?: number | null;
  classes?: Record<string, ClassScore>;
  logLoss?: number | null;
  mae?: number | null;
  rmse?: number | null;
  /** Label time minus prediction time over the labelled rows, seconds. */
  labelDelaySeconds: { mean: number | null; max: number | null };
}

export class VersionScores {
  readonly #ring: TimeRing<Bucket>;
  readonly #split: TimeRing<{ labelled: number; correct: number }>;
  readonly #known = new Set<string>();
  /** Labels whose prediction is older than the ring: counted here only. */
  late = 0;

  constructor(
    readonly model: string,
    readonly version: string,
    readonly task: 'classification' | 'regression',
    readonly windowMs: number,
  ) {
    this.#ring = new TimeRing(Math.max(1, Math.ceil(windowMs / BUCKETS_PER_WINDOW)), BUCKETS_PER_WINDOW + 1, () => new Bucket(), resetBucket);
    this.#split = new TimeRing(SPLIT_BUCKET_MS, SPLIT_BUCKETS, () => ({ labelled: 0, correct: 0 }), (v) => {
      v.labelled = 0;
      v.correct = 0;
    });
  }

  predicted(atMs: number, rows: number): void {
    const b = this.#ring.at(atMs);
    if (b) b.predicted += rows;
  }

  /** One labelled row: `correct` as the SLI judges it; `splitRouted` rows also feed the rollout's counts. */
  labelled(predictedAtMs: number, labelAtMs: number, row: ScoredRow, correct: boolean, splitRouted: boolean): void {
    if (splitRouted) {
      const s = this.#split.at(labelAtMs);
      if (s) {
        s.labelled++;
        if (correct) s.correct++;
      }
    }
    const b = this.#ring.at(predictedAtMs);
    if (!b) {
      this.late++;
      return;
    }
    b.labelled++;
    if (correct) b.correct++;
    const delay = Math.max(0, labelAtMs - predictedAtMs);
    b.delaySumMs += delay;
    if (delay > b.delayMaxMs) b.delayMaxMs = delay;
    if (row.task === 'regression') {
      const e = row.predicted - row.actual;
      b.absErrSum += Math.abs(e);
      b.sqErrSum += e * e;
      return;
    }
    const actual = this.#classKey(row.actual);
    const predicted = this.#classKey(row.predicted);
    if (actual === predicted) this.#counts(b, actual).tp++;
    else {
      this.#counts(b, actual).fn++;
      this.#counts(b, predicted).fp++;
    }
    if (row.pActual !== undefined && Number.isFinite(row.pActual)) {
      b.logLossSum += -Math.log(Math.min(1, Math.max(LOG_LOSS_EPS, row.pActual)));
      b.logLossN++;
    }
  }

  #classKey(c: string): string {
    if (this.#known.has(c)) return c;
    if (this.#known.size >= MAX_TRACKED_CLASSES) return OVERFLOW_LABEL_VALUE;
    this.#known.add(c);
    return c;
  }

  #counts(b: Bucket, c: string): ClassCounts {
    let x = b.classes.get(c);
    if (!x) b.classes.set(c, (x = { tp: 0, fp: 0, fn: 0 }));
    return x;
  }

  /** Split-routed labels that arrived in (now - windowMs, now]: the rollout's accuracy counts. */
  splitCounts(nowMs: number, windowMs: number): { labelled: number; correct: number } {
    const out = { labelled: 0, correct: 0 };
    this.#split.forEach(nowMs - windowMs + SPLIT_BUCKET_MS, nowMs, (v) => {
      out.labelled += v.labelled;
      out.correct += v.correct;
    });
    return out;
  }

  score(nowMs: number): VersionScore {
    const sum = new Bucket();
    const classes = new Map<string, ClassCounts>();
    this.#ring.forEach(nowMs - this.windowMs + this.#ring.bucketMs, nowMs, (b) => {
      sum.predicted += b.predicted;
      sum.labelled += b.labelled;
      sum.correct += b.correct;
      sum.logLossSum += b.logLossSum;
      sum.logLossN += b.logLossN;
      sum.absErrSum += b.absErrSum;
      sum.sqErrSum += b.sqErrSum;
      sum.delaySumMs += b.delaySumMs;
      sum.delayMaxMs = Math.max(sum.delayMaxMs, b.delayMaxMs);
      for (const [c, x] of b.classes) {
        const t = classes.get(c) ?? { tp: 0, fp: 0, fn: 0 };
        t.tp += x.tp;
        t.fp += x.fp;
        t.fn += x.fn;
        classes.set(c, t);
      }
    });
    const n = sum.labelled;
    const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
    const out: VersionScore = {
      model: this.model,
      version: this.version,
      task: this.task,
      windowMs: this.windowMs,
      predictions: sum.predicted,
      labelled: n,
      // Labels of predictions made before the window's stored ones could exceed them; capped.
      labelledShare: sum.predicted > 0 ? Math.min(1, n / sum.predicted) : null,
      labelDelaySeconds: { mean: n > 0 ? sum.delaySumMs / n / 1000 : null, max: n > 0 ? sum.delayMaxMs / 1000 : null },
    };
    if (this.task === 'regression') {
      out.mae = ratio(sum.absErrSum, n);
      out.rmse = n > 0 ? Math.sqrt(sum.sqErrSum / n) : null;
      return out;
    }
    out.correct = sum.correct;
    out.accuracy = ratio(sum.correct, n);
    out.logLoss = ratio(sum.logLossSum, sum.logLossN);
    const per: Record<string, ClassScore> = {};
    for (const c of [...classes.keys()].sort()) {
      const x = classes.get(c)!;
      per[c] = { precision: ratio(x.tp, x.tp + x.fp), recall: ratio(x.tp, x.tp + x.fn), support: x.tp + x.fn };
    }
    out.classes = per;
    return out;
  }
}
