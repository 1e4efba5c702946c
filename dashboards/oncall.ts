// On-call: what is broken, for which model version, since when, and is it the rollout.
import { LABEL, PROXY_METRIC, ROLLOUT_METRIC, SLO_METRIC, SLO_RULE } from '../common/index.ts';
import { dashboard } from './dashboard.ts';
import { DATASOURCE_REF } from './grafana-json.ts';
import type { Annotation, Dashboard } from './grafana-json.ts';
import { byModel, byModelVersion, errorRatio, quantile, sumRate } from './promql.ts';
import { burnRateSteps } from './thresholds.ts';

const MV = [LABEL.model, LABEL.version];

/** Rollout events as annotations: a weight change or a rollback in the last 2 minutes. */
function rolloutAnnotations(): Annotation[] {
  const common = { datasource: DATASOURCE_REF, enable: true, step: '30s', tagKeys: LABEL.model, useValueForTime: false } as const;
  return [
    { ...common, name: 'Canary weight changes', iconColor: 'blue', expr: `changes(${ROLLOUT_METRIC.weight}${byModel()}[2m]) > 0`, titleFormat: 'Canary weight changed', textFormat: '{{model}}' },
    { ...common, name: 'Rollbacks', iconColor: 'red', expr: `increase(${ROLLOUT_METRIC.rollbacks}${byModel()}[2m]) > 0`, titleFormat: 'Rollback', textFormat: '{{model}}' },
    { ...common, name: 'Promotions', iconColor: 'green', expr: `increase(${ROLLOUT_METRIC.promotions}${byModel()}[2m]) > 0`, titleFormat: 'Promotion', textFormat: '{{model}}' },
  ];
}

export function oncall(): Dashboard {
  return dashboard({
    uid: 'modelgate-oncall',
    title: 'modelgate / On-call',
    description: 'Rates, latency, errors and burn rates per model version, firing alerts and rollout events.',
    tags: ['oncall'],
    annotations: rolloutAnnotations(),
    rows: [
      {
        row: 'Requests',
        panels: [
          {
            type: 'timeseries',
            title: 'Request rate by model and version',
            description: 'Requests per second through the proxy. A version dropping to zero while another rises is a split change; everything dropping is upstream or clients.',
            targets: [{ expr: sumRate(PROXY_METRIC.requests, byModelVersion(), MV), legendFormat: '{{model}} v{{version}}' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Latency p50 / p95 / p99 by model and version',
            description: 'Request duration seen by the proxy. p99 moving alone: a slow tail (batching, GC, one slow replica); all three moving: the model got slower.',
            targets: [0.5, 0.95, 0.99].map((q) => ({ expr: quantile(q, PROXY_METRIC.requestDuration, byModelVersion(), MV), legendFormat: `p${Math.round(q * 100)} {{model}} v{{version}}` })),
            unit: 's',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Error rate by model and version',
            description: 'Share of requests failing on the server side (the default availability SLI\'s bad codes). One version high and the others flat: that version is broken.',
            targets: [{ expr: errorRatio(PROXY_METRIC.requests, MV), legendFormat: '{{model}} v{{version}}' }],
            unit: 'percentunit',
            min: 0,
            w: 8,
          },
        ],
      },
      {
        row: 'SLO burn',
        panels: [
          {
            type: 'timeseries',
            title: 'Burn rate per window against its thresholds',
            description: 'Burn rate of each SLO window (proxy in-process evaluator). A page fires when a long window and its short window are both above the factor of their pair (lines: 14.4 and 6 page, 3 and 1 ticket with the default table).',
            targets: [{ expr: `${SLO_METRIC.burnRate}${byModelVersion()}`, legendFormat: '{{slo}} v{{version}} {{window}}' }],
            unit: 'x',
            min: 0,
            w: 16,
            h: 9,
            thresholds: burnRateSteps(),
            thresholdLines: true,
          },
          {
            type: 'table',
            title: 'Firing alerts',
            description: 'Burn-rate alerts firing now: A from Prometheus (the generated rules), B from the proxy\'s in-process evaluator. Both should agree.',
            targets: [
              { expr: `ALERTS${byModelVersion({ alertname: SLO_RULE.alert, alertstate: 'firing' })}`, format: 'table', instant: true },
              { expr: `${SLO_METRIC.alert}${byModelVersion()} == 1`, format: 'table', instant: true },
            ],
            w: 8,
            h: 9,
            transformations: [{ id: 'organize', options: { excludeByName: { Time: true, __name__: true, alertstate: true } } }],
          },
        ],
      },
      {
        row: 'Proxy and upstream',
        panels: [
          {
            type: 'timeseries',
            title: 'In-flight requests',
            description: 'Requests being proxied now, by protocol. Rising with flat request rate: the upstream is slowing down.',
            targets: [{ expr: `sum by (${LABEL.protocol}) (${PROXY_METRIC.inFlight})`, legendFormat: '{{protocol}}' }],
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Upstream errors by kind',
            description: 'Requests that got no answer from the model server, by kind: connect (server down), reset, timeout, protocol, client_abort, body_too_large.',
            targets: [{ expr: sumRate(PROXY_METRIC.upstreamErrors, '', [LABEL.kind, LABEL.protocol]), legendFormat: '{{kind}} ({{protocol}})' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Responses by status code',
            description: 'Responses per second by status code (HTTP status, or gRPC code name), for the selected model versions.',
            targets: [{ expr: sumRate(PROXY_METRIC.requests, byModelVersion(), [LABEL.code]), legendFormat: '{{code}}' }],
            unit: 'reqps',
            w: 8,
          },
        ],
      },
      {
        row: 'Admission: authentication, rate limits, shedding',
        panels: [
          {
            type: 'timeseries',
            title: 'Authentication failures by reason',
            description: 'Requests refused for their credential: missing_credential, unknown_key, invalid_token, expired_token (401) and forbidden (403, no rule lets the caller call that model). A jump in expired_token: a client stopped refreshing its tokens; in unknown_key: a rotated key, or someone guessing.',
            targets: [{ expr: sumRate(PROXY_METRIC.authFailures, '', [LABEL.reason]), legendFormat: '{{reason}}' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Rate limited and shed by model',
            description: 'Requests refused before forwarding because a caller or model was over its rate (rate_limited, 429) or the model was at its concurrency limit (shed, 503). Not in the request rate above and not counted by the availability SLOs: shedding is how the admitted requests keep their latency.',
            targets: [{ expr: sumRate(PROXY_METRIC.rejected, byModel({ [LABEL.reason]: '=~rate_limited|shed' }), [LABEL.model, LABEL.reason]), legendFormat: '{{model}} {{reason}}' }],
            unit: 'reqps',
            w: 8,
          },
          {
            type: 'timeseries',
            title: 'Concurrency limit and admitted in flight by model',
            description: 'Each model\'s concurrency limit (fixed, or where an adaptive limit stands) against the admitted requests in flight. In flight pinned at the limit while requests are shed: the model is at capacity. An adaptive limit falling: the model got slower.',
            targets: [
              { expr: `max by (${LABEL.model}) (${PROXY_METRIC.concurrencyLimit}${byModel()})`, legendFormat: 'limit {{model}}' },
              { expr: `max by (${LABEL.model}) (${PROXY_METRIC.admittedInFlight}${byModel()})`, legendFormat: 'in flight {{model}}' },
            ],
            w: 8,
          },
        ],
      },
    ],
  });
}
