// PromQL fragments shared by the three dashboards. Metric and label names come from
// common/conventions.ts only; the dashboard variables are `$model` and `$version`.
import { LABEL } from '../common/index.ts';
import { DEFAULT_BAD_CODES_REGEX } from './thresholds.ts';

/** Grafana's rate window: at least four scrape intervals (grafana docs, "$__rate_interval"). */
export const RATE = '$__rate_interval';

type Matchers = Record<string, string>;

function matchers(m: Matchers): string {
  return Object.entries(m)
    .map(([k, v]) => {
      // `!~value` and `=~value` pass an operator; a bare value is an exact match.
      if (v.startsWith('!~') || v.startsWith('=~') || v.startsWith('!=')) return `${k}${v.slice(0, 2)}"${v.slice(2)}"`;
      return `${k}="${v}"`;
    })
    .join(',');
}

/** `{model=~"$model",version=~"$version", ...extra}` */
export function byModelVersion(extra: Matchers = {}): string {
  return `{${matchers({ [LABEL.model]: '=~$model', [LABEL.version]: '=~$version', ...extra })}}`;
}

/** `{model=~"$model", ...extra}` for series without a version (splits, rollouts). */
export function byModel(extra: Matchers = {}): string {
  return `{${matchers({ [LABEL.model]: '=~$model', ...extra })}}`;
}

export function sel(metric: string, m: string): string {
  return `${metric}${m}`;
}

/** Per-second rate summed by the given labels. */
export function sumRate(metric: string, selector: string, by: readonly string[], window = RATE): string {
  return `sum by (${by.join(', ')}) (rate(${metric}${selector}[${window}]))`;
}

/** A quantile of a prom-client histogram, aggregated by the given labels. */
export function quantile(q: number, histogram: string, selector: string, by: readonly string[], window = RATE): string {
  return `histogram_quantile(${q}, sum by (${[...by, LABEL.le].join(', ')}) (rate(${histogram}_bucket${selector}[${window}])))`;
}

/** Share of requests with a server-side failure code (the SLO default bad codes). */
export function errorRatio(counter: string, by: readonly string[], window = RATE, scope: (extra: Matchers) => string = byModelVersion): string {
  const bad = sumRate(counter, scope({ [LABEL.code]: `=~${DEFAULT_BAD_CODES_REGEX}` }), by, window);
  const all = sumRate(counter, scope({}), by, window);
  // `or … * 0`: a version with traffic and no failures reads 0, not "no data".
  return `(${bad} or ${all} * 0) / ${all}`;
}

/** Mean of a histogram: sum / count over the window. */
export function mean(histogram: string, selector: string, by: readonly string[], window = RATE): string {
  return `sum by (${by.join(', ')}) (rate(${histogram}_sum${selector}[${window}])) / sum by (${by.join(', ')}) (rate(${histogram}_count${selector}[${window}]))`;
}

/**
 * Replaces Grafana's variables so a query can be sent to Prometheus directly (the
 * verification test does this). Multi-value variables become regex alternatives, as
 * Grafana formats them for `=~` matchers.
 */
export function expandQuery(expr: string, vars: { model?: string; version?: string; rateInterval?: string; range?: string; interval?: string } = {}): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval ?? '1m')
    .replaceAll('$__range', vars.range ?? '1h')
    .replaceAll('$__interval', vars.interval ?? '15s')
    .replaceAll('${datasource}', 'prometheus')
    .replaceAll('$model', vars.model ?? '.*')
    .replaceAll('$version', vars.version ?? '.*');
}
