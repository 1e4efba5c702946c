// Public surface of the dashboards area. Listed by hand.
export { buildDashboards, generatedFiles, writeGenerated, staleGenerated } from './generate.ts';
export { dashboardQueries } from './queries.ts';
export type { DashboardQuery } from './queries.ts';
export { expandQuery } from './promql.ts';
export { VARIABLE_SERIES } from './dashboard.ts';
export { BURN_RATE_FACTORS, DEFAULT_BAD_CODES_REGEX, DRIFT_THRESHOLDS } from './thresholds.ts';
export { datasourceProvisioning, dashboardProvisioning, GRAFANA_DASHBOARD_PATH } from './provisioning.ts';
export type { Dashboard, Panel, Target, Variable, Annotation } from './grafana-json.ts';
