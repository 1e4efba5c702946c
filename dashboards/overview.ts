// Overview: for leads. Is every model version inside its SLO, how much budget is left,
// how much traffic each version takes, which rollouts are moving.
import { LABEL, PROXY_METRIC, ROLLOUT_METRIC, SERVER_METRIC, SHADOW_METRIC, SLO_METRIC, TRUTH_METRIC } from '../common/index.ts';
import { dashboard } from './dashboard.ts';
import type { Dashboard, Threshold } from './grafana-json.ts';
import { byModel, byModelVersion, errorRatio, quantile, sumRate } from './promql.ts';
import { burnRateSteps } from './thresholds.ts';
import { TERMINAL_PHASES } from '../rollout/index.ts';

const MV = [LABEL.model, LABEL.version];

/** Budget colours: red when spent, orange under a quarter, green from half. */
const BUDGET_STEPS: Threshold[] = [
  { value: null, color: 'red' },
  { value: 0, color: 'orange' },
  { value: 0.5, color: 'green' },
];


export function overview(): Dashboard {
  return dashboard({
    uid: 'modelgate-overview',
    title: 'modelgate / Overview',
    description: 'SLOs, error budgets, traffic and rollouts per model version.',
    tags: ['overview'],
    rows: [
      {
        row: 'Service level',
        panels: [
          {
            type: 'stat',
            title: 'Availability over the time range',
            description: 'Share of requests in the selected time range that did not fail on the server side (5xx and the gRPC server codes the default availability SLI counts as bad), per model version.',
            targets: [{ expr: `1 - (${errorRatio(PROXY_METRIC.requests, MV, '$__range')})`, legendFormat: '{{model}} v{{version}}', instant: true }],
            unit: 'percentunit',
            decimals: 3,
            w: 8,
            thresholds: [
              { value: null, color: 'red' },
              { value: 0.99, color: 'orange' },
              { value: 0.999, color: 'green' },
            ],
            options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', textMode: 'value_and_name' },
          },
          {
            type: 'bargauge',
            title: 'Error budget remaining',
            description: 'Share of each SLO\'s error budget left in its period (1 = untouched, 0 = spent, below 0 = overspent), from the proxy\'s in-process evaluator.',
            targets: [{ expr: `${SLO_METRIC.errorBudgetRemaining}${byModelVersion()}`, legendFormat: '{{slo}} v{{version}}', instant: true }],
            unit: 'percentunit',
            min: 0,
            max: 1,
            w: 8,
            thresholds: BUDGET_STEPS,
            options: { orientation: 'horizontal', displayMode: 'gradient', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
          },
          {
            type: 'timeseries',
            title: 'Burn rate (worst window per SLO)',
            description: 'How many times faster than "exactly on budget" each SLO spends its budget, the highest of its alert windows. Above 1 the budget runs out before the period ends; the lines are the page/ticket factors.',
            targets: [{ expr: `max by (${LABEL.slo}, ${LABEL.version}) (${SLO_METRIC.burnRate}${byModelVersion()})`, legendFormat: '{{slo}} v{{version}}' }],
            unit: 'x',
            min: 0,
            w: 8,
            thresholds: burnRateSteps(),
            thresholdLines: true,
          },
        ],
      },
      {
        row: 'Traffic',
        panels: [
          {
            type: 'timeseries',
            title: 'Request rate',
            description: 'Requests per second through the proxy, per model version.',
            targets: [{ expr: sumRate(PROXY_METRIC.requests, byModelVersion(), MV), legendFormat: '{{model}} v{{version}}' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'p99 latency',
            description: '99th percentile of the request duration seen by the proxy, per model version (interpolated inside histogram buckets).',
            targets: [{ expr: quantile(0.99, PROXY_METRIC.requestDuration, byModelVersion(), MV), legendFormat: '{{model}} v{{version}}' }],
            unit: 's',
            w: 8,
          },
          {
            type: 'bargauge',
            title: 'Traffic share by version (last 5 minutes)',
            description: 'Share of each model\'s requests served by each version over the last 5 minutes: the split as it actually happened.',
            targets: [
              {
                expr: `${sumRate(PROXY_METRIC.requests, byModelVersion(), MV, '5m')} / on (${LABEL.model}) group_left ${sumRate(PROXY_METRIC.requests, byModel(), [LABEL.model], '5m')}`,
                legendFormat: '{{model}} v{{version}}',
                instant: true,
              },
            ],
            unit: 'percentunit',
            min: 0,
            max: 1,
            w: 8,
            options: { orientation: 'horizontal', displayMode: 'basic', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
          },
          {
            type: 'table',
            title: 'Active versions',
            description: 'Model versions the server reports AVAILABLE now.',
            targets: [{ expr: `max by (${LABEL.model}, ${LABEL.version}) (${SERVER_METRIC.modelState}${byModelVersion({ [LABEL.state]: 'AVAILABLE' })}) == 1`, format: 'table', instant: true }],
            w: 12,
            transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true } } }],
          },
          {
            type: 'table',
            title: 'Rollouts in progress',
            description: 'Rollouts not finished yet (Pending, Progressing, Paused, Promoting): phase and canary weight (percent).',
            targets: [
              // A finished rollout (Succeeded, RolledBack, Failed) is not "in progress".
              { expr: `max by (${LABEL.model}, ${LABEL.phase}) (${ROLLOUT_METRIC.phase}${byModel({ [LABEL.phase]: `!~${TERMINAL_PHASES.join('|')}` })}) == 1`, format: 'table', instant: true },
              { expr: `max by (${LABEL.model}) (${ROLLOUT_METRIC.weight}${byModel()}) and on (${LABEL.model}) (max by (${LABEL.model}) (${ROLLOUT_METRIC.phase}${byModel({ [LABEL.phase]: `!~${TERMINAL_PHASES.join('|')}` })}) == 1)`, format: 'table', instant: true },
            ],
            w: 12,
            transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: { Time: true, 'Value #A': true }, renameByName: { 'Value #B': 'weight %' } } }],
          },
        ],
      },
      {
        row: 'Correctness: labelled accuracy and shadow traffic',
        panels: [
          {
            type: 'timeseries',
            title: 'Accuracy on labelled predictions',
            description: 'Share of labelled predictions that were right, per classifier version, over the truth window (labels arrive through POST /api/v1/feedback). A new version below the one it replaces is wrong, however fast and error-free it is.',
            targets: [{ expr: `max by (${MV.join(', ')}) (${TRUTH_METRIC.accuracy}${byModelVersion()})`, legendFormat: '{{model}} v{{version}}' }],
            unit: 'percentunit',
            max: 1,
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Labelled share',
            description: 'Share of stored predictions that got a label: accuracy over a small share is an estimate from few labels.',
            targets: [{ expr: `max by (${MV.join(', ')}) (${TRUTH_METRIC.labelledShare}${byModelVersion()})`, legendFormat: '{{model}} v{{version}}' }],
            unit: 'percentunit',
            min: 0,
            max: 1,
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Shadow agreement with stable',
            description: 'During a rollout\'s shadow step: share of mirrored rows where the candidate answered as stable did. Below the rollout\'s maxDisagreement, the shadow step fails.',
            targets: [{ expr: `max by (${MV.join(', ')}) (${SHADOW_METRIC.agreement}${byModelVersion()})`, legendFormat: '{{model}} candidate v{{version}}' }],
            unit: 'percentunit',
            max: 1,
            w: 8,
          },
        ],
      },
    ],
  });
}
