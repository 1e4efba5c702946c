// truth/: request-id keyed prediction store, delayed labels (POST /api/v1/feedback), live
// accuracy per model version. Public surface, listed by hand.
export { GroundTruth } from './truth.ts';
export type { GroundTruthOptions, LabelledEvent, FeedbackReport, TruthSnapshot, TruthCounters } from './truth.ts';
export type { PredictionOffer } from './capture.ts';
export type { VersionScore, ClassScore } from './scores.ts';
export { validateTruthSection, TRUTH_DEFAULTS } from './config.ts';
export type { TruthConfig, ModelTruth, ClassificationTruth, RegressionTruth, OutputRef } from './config.ts';
export { registerTruthMetrics, absErrorBuckets } from './metrics.ts';
export { mountFeedbackRoutes } from './routes.ts';
export { TruthErrors } from './errors.ts';
