// The drift gauges, read from the recorder's last evaluation at scrape time. This is the
// one file in drift/ that knows prom-client: the registry is passed in (never the global
// one), and names come from common/conventions.ts.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { DRIFTED_VALUE, DRIFT_METRIC, LABEL } from '../common/index.ts';
import type { DriftRecorder } from './recorder.ts';

/**
 * Registers:
 *   modelgate_drift_score{model,version,feature,method}  method ∈ psi, js, wasserstein, ks (the D
 *     statistic), ks_pvalue, chisquare_pvalue — every score of the last evaluation;
 *     the one that decides a feature is the one its `method` names (see GET /api/v1/drift).
 *   modelgate_drift_detected{model,version}  1 drift, 0 no drift; absent while inconclusive
 *     (no baseline, too few rows), so an alert on `== 1` never fires on missing data.
 *   modelgate_drift_samples_total{model,version}  rows recorded.
 *   modelgate_drift_unparsable_total{model}  bodies that could not be parsed.
 *   modelgate_drift_windows_total{model,version,drifted}  closed evaluation windows by outcome
 *     (drifted: true, false, inconclusive): the events of the drift SLI's Prometheus rules.
 */
export function registerDriftMetrics(registry: Registry, recorder: DriftRecorder): void {
  new Gauge({
    name: DRIFT_METRIC.score,
    help: 'Drift score of one feature of one model version at the last evaluation, by method (distances: psi, js, wasserstein, ks; p-values: ks_pvalue, chisquare_pvalue).',
    labelNames: [LABEL.model, LABEL.version, LABEL.feature, LABEL.method],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of recorder.latest()) {
        for (const f of v.features) {
          for (const [key, value] of Object.entries(f.scores)) {
            const method = SCORE_LABEL[key];
            if (method === undefined || !Number.isFinite(value)) continue;
            this.set({ model: v.model, version: v.version, feature: f.feature, method }, value);
          }
        }
      }
    },
  });
  new Gauge({
    name: DRIFT_METRIC.detected,
    help: 'Whether the model version drifted at the last evaluation (1) or not (0); absent while inconclusive.',
    labelNames: [LABEL.model, LABEL.version],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of recorder.latest()) {
        if (v.verdict === 'inconclusive') continue;
        this.set({ model: v.model, version: v.version }, v.verdict === 'drift' ? 1 : 0);
      }
    },
  });
  new Counter({
    name: DRIFT_METRIC.samples,
    help: 'Rows recorded for drift, per model version.',
    labelNames: [LABEL.model, LABEL.version],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of recorder.samplesByVersion()) this.inc({ model: s.model, version: s.version }, s.samples);
    },
  });
  new Counter({
    name: DRIFT_METRIC.unparsable,
    help: 'Request/response bodies the drift recorder could not parse, per model.',
    labelNames: [LABEL.model],
    registers: [registry],
    collect() {
      this.reset();
      for (const [model, n] of recorder.unparsableByModel()) this.inc({ model }, n);
    },
  });
  const windows = new Counter({
    name: DRIFT_METRIC.windows,
    help: 'Closed drift evaluation windows per model version, by outcome (drifted: true, false, inconclusive). The drift SLI counts true as bad, false as good, inconclusive neither way.',
    labelNames: [LABEL.model, LABEL.version, LABEL.drifted],
    registers: [registry],
    collect() {
      // Every outcome of every version with traffic is exported from 0 before its first
      // window closes: Prometheus' increase() has no earlier sample to subtract from the
      // first sample of a new series, so a series born at 1 would lose that first window
      // (and a drift SLI sees only a few windows per alert window).
      for (const s of recorder.samplesByVersion()) {
        for (const drifted of OUTCOMES) this.inc({ model: s.model, version: s.version, drifted }, 0);
      }
    },
  });
  recorder.onWindowClosed((w) => {
    const drifted = w.drifted === null ? DRIFTED_VALUE.inconclusive : w.drifted ? DRIFTED_VALUE.drifted : DRIFTED_VALUE.clean;
    windows.inc({ model: w.model, version: w.version, drifted });
  });
}

const OUTCOMES = Object.values(DRIFTED_VALUE);

/** FeatureResult.scores keys → the `method` label. Chi-square's statistic is not exported: its scale depends on the bin count. */
const SCORE_LABEL: Record<string, string> = {
  psi: 'psi',
  js: 'js',
  wasserstein: 'wasserstein',
  ks: 'ks',
  ks_p: 'ks_pvalue',
  chisquare_p: 'chisquare_pvalue',
};
