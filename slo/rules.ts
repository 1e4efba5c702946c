// Prometheus rules for a set of SLOs, defined exactly as the in-process evaluator defines
// them (slo/engine.ts, slo/burn.ts), so both reach the same decisions on the same traffic:
//
// - error ratio per window = bad / total of `increase()` over the window, summed by model and
//   version. `increase` (not `rate`) keeps the counts integral, so the division is the same
//   floating-point operation as in JavaScript.
// - a pair burns when both windows exceed factor × (1 − objective) and both have at least
//   minEvents requests (recorded as modelgate:slo_requests:increase<window>).
// - alerts carry no `for:`: the short window already delays and resets them (SRE Workbook,
//   "Alerting on SLOs", multiwindow multi-burn-rate alerts), and the in-process evaluator
//   fires at the first evaluation that sees the condition.
//
// - drift SLI: the events are closed drift windows, counted by drift/metrics.ts in
//   modelgate_drift_windows_total{model,version,drifted}; bad = drifted="true", total =
//   drifted=~"true|false" (inconclusive windows count neither way, as in the engine).
//
// - accuracy SLI: the events are labelled predictions (truth/metrics.ts). Classifiers:
//   modelgate_labelled_predictions_total{model,version,correct}, bad = correct="false".
//   Regression (a tolerance): the histogram modelgate_prediction_abs_error, good = the
//   bucket le="<tolerance>" (every tolerance is one of its buckets), total = its _count.
//
// Recording rules and the alerts of one SLO share a group, so within one evaluation the
// alerts read ratios recorded at the same timestamp (rules in a group run in order;
// prometheus docs/configuration/recording_rules.md).
import { DRIFTED_VALUE, DRIFT_METRIC, LABEL, PROXY_METRIC, SLO_RULE, TRUTH_METRIC, formatDuration } from '../common/index.ts';
import type { AlertWindow, Severity, Slo } from './definitions.ts';
import { defaultWindows, distinctWindows } from './windows.ts';
import { badCodePattern } from './sli.ts';

export interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}
export interface AlertingRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<RecordingRule | AlertingRule>;
}

const BY = `sum by (${LABEL.model}, ${LABEL.version})`;
/** Below this, the global evaluation interval (1m in most setups) is too coarse for the windows. */
const SHORTEST_WINDOW_FOR_DEFAULT_INTERVAL_MS = 5 * 60_000;

export const errorRatioRecord = (windowMs: number) => `${SLO_RULE.errorRatioPrefix}${formatDuration(windowMs)}`;
export const requestsRecord = (windowMs: number) => `${SLO_RULE.requestsPrefix}${formatDuration(windowMs)}`;

/** A PromQL string literal. */
function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Matches the `le` label of the threshold bucket. prom-client writes `le="1"` for 1 s;
 * Prometheus 3 normalises classic-histogram `le` values to float text (`"1.0"`), so whole
 * numbers accept both spellings.
 */
export function leMatcher(thresholdSeconds: number): string {
  const text = String(thresholdSeconds);
  return Number.isInteger(thresholdSeconds) ? `${LABEL.le}=~${quote(`${text}(\\.0)?`)}` : `${LABEL.le}=${quote(text)}`;
}

function baseMatchers(slo: Slo): string[] {
  const m = [`${LABEL.model}=${quote(slo.model)}`];
  if (slo.version !== undefined) m.push(`${LABEL.version}=${quote(slo.version)}`);
  // Drift windows and labels carry no api label: they are not requests.
  if (slo.sli.kind !== 'drift' && slo.sli.kind !== 'accuracy') m.push(`${LABEL.api}=~${quote(slo.apis.join('|'))}`);
  return m;
}

const sel = (metric: string, matchers: string[]) => `${metric}{${matchers.join(',')}}`;

/** Conclusive drift windows: the drift SLI's total. */
const CONCLUSIVE = `${LABEL.drifted}=~${quote(`${DRIFTED_VALUE.drifted}|${DRIFTED_VALUE.clean}`)}`;

function totalSelector(slo: Slo): string {
  if (slo.sli.kind === 'drift') return sel(DRIFT_METRIC.windows, [...baseMatchers(slo), CONCLUSIVE]);
  if (slo.sli.kind === 'accuracy') return slo.sli.tolerance === undefined ? sel(TRUTH_METRIC.labelled, baseMatchers(slo)) : sel(`${TRUTH_METRIC.absError}_count`, baseMatchers(slo));
  return slo.sli.kind === 'latency' ? sel(`${PROXY_METRIC.requestDuration}_count`, baseMatchers(slo)) : sel(PROXY_METRIC.requests, baseMatchers(slo));
}

/** Bad events of the availability and drift SLIs (latency counts the good ones instead). */
function badSelector(slo: Slo): string {
  if (slo.sli.kind === 'drift') return sel(DRIFT_METRIC.windows, [...baseMatchers(slo), `${LABEL.drifted}=${quote(DRIFTED_VALUE.drifted)}`]);
  if (slo.sli.kind === 'accuracy' && slo.sli.tolerance === undefined) return sel(TRUTH_METRIC.labelled, [...baseMatchers(slo), `${LABEL.correct}="false"`]);
  if (slo.sli.kind === 'availability') return sel(PROXY_METRIC.requests, [...baseMatchers(slo), `${LABEL.code}=~${quote(badCodePattern(slo.sli.badCodes))}`]);
  throw new TypeError('latency SLIs count good requests (the threshold bucket), not bad ones');
}

export function errorRatioExpr(slo: Slo, windowMs: number): string {
  const w = formatDuration(windowMs);
  const total = `${BY} (increase(${totalSelector(slo)}[${w}]))`;
  const goodBucket =
    slo.sli.kind === 'latency' ? sel(`${PROXY_METRIC.requestDuration}_bucket`, [...baseMatchers(slo), leMatcher(slo.sli.thresholdSeconds)])
    : slo.sli.kind === 'accuracy' && slo.sli.tolerance !== undefined ? sel(`${TRUTH_METRIC.absError}_bucket`, [...baseMatchers(slo), leMatcher(slo.sli.tolerance)])
    : undefined;
  if (goodBucket !== undefined) {
    const good = `${BY} (increase(${goodBucket}[${w}]))`;
    // (total - good) / total: the same subtraction of whole numbers the evaluator does.
    return `(\n  ${total}\n  -\n  ${good}\n)\n/\n${total}`;
  }
  const bad = `${BY} (increase(${badSelector(slo)}[${w}]))`;
  // No bad series yet means 0 errors, not "no data": fall back to 0 × total.
  return `(\n  ${bad}\n  or\n  0 * ${total}\n)\n/\n${total}`;
}

export function requestsExpr(slo: Slo, windowMs: number): string {
  return `${BY} (increase(${totalSelector(slo)}[${formatDuration(windowMs)}]))`;
}

function pairExpr(slo: Slo, w: AlertWindow): string {
  const s = `{${LABEL.slo}=${quote(slo.name)}}`;
  const threshold = `(${w.factor} * (1 - ${slo.objective}))`;
  const n = slo.alerting.minEvents;
  return [
    `  # ${w.severity}: ${w.factor}x burn over ${formatDuration(w.longMs)} and ${formatDuration(w.shortMs)}`,
    `  ${errorRatioRecord(w.longMs)}${s} > ${threshold}`,
    `  and ${errorRatioRecord(w.shortMs)}${s} > ${threshold}`,
    `  and ${requestsRecord(w.longMs)}${s} >= ${n}`,
    `  and ${requestsRecord(w.shortMs)}${s} >= ${n}`,
  ].join('\n');
}

/**
 * Annotations of a burn-rate alert, with `{{ $labels.x }}` templates. The notifier expands
 * the same texts (slo/notify/payload.ts), so a page reads the same from either path.
 */
export function alertAnnotations(slo: Slo, severity: Severity): Record<string, string> {
  const windows = slo.alerting.windows.filter((w) => w.severity === severity);
  const what = slo.sli.kind === 'latency'
    ? `Requests slower than ${formatDuration(slo.sli.thresholdSeconds * 1000)}`
    : slo.sli.kind === 'drift' ? 'Drift evaluation windows that found drift'
    : slo.sli.kind === 'accuracy' ? (slo.sli.tolerance === undefined ? 'Labelled predictions that were wrong' : `Labelled predictions off by more than ${slo.sli.tolerance}`)
    : 'Server-side errors';
  // No {{ $value }}: annotations stay the same for the whole firing, so promtool tests and
  // Alertmanager grouping see one stable text.
  const factors = windows.map((w) => `${w.factor}x over ${formatDuration(w.longMs)}/${formatDuration(w.shortMs)}`).join(' or ');
  const annotations: Record<string, string> = {
    summary: `{{ $labels.model }} version {{ $labels.version }} is burning the {{ $labels.slo }} error budget ${severity === 'page' ? 'fast' : 'steadily'}`,
    description: `${what} burn the budget of a ${Number((slo.objective * 100).toPrecision(12))}% objective over ${formatDuration(slo.periodMs)} at ${factors}.${slo.description ? ` SLO: ${slo.description.replace(/\.$/, '')}.` : ''}`,
  };
  if (slo.alerting.runbookUrl) annotations['runbook_url'] = slo.alerting.runbookUrl;
  return annotations;
}

function alertRule(slo: Slo, severity: Severity, windows: readonly AlertWindow[]): AlertingRule {
  const expr = windows.map((w) => `(\n${pairExpr(slo, w)}\n)`).join('\nor\n');
  const annotations = alertAnnotations(slo, severity);
  return {
    alert: SLO_RULE.alert,
    expr,
    // slo is on the series already; repeating it keeps rules unique for promtool's duplicate lint.
    labels: { [LABEL.slo]: slo.name, [LABEL.severity]: severity, ...slo.alerting.labels },
    annotations,
  };
}

/**
 * The windows whose error ratio and request count are recorded: the alert windows, or for
 * an SLO without alerts (`alerting.windows: []`, or a Sloth spec with both alerts
 * disabled) the default table's windows for its period, so dashboards still have the SLI,
 * as Sloth records it without alerts.
 */
export function recordedWindows(slo: Slo): number[] {
  return distinctWindows(slo.alerting.windows.length > 0 ? slo.alerting.windows : defaultWindows(slo.periodMs));
}

export function sloRuleGroup(slo: Slo): RuleGroup {
  const sloLabel = { [LABEL.slo]: slo.name };
  const rules: Array<RecordingRule | AlertingRule> = [];
  const windows = recordedWindows(slo);
  for (const w of windows) rules.push({ record: errorRatioRecord(w), expr: errorRatioExpr(slo, w), labels: sloLabel });
  for (const w of windows) rules.push({ record: requestsRecord(w), expr: requestsExpr(slo, w), labels: sloLabel });
  rules.push({ record: SLO_RULE.objective, expr: `vector(${slo.objective})`, labels: sloLabel });
  for (const severity of ['page', 'ticket'] as const) {
    const ws = slo.alerting.windows.filter((w) => w.severity === severity);
    if (ws.length > 0) rules.push(alertRule(slo, severity, ws));
  }
  const shortest = windows[0] ?? slo.periodMs;
  const group: RuleGroup = { name: `modelgate-slo-${slo.name}`, rules };
  if (shortest < SHORTEST_WINDOW_FOR_DEFAULT_INTERVAL_MS) group.interval = formatDuration(Math.max(1000, Math.floor(shortest / 5)));
  return group;
}

export function generateRules(slos: readonly Slo[]): { groups: RuleGroup[] } {
  return { groups: slos.map(sloRuleGroup) };
}
