// Knowing a candidate is right, not only fast: pairwise comparison of answers to the same
// request (shadow traffic, replay), sampled capture of exchanges, and the replay runner.
export { Comparison, COMPARE_DEFAULTS, judgeDivergence } from './compare.ts';
export type { CompareSettings, OutputRule, OutputKind, ComparisonSummary, ColumnSummary, Quantiles, PairResult, DivergenceThresholds, DivergenceVerdict } from './compare.ts';
export { CAPTURE_FILE, CaptureWriter, captureWriter, registerCaptureMetrics, rotatedName } from './capture.ts';
export type { CaptureOptions, CaptureOutcome, CaptureCounts } from './capture.ts';
export { validateCapture, CAPTURE_DEFAULTS, readShadowStep, SHADOW_DEFAULTS } from './config.ts';
export type { CaptureConfig, ShadowStepSpec } from './config.ts';
export { CAPTURE_FIELDS, parseRecord, toRecord } from './record.ts';
export type { CaptureRecord, CaptureField, Exchange } from './record.ts';
export { replay, replayPath } from './replay.ts';
export type { ReplayOptions, ReplayReport, ReplayProgress } from './replay.ts';
export { Mirror, MIRROR_DEFAULTS } from './mirror.ts';
export type { MirrorPlan, MirrorOptions, MirrorView, MirrorOutcome } from './mirror.ts';
export { answerOutputs, sendGrpc, sendRest, sendRestH1 } from './send.ts';
export type { Answer } from './send.ts';
