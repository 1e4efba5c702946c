// Debug: why. Latency distribution per version, the server's queue and batches, model
// loading, drift per feature, and canary against stable on the same axes.
import { LABEL, PROXY_METRIC, SERVER_METRIC, DRIFT_METRIC, SHADOW_METRIC, TRUTH_METRIC } from '../common/index.ts';
import { dashboard } from './dashboard.ts';
import type { Dashboard } from './grafana-json.ts';
import { byModel, byModelVersion, errorRatio, mean, quantile, sumRate, RATE } from './promql.ts';
import { DRIFT_THRESHOLDS } from './thresholds.ts';

const MV = [LABEL.model, LABEL.version];
const CANARY_AND_STABLE = { [LABEL.variant]: '=~stable|canary' };
const byVariant = (extra: Record<string, string>) => byModel({ ...CANARY_AND_STABLE, ...extra });
const VV = [LABEL.variant, LABEL.version];

export function debug(): Dashboard {
  return dashboard({
    uid: 'modelgate-debug',
    title: 'modelgate / Debug',
    description: 'Latency heatmaps, server queue and batching, model loading, drift per feature, canary against stable.',
    tags: ['debug'],
    rows: [
      {
        row: 'Latency distribution',
        panels: [
          {
            type: 'heatmap',
            title: 'Latency heatmap, version $version',
            description: 'Where the requests of one version fall in the latency buckets over time (one panel per selected version). Two bands: two populations (cache hit/miss, batch/no batch).',
            targets: [{ expr: `sum by (${LABEL.le}) (increase(${PROXY_METRIC.requestDuration}_bucket${byModelVersion()}[${RATE}]))`, legendFormat: '{{le}}', format: 'heatmap' }],
            unit: 's',
            repeat: LABEL.version,
            w: 12,
            options: { calculate: false, yAxis: { unit: 's' }, cellGap: 1, color: { mode: 'scheme', scheme: 'Oranges', steps: 64 }, tooltip: { show: true, yHistogram: true } },
          },
        ],
      },
      {
        row: 'Server queue and batching',
        panels: [
          {
            type: 'timeseries',
            title: 'Server queue wait p50 / p99',
            description: 'Time requests wait in the server\'s batching queue before a model run. High while inference time is flat: the batch timeout or the queue is the bottleneck.',
            targets: [0.5, 0.99].map((q) => ({ expr: quantile(q, SERVER_METRIC.queueDuration, byModelVersion(), MV), legendFormat: `p${Math.round(q * 100)} {{model}} v{{version}}` })),
            unit: 's',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Batch size (mean rows per run)',
            description: 'Rows per model run when dynamic batching is on. Near 1 under load: batching is not helping; near the maximum: runs are full.',
            targets: [{ expr: mean(SERVER_METRIC.batchSize, byModelVersion(), MV), legendFormat: '{{model}} v{{version}}' }],
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Inference time p99 and queue depth',
            description: 'Time in the ONNX runtime per run (p99), and requests waiting in the queue now.',
            targets: [
              { expr: quantile(0.99, SERVER_METRIC.inferenceDuration, byModelVersion(), MV), legendFormat: 'p99 run {{model}} v{{version}}' },
              { expr: `sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.queueDepth}${byModelVersion()})`, legendFormat: 'queued {{model}} v{{version}}' },
            ],
            w: 8,
          },
        ],
      },
      {
        row: 'Model lifecycle',
        panels: [
          {
            type: 'state-timeline',
            title: 'Model version states',
            description: 'Lifecycle state of each version over time (START, LOADING, AVAILABLE, UNLOADING, END, as TF Serving names them).',
            targets: [{ expr: `max by (${LABEL.model}, ${LABEL.version}, ${LABEL.state}) (${SERVER_METRIC.modelState}${byModelVersion()}) == 1`, legendFormat: '{{model}} v{{version}} {{state}}' }],
            w: 12,
          },
          {
            type: 'table',
            title: 'Load and warmup times',
            description: 'Mean time to load each version into the runtime (A) and to run its warmup requests (B), seconds, and failed load attempts (C).',
            targets: [
              { expr: `sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.loadDuration}_sum${byModelVersion()}) / sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.loadDuration}_count${byModelVersion()})`, format: 'table', instant: true },
              { expr: `sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.warmupDuration}_sum${byModelVersion()}) / sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.warmupDuration}_count${byModelVersion()})`, format: 'table', instant: true },
              // A counter with labels has no series before its first failure: read "no failures" as 0.
              { expr: `sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.loadFailures}${byModelVersion()}) or 0 * sum by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.loadDuration}_count${byModelVersion()})`, format: 'table', instant: true },
            ],
            unit: 's',
            w: 12,
            transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: { Time: true }, renameByName: { 'Value #A': 'load s', 'Value #B': 'warmup s', 'Value #C': 'load failures' } } }],
          },
        ],
      },
      {
        row: 'Drift',
        panels: [
          {
            type: 'timeseries',
            title: 'PSI per feature',
            description: `Population stability index of each feature against its baseline. Above ${DRIFT_THRESHOLDS.psi} (the line) the feature has drifted.`,
            targets: [{ expr: `${DRIFT_METRIC.score}${byModelVersion({ [LABEL.method]: 'psi' })}`, legendFormat: 'v{{version}} {{feature}}' }],
            min: 0,
            w: 8,
            thresholds: [{ value: null, color: 'green' }, { value: DRIFT_THRESHOLDS.psi, color: 'red' }],
            thresholdLines: true,
          },
          {
            type: 'timeseries',
            title: 'Jensen-Shannon distance per feature',
            description: `Jensen-Shannon distance of each feature against its baseline. Above ${DRIFT_THRESHOLDS.js} (the line) the feature has drifted.`,
            targets: [{ expr: `${DRIFT_METRIC.score}${byModelVersion({ [LABEL.method]: 'js' })}`, legendFormat: 'v{{version}} {{feature}}' }],
            min: 0,
            w: 8,
            thresholds: [{ value: null, color: 'green' }, { value: DRIFT_THRESHOLDS.js, color: 'red' }],
            thresholdLines: true,
          },
          {
            type: 'timeseries',
            title: 'Test p-values per feature (KS, chi-square)',
            description: `p-value of the two-sample KS test (numeric features) or chi-square test (categorical) against the baseline. Below ${DRIFT_THRESHOLDS.pValue} (the line) the feature has drifted.`,
            targets: [{ expr: `${DRIFT_METRIC.score}${byModelVersion({ [LABEL.method]: '=~ks_pvalue|chisquare_pvalue' })}`, legendFormat: 'v{{version}} {{feature}} ({{method}})' }],
            min: 0,
            max: 1,
            w: 8,
            thresholds: [{ value: null, color: 'red' }, { value: DRIFT_THRESHOLDS.pValue, color: 'green' }],
            thresholdLines: true,
          },
          {
            type: 'timeseries',
            title: 'Drift windows by outcome (the drift SLI)',
            description: 'Closed drift evaluation windows per hour by outcome: drifted (bad events of a drift SLO), clean (good events), inconclusive (too few rows or no baseline; counted neither way).',
            targets: [{ expr: `sum by (${LABEL.version}, ${LABEL.drifted}) (increase(${DRIFT_METRIC.windows}${byModelVersion()}[1h]))`, legendFormat: 'v{{version}} drifted={{drifted}}' }],
            min: 0,
            w: 24,
          },
        ],
      },
      {
        row: 'Canary vs stable',
        panels: [
          {
            type: 'timeseries',
            title: 'Request rate, canary vs stable',
            description: 'Requests per second served as canary and as stable for the selected model: the split as it happened.',
            targets: [{ expr: sumRate(PROXY_METRIC.requests, byVariant({}), VV), legendFormat: '{{variant}} v{{version}}' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Error rate, canary vs stable',
            description: 'Server-side failure share of canary and stable traffic. The canary above stable is the rollback signal.',
            targets: [{ expr: errorRatio(PROXY_METRIC.requests, VV, RATE, byVariant), legendFormat: '{{variant}} v{{version}}' }],
            unit: 'percentunit',
            min: 0,
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'p99 latency, canary vs stable',
            description: 'p99 request duration of canary and stable traffic on the same axis.',
            targets: [{ expr: quantile(0.99, PROXY_METRIC.requestDuration, byVariant({}), VV), legendFormat: '{{variant}} v{{version}}' }],
            unit: 's',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Canary weight',
            description: 'Percent of the model\'s traffic the proxy sends to the canary.',
            targets: [{ expr: `${PROXY_METRIC.splitWeight}${byModel()}`, legendFormat: '{{model}}' }],
            unit: 'percent',
            min: 0,
            max: 100,
            w: 24,
            h: 6,
          },
        ],
      },
      {
        row: 'Shadow traffic and labels',
        panels: [
          {
            type: 'timeseries',
            title: 'Mirrored requests by outcome',
            description: 'Copies of stable\'s requests sent to a candidate in its shadow step: compared, candidate_error, mismatched (answers of another shape), dropped_queue_full (the mirror\'s budget was used up: never queued behind clients), dropped_undecodable.',
            targets: [{ expr: sumRate(SHADOW_METRIC.requests, byModel(), [LABEL.version, LABEL.outcome]), legendFormat: 'v{{version}} {{outcome}}' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Shadow score difference, p99',
            description: 'p99 of |stable - candidate| of each score output (probabilities, regression values) on the same requests.',
            targets: [{ expr: quantile(0.99, SHADOW_METRIC.difference, byModel(), [LABEL.version, LABEL.output]), legendFormat: 'v{{version}} {{output}}' }],
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'MAE and RMSE on labelled predictions',
            description: 'Regression versions: mean absolute and root mean squared error of labelled predictions over the truth window.',
            targets: [
              { expr: `max by (${MV.join(', ')}) (${TRUTH_METRIC.mae}${byModelVersion()})`, legendFormat: 'MAE v{{version}}' },
              { expr: `max by (${MV.join(', ')}) (${TRUTH_METRIC.rmse}${byModelVersion()})`, legendFormat: 'RMSE v{{version}}' },
            ],
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Label delay',
            description: 'Mean time from a prediction to its label, per version. Accuracy reflects predictions this old.',
            targets: [{ expr: `max by (${MV.join(', ')}) (${TRUTH_METRIC.labelDelay}${byModelVersion()})`, legendFormat: 'v{{version}}' }],
            unit: 's',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Stored predictions and evictions',
            description: 'Predictions held for labels by model, and those dropped before a label came: ttl (too late), capacity (store full), conflict (a request id used twice, never labelled).',
            targets: [
              { expr: `sum by (${LABEL.model}) (${TRUTH_METRIC.storeEntries}${byModel()})`, legendFormat: 'stored {{model}}' },
              { expr: `sum by (${LABEL.reason}) (rate(${TRUTH_METRIC.storeEvictions}[${RATE}]))`, legendFormat: 'evicted/s {{reason}}' },
            ],
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Feedback entries by outcome',
            description: 'Labels posted to /api/v1/feedback: labelled_rows joined a stored prediction; unmatched ids were never stored, expired or conflicted; duplicate and rejected entries.',
            targets: [{ expr: `sum by (${LABEL.reason}) (rate(${TRUTH_METRIC.feedback}[${RATE}]))`, legendFormat: '{{reason}}' }],
            unit: 'ops',
            w: 8,
          },
        ],
      },
    ],
  });
}
