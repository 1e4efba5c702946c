// drift/: baselines, streaming sketches per model/version/feature, PSI / KS / Jensen-Shannon /
// chi-square, verdicts and the drift SLI. Public surface, listed by hand.
export { DriftRecorder } from './recorder.ts';
export type { DriftRecorderOptions } from './recorder.ts';
export type { BodyOffer, TensorOffer, GrpcDecoder, DriftVerdict, DriftWindow, DriftStats, DriftSnapshot, BaselineInfo } from './types.ts';
export { BaselineSet } from './baselines.ts';
export { registerDriftMetrics } from './metrics.ts';
// decodeGrpcBodies lives in drift/grpc-bodies.ts and is not re-exported here: it loads the
// server's protos, which the drift core does not need. Import it from that file.
export { validateDriftSection, DRIFT_DEFAULTS, DRIFT_METHODS } from './config.ts';
export type { DriftConfig, ModelDriftConfig, FeatureConfig, FeatureKind, DriftMethod, DriftThresholds, VerdictRule, BaselineSource } from './config.ts';
export { extractJson, extractTensors, responseTensors } from './extract.ts';
export type { DecodedTensor, Extracted } from './extract.ts';
export { buildProfile, parseProfile, PROFILE_FORMAT, OTHER_CATEGORY } from './profile.ts';
export type { BaselineProfile, FeatureProfile, NumericProfile, CategoricalProfile, ProfileSource } from './profile.ts';
export { loadBaselines, saveBaseline, baselinePath, BASELINE_FILE } from './store.ts';
export type { LoadedBaselines } from './store.ts';
export { compareFeature, modelVerdict, chooseMethod, resolveMethod, featureAlpha, judge } from './evaluate.ts';
export type { FeatureResult, FeaturePair, ModelVerdictResult, Verdict, Side, NumericSide, CategoricalSide, CompareSettings } from './evaluate.ts';
export { NumericSketch, CategoricalSketch } from './sketch.ts';
export { quantileEdges, binIndex, binCounts } from './bins.ts';
export { DriftErrors } from './errors.ts';
export { psi, jensenShannonDistance, ksTwoSample, chiSquareTwoSample, PSI_EMPTY_BIN_SHARE } from './stats/index.ts';
