// Public surface of the rollout area. Listed by hand: what is not here is internal.
export { PHASES, TERMINAL_PHASES, COMMANDS, WEBHOOK_TYPES } from './types.ts';
export type { Phase, Check, CheckVerdict, Analysis, AnalysisSpec, RolloutSpec, RolloutState, WebhookSpec, WebhookType, Command, DecideInput, Action, Decision, PausedBy } from './types.ts';
export { mannWhitneyU, rankPooled, erfc, normalSf, quantileSorted, sortedCopy, hodgesLehmann, HODGES_LEHMANN_MAX_PER_SIDE } from './stats.ts';
export type { Alternative, MannWhitneyResult } from './stats.ts';
export { checkTraffic, checkSloBurn, checkErrorRatio, checkLatency, checkDrift, combine, analyze } from './analysis.ts';
export type { TrafficStats, BurnReading, DriftComparison, LatencyOptions, AnalysisInputs } from './analysis.ts';
export { decide, initialState, resumeAfterRestart } from './decide.ts';
export { RolloutErrors } from './errors.ts';
