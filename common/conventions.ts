// Every metric name, label name and bucket boundary that more than one part of modelgate
// uses exists here once: the server, the proxy, the rule generator and the dashboard
// builder import these, so a rename cannot leave a dashboard or an alert behind.
// (Habit from Sloth's pkg/common/conventions/slo.go.)

/** Label names. */
export const LABEL = {
  model: 'model',
  version: 'version',
  api: 'api',
  protocol: 'protocol',
  code: 'code',
  variant: 'variant',
  entrypoint: 'entrypoint',
  state: 'state',
  kind: 'kind',
  slo: 'slo',
  window: 'window',
  severity: 'severity',
  feature: 'feature',
  method: 'method',
  phase: 'phase',
  reason: 'reason',
  outcome: 'outcome',
  drifted: 'drifted',
  /** Whether a labelled prediction was right (`true` / `false`), truth/ metrics. */
  correct: 'correct',
  /** A classifier's class, truth/ metrics (capped per version, the rest `__other__`). */
  class: 'class',
  /** Who called (proxy/guard), only where configured and capped like the model label. */
  identity: 'identity',
  /** An output tensor of a model (shadow comparison metrics). */
  output: 'output',
  le: 'le',
} as const;

/** Value used for a model or version label that is not in the allowlist (cardinality cap). */
export const OVERFLOW_LABEL_VALUE = '__other__';
/** Value used when the version is not known (request failed before a version was resolved). */
export const UNKNOWN_VERSION = 'unknown';

/** Metrics exported by `modelgate serve` (the inference server). */
export const SERVER_METRIC = {
  requests: 'modelgate_server_requests_total',
  requestDuration: 'modelgate_server_request_duration_seconds',
  inferenceDuration: 'modelgate_server_inference_duration_seconds',
  loadDuration: 'modelgate_server_model_load_duration_seconds',
  warmupDuration: 'modelgate_server_model_warmup_duration_seconds',
  modelState: 'modelgate_server_model_state',
  loadFailures: 'modelgate_server_model_load_failures_total',
  batchSize: 'modelgate_server_batch_size',
  queueDuration: 'modelgate_server_queue_duration_seconds',
  queueDepth: 'modelgate_server_queue_depth',
} as const;

/** Metrics exported by `modelgate proxy`. */
export const PROXY_METRIC = {
  requests: 'modelgate_requests_total',
  requestDuration: 'modelgate_request_duration_seconds',
  requestSize: 'modelgate_request_size_bytes',
  responseSize: 'modelgate_response_size_bytes',
  inFlight: 'modelgate_in_flight_requests',
  upstreamErrors: 'modelgate_upstream_errors_total',
  telemetryDropped: 'modelgate_telemetry_dropped_total',
  splitWeight: 'modelgate_split_weight',
  /** Requests refused by proxy/guard for a missing or bad credential or a forbidden call, by `reason`. */
  authFailures: 'modelgate_auth_failures_total',
  /** Requests refused before forwarding (`reason`: RejectReason), by model. */
  rejected: 'modelgate_requests_rejected_total',
  /** The current per-model concurrency limit (fixed, or the adaptive limit's value). */
  concurrencyLimit: 'modelgate_concurrency_limit',
  /** Requests admitted and in flight, per model, as the concurrency limiter counts them. */
  admittedInFlight: 'modelgate_admitted_in_flight',
  /** Certificate reloads of a TLS listener (`entrypoint` rest/grpc), `outcome` ok or error (the old certificate kept serving). */
  tlsReloads: 'modelgate_tls_reloads_total',
  /** Data-plane worker processes (proxy.workers > 1) that died and were started again. */
  workerRestarts: 'modelgate_proxy_worker_restarts_total',
} as const;

export const SLO_METRIC = {
  burnRate: 'modelgate_slo_burn_rate',
  errorBudgetRemaining: 'modelgate_slo_error_budget_remaining',
  alert: 'modelgate_slo_alert',
  objective: 'modelgate_slo_objective_ratio',
} as const;

export const DRIFT_METRIC = {
  score: 'modelgate_drift_score',
  detected: 'modelgate_drift_detected',
  samples: 'modelgate_drift_samples_total',
  unparsable: 'modelgate_drift_unparsable_total',
  /** Closed drift evaluation windows by outcome (`drifted` label): the drift SLI's events. */
  windows: 'modelgate_drift_windows_total',
} as const;

/**
 * Values of the `drifted` label of DRIFT_METRIC.windows. A drift SLI counts `true` (bad)
 * and `false` (good); `inconclusive` windows (too few rows, no baseline) count neither way
 * and are exported so a silent SLI can be told apart from a healthy one.
 */
export const DRIFTED_VALUE = { drifted: 'true', clean: 'false', inconclusive: 'inconclusive' } as const;

/**
 * Live model quality from delayed labels (truth/, POST /api/v1/feedback). Gauges are over
 * the truth window of prediction time; the counter and the histogram count labels as they
 * arrive and are the accuracy SLI's events in the Prometheus rules.
 */
export const TRUTH_METRIC = {
  /** Labelled rows of classifiers by `correct` (true/false): the accuracy SLI's events. */
  labelled: 'modelgate_labelled_predictions_total',
  /** |predicted - value| of labelled regression rows; the accuracy SLI's good events are `le="<tolerance>"`. */
  absError: 'modelgate_prediction_abs_error',
  accuracy: 'modelgate_prediction_accuracy',
  precision: 'modelgate_prediction_precision',
  recall: 'modelgate_prediction_recall',
  logLoss: 'modelgate_prediction_log_loss',
  mae: 'modelgate_prediction_mae',
  rmse: 'modelgate_prediction_rmse',
  labelledShare: 'modelgate_prediction_labelled_share',
  labelDelay: 'modelgate_prediction_label_delay_seconds',
  storeEntries: 'modelgate_prediction_store_entries',
  storeEvictions: 'modelgate_prediction_store_evictions_total',
  /** Feedback entries by outcome (`reason`: matched, unmatched, duplicate, rejected). */
  feedback: 'modelgate_feedback_entries_total',
} as const;

/** Absolute-error buckets of TRUTH_METRIC.absError; every accuracy SLO tolerance is added at start. */
export const DEFAULT_ABS_ERROR_BUCKETS: readonly number[] = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100];

/** Metrics of shadow traffic (mirrored requests compared with the primary's answer) and request capture. */
export const SHADOW_METRIC = {
  /** Mirrored requests by `outcome`: compared, candidate_error, dropped_queue_full, dropped_undecodable... */
  requests: 'modelgate_shadow_requests_total',
  /** Share of compared rows whose candidate answer agrees with the primary's, per model and candidate version. */
  agreement: 'modelgate_shadow_agreement_ratio',
  /** |primary - candidate| of score outputs, per model, candidate version and `output`. */
  difference: 'modelgate_shadow_difference',
  /** Captured exchanges by `outcome`: written, dropped_queue_full, dropped_write_error, dropped_too_large. */
  captured: 'modelgate_capture_records_total',
} as const;

/** `outcome` label values of the shadow and capture counters. */
export const SHADOW_OUTCOME = ['compared', 'candidate_error', 'mismatched', 'dropped_queue_full', 'dropped_undecodable'] as const;

export const ROLLOUT_METRIC = {
  phase: 'modelgate_rollout_phase',
  weight: 'modelgate_rollout_weight',
  rollbacks: 'modelgate_rollout_rollbacks_total',
  promotions: 'modelgate_rollout_promotions_total',
  stateInvalid: 'modelgate_rollout_state_invalid',
} as const;

/** Every metric group, for the checks that a dashboard, rule or document names only real metrics. */
export const METRIC_GROUPS = [SERVER_METRIC, PROXY_METRIC, SLO_METRIC, DRIFT_METRIC, TRUTH_METRIC, SHADOW_METRIC, ROLLOUT_METRIC] as const;

/** Model lifecycle states, as TF Serving names them (ModelVersionStatus.State in get_model_status.proto). */
export const MODEL_STATES = ['START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END'] as const;
export type ModelState = (typeof MODEL_STATES)[number];

/**
 * Latency histogram buckets, seconds. Chosen to resolve sub-millisecond model calls (a
 * half_plus_two predict is ~0.1 ms in process) up to 10 s timeouts. Every latency
 * threshold used by an SLO is added to these at start (see `latencyBuckets`), so the
 * Prometheus rule `le="<threshold>"` and the in-process evaluator count the same requests.
 */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Size buckets in bytes (request/response bodies): 64 B to 64 MiB, ×4 steps. */
export const SIZE_BUCKETS: readonly number[] = [
  64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** Batch-size buckets: powers of two up to 1024. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** The default buckets merged with extra thresholds (seconds), sorted and de-duplicated. */
export function latencyBuckets(extraThresholdsSeconds: readonly number[] = []): number[] {
  const all = new Set<number>([...DEFAULT_LATENCY_BUCKETS, ...extraThresholdsSeconds]);
  return [...all].filter((b) => Number.isFinite(b) && b > 0).sort((a, b) => a - b);
}

/** Response header that names the model version that served a request. */
export const VERSION_HEADER = 'x-model-version';
/** Response header set by the proxy: which split variant served (stable, canary, direct). */
export const VARIANT_HEADER = 'x-modelgate-variant';
/**
 * Request id header (REST request and response headers, gRPC initial and trailing metadata):
 * the client's when it is a valid id (`proxy/request-id.ts`), else one the proxy makes up.
 * Feedback (`POST /api/v1/feedback`) and access logs name requests by it.
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Names used by the generated Prometheus rules (`modelgate rules`). The window is appended
 * to the recording-rule prefixes as a Prometheus duration, e.g. `modelgate:slo_errors:ratio_rate5m`
 * (the `level:metric:operation` naming of prometheus docs/practices/rules.md).
 */
export const SLO_RULE = {
  errorRatioPrefix: 'modelgate:slo_errors:ratio_rate',
  requestsPrefix: 'modelgate:slo_requests:increase',
  objective: 'modelgate:slo_objective:ratio',
  alert: 'ModelgateSLOErrorBudgetBurn',
} as const;
