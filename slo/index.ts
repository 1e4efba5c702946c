// Public surface of the SLO area. The proxy wires it as:
//   const engine = new SloEngine(config.slos, { clock, onTransition: (t) => notifier.notify(t) });
//   engine.record(outcome);                 // request path, O(1), never throws
//   drift.onWindowClosed((w) => w.drifted !== null && engine.recordWindow({ model: w.model, version: w.version, good: !w.drifted, atMs: w.endMs }));
//   truth.onLabelled((e) => engine.recordLabelled(e));   // accuracy SLI: labels as they arrive
//   setInterval(() => engine.evaluate(), tickMs);
//   registerSloMetrics(registry, engine);   // gauges
//   GET /api/v1/slos → engine.snapshot()
export { SloEngine, SEVERITIES, DEFAULT_MAX_SERIES_PER_SLO } from './engine.ts';
export type { WindowEvent, LabelEvent, SloEngineOptions } from './engine.ts';
export type { SloStatus, WindowReading, PairReading, AlertStatus, AlertTransition, BurnRateReading, Verdict } from './status.ts';
export type { Slo, Sli, SliKind, RequestSli, AvailabilitySli, LatencySli, DriftSli, AccuracySli, AlertWindow, SloAlerting, Severity } from './definitions.ts';
export { INFERENCE_APIS } from './definitions.ts';
export { WORKBOOK_WINDOWS, WORKBOOK_PERIOD_MS, defaultWindows, distinctWindows } from './windows.ts';
export type { WorkbookRow } from './windows.ts';
export { errorRatio, burnRate, ratioThreshold, pairState, budgetRemaining, burnVerdict } from './burn.ts';
export type { WindowCounts, PairState } from './burn.ts';
export { CountRing } from './ring.ts';
export { layoutFor, bytesPerSeries, FINE_BUCKETS_PER_PERIOD, MAX_FINE_BUCKETS, PERIOD_BUCKETS } from './layout.ts';
export type { SeriesLayout } from './layout.ts';
export { classifierFor } from './sli.ts';
export type { BadClassifier } from './sli.ts';
export { registerSloMetrics, sloLatencyThresholds } from './metrics.ts';
export type { SloMetrics } from './metrics.ts';
export { generateRules, sloRuleGroup, errorRatioExpr, requestsExpr, leMatcher, errorRatioRecord, requestsRecord } from './rules.ts';
export type { RuleGroup, RecordingRule, AlertingRule } from './rules.ts';
export { rulesFile } from './rules-yaml.ts';
export { validateSlos, validateSlo, DEFAULT_BAD_CODES, DEFAULT_MIN_EVENTS, DEFAULT_DRIFT_MIN_EVENTS, DEFAULT_ACCURACY_MIN_LABELS, DEFAULT_PERIOD_MS } from './config.ts';
export { checkDriftSlis } from './drift-check.ts';
export type { DriftSectionView } from './drift-check.ts';
export { SloErrors } from './errors.ts';
export { AlertNotifier, DEFAULT_RETRY, DEFAULT_MAX_QUEUE, DEFAULT_RESEND_MS } from './notify/notifier.ts';
export type { NotifierOptions, NotifierStats, RetryPolicy } from './notify/notifier.ts';
export { webhookPayload, postableAlert, alertBody, alertLabels, fingerprint, ZERO_TIME } from './notify/payload.ts';
export type { WebhookPayload, PostableAlert, AlertBody } from './notify/payload.ts';
export { validateNotify, DEFAULT_NOTIFY_TIMEOUT_MS } from './notify/config.ts';
export type { NotifyTarget, NotifyKind } from './notify/config.ts';
export { alertAnnotations } from './rules.ts';
export { startSlos, DEFAULT_TICK_MS } from './runtime.ts';
export type { SloRuntime, SloRuntimeOptions } from './runtime.ts';
export type { SloSnapshot, SloStatusJson } from './snapshot.ts';
export { PrometheusSloSource, countsByVersion, DEFAULT_PROMETHEUS_TIMEOUT_MS, DEFAULT_ALIGN_MS, DEFAULT_MAX_READING_AGE_MS } from './prometheus-source.ts';
export type { PrometheusSourceOptions, SourceHealth } from './prometheus-source.ts';
export { fleetStatus, newAlertMemory } from './fleet-status.ts';
export type { SeriesCounts, SeriesReading, AlertMemory, FleetEvaluation } from './fleet-status.ts';
export { queryInstant, parseQueryResponse } from './prometheus-api.ts';
export type { PromSample, PromQueryResult, PromApiOptions } from './prometheus-api.ts';
export { validateSloSource } from './source-config.ts';
export type { SloSourceConfig } from './source-config.ts';
