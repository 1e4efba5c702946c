// Public surface of the rollout area: what other folders import. Listed by hand: what is not
// here is internal (the statistics, the individual checks, webhooks, views), and this area's
// own tests import those from their files.
export { PHASES, TERMINAL_PHASES, COMMANDS, WEBHOOK_TYPES } from './types.ts';
export type { Check, CheckVerdict, Analysis, AnalysisSpec, RolloutSpec, RolloutState, WebhookSpec, Command, DecideInput, Action } from './types.ts';
export { analyze } from './analysis.ts';
export type { TrafficStats } from './analysis.ts';
export { decide, initialState, resumeAfterRestart } from './decide.ts';
export { RolloutErrors } from './errors.ts';
export { validateRollouts, ROLLOUT_DEFAULTS } from './config.ts';
export { RolloutController } from './controller.ts';
export type { SplitActuator, SplitValue, LabelMover, VersionSource } from './ports.ts';
export type { RolloutView } from './views.ts';
export { resolveCandidate } from './candidate.ts';
export { managerLabels, sloBurnSource, driftSource } from './adapters.ts';
export { mountRolloutRoutes } from './routes.ts';
export { TrafficCollector, isServerError, RESERVOIR_SIZE } from './traffic.ts';
export { RolloutStore, STATE_FORMAT, STATE_FILE, AUDIT_GENERATIONS } from './store.ts';
export { verifyChain, GENESIS } from './audit-chain.ts';
export type { VerifyResult, ChainHead } from './audit-chain.ts';
export { RolloutMetrics } from './metrics.ts';
export { attachRollouts } from './attach.ts';
export { reloadConfigLabels } from './reload-labels.ts';
