// Public surface of the status page (mounted on the proxy's admin API by the lead).
export { mountStatusPage } from './mount.ts';
export type { Mount, StatusPageOptions } from './mount.ts';
export { buildStatusModel } from './build-status.ts';
export type { StatusSources } from './build-status.ts';
export { renderStatusPage, formatPercent, formatBurn, formatNumber, sparkline, esc } from './render.ts';
export { StatusHistory, HISTORY_SPAN_MS, HISTORY_STEP_MS } from './history.ts';
export { RecentAlerts, sloRows, driftRows, rolloutRows } from './adapters.ts';
export type { SloSnapshotLike, DriftSnapshotLike, RolloutLike, TransitionLike, TruthSnapshotLike } from './adapters.ts';
export type { StatusModel, SloRow, DriftVersionRow, DriftFeatureRow, RolloutRow, AlertRow, Series, PredictionStoreRow } from './types.ts';
