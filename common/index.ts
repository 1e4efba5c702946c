export { LABEL, OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION, SERVER_METRIC, PROXY_METRIC, SLO_METRIC, DRIFT_METRIC, ROLLOUT_METRIC, MODEL_STATES, DEFAULT_LATENCY_BUCKETS, SIZE_BUCKETS, BATCH_SIZE_BUCKETS, latencyBuckets, VERSION_HEADER, VARIANT_HEADER } from './conventions.ts';
export type { ModelState } from './conventions.ts';
export { systemClock, ManualClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { GrpcCode, ModelgateError, defineErrors, isModelgateError } from './errors.ts';
export type { ErrorSpec, GrpcCodeValue } from './errors.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { Issues, ConfigError, formatIssues, join, isRecord, checkKeys, readString, readNumber, readBoolean, readDuration } from './validate.ts';
export type { Issue } from './validate.ts';
