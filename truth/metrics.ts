// The ground-truth metrics: gauges read from the scores at scrape time, a counter and a
// histogram fed by each labelled row as it arrives (the accuracy SLI's events in the
// Prometheus rules, slo/rules.ts). The one file in truth/ that knows prom-client; the
// registry is passed in, names come from common/conventions.ts.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { DEFAULT_ABS_ERROR_BUCKETS, LABEL, TRUTH_METRIC } from '../common/index.ts';
import type { GroundTruth } from './truth.ts';

/** Buckets of the absolute-error histogram: the defaults and every accuracy SLO tolerance. */
export function absErrorBuckets(tolerances: readonly number[] = []): number[] {
  return [...new Set([...DEFAULT_ABS_ERROR_BUCKETS, ...tolerances])].filter((b) => Number.isFinite(b) && b > 0).sort((a, b) => a - b);
}

export function registerTruthMetrics(registry: Registry, truth: GroundTruth, opts: { tolerances?: readonly number[] } = {}): void {
  const mv = [LABEL.model, LABEL.version] as const;
  const labelled = new Counter({ name: TRUTH_METRIC.labelled, help: 'Labelled prediction rows of classifiers, by whether the prediction was right (correct="true"/"false").', labelNames: [...mv, LABEL.correct], registers: [registry] });
  const absError = new Histogram({ name: TRUTH_METRIC.absError, help: 'Absolute error |predicted - value| of labelled regression rows.', labelNames: [...mv], buckets: absErrorBuckets(opts.tolerances), registers: [registry] });
  truth.onLabelled((e) => {
    if (e.task === 'classification') labelled.inc({ model: e.model, version: e.version, correct: String(e.correct === true) });
    else if (e.absError !== undefined) absError.observe({ model: e.model, version: e.version }, e.absError);
  });
  new Counter({
    name: TRUTH_METRIC.feedback,
    help: 'Feedback entries by outcome (reason: labelled_rows = rows joined to a prediction, unmatched = unknown or expired id, duplicate, rejected).',
    labelNames: [LABEL.reason],
    registers: [registry],
    collect() {
      this.reset();
      const c = truth.counters;
      this.inc({ reason: 'labelled_rows' }, c.labelledRows);
      this.inc({ reason: 'unmatched' }, c.unmatched);
      this.inc({ reason: 'duplicate' }, c.duplicate);
      this.inc({ reason: 'rejected' }, c.rejected);
    },
  });
  new Gauge({
    name: TRUTH_METRIC.storeEntries,
    help: 'Predictions held for labels, by model.',
    labelNames: [LABEL.model],
    registers: [registry],
    collect() {
      this.reset();
      for (const [model, n] of Object.entries(truth.snapshot().store.byModel)) this.set({ model }, n);
    },
  });
  new Counter({
    name: TRUTH_METRIC.storeEvictions,
    help: 'Predictions dropped before a label came (reason: ttl, capacity, conflict = a second request reused the id).',
    labelNames: [LABEL.reason],
    registers: [registry],
    collect() {
      this.reset();
      const ev = truth.snapshot().store.evictions;
      this.inc({ reason: 'ttl' }, ev.ttl);
      this.inc({ reason: 'capacity' }, ev.capacity);
      this.inc({ reason: 'conflict' }, ev.conflict);
    },
  });
  const gauge = (name: string, help: string, read: (s: ReturnType<GroundTruth['scores']>[number]) => number | null | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: [...mv],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of truth.scores()) {
          const v = read(s);
          if (v !== null && v !== undefined && Number.isFinite(v)) this.set({ model: s.model, version: s.version }, v);
        }
      },
    });
  gauge(TRUTH_METRIC.accuracy, 'Share of labelled predictions that were right, over the truth window of prediction time (classifiers).', (s) => s.accuracy);
  gauge(TRUTH_METRIC.logLoss, 'Mean log loss of labelled predictions with a probability vector, over the truth window.', (s) => s.logLoss);
  gauge(TRUTH_METRIC.mae, 'Mean absolute error of labelled regression predictions, over the truth window.', (s) => s.mae);
  gauge(TRUTH_METRIC.rmse, 'Root mean squared error of labelled regression predictions, over the truth window.', (s) => s.rmse);
  gauge(TRUTH_METRIC.labelledShare, 'Share of stored predictions that received a label, over the truth window.', (s) => s.labelledShare);
  gauge(TRUTH_METRIC.labelDelay, 'Mean time from prediction to label, seconds, over the truth window.', (s) => s.labelDelaySeconds.mean);
  for (const [name, key, help] of [
    [TRUTH_METRIC.precision, 'precision', 'Precision per class (of rows predicted as the class, the share that were it), over the truth window.'],
    [TRUTH_METRIC.recall, 'recall', 'Recall per class (of rows that were the class, the share predicted as it), over the truth window.'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: [...mv, LABEL.class],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of truth.scores()) {
          for (const [c, x] of Object.entries(s.classes ?? {})) {
            const v = x[key];
            if (v !== null) this.set({ model: s.model, version: s.version, class: c }, v);
          }
        }
      },
    });
  }
}
