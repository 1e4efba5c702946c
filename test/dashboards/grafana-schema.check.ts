// Compile-time check (run by test/dashboards/dashboards.test.ts through tsc, and by
// `npm run typecheck`): what the builder emits is assignable to Grafana's own dashboard
// type from @grafana/schema. Grafana's types use string enums where the JSON carries the
// enum's string values, so enums are widened to their values first.
import type { Dashboard as GrafanaDashboard } from '@grafana/schema';
import { buildDashboards } from '../../dashboards/index.ts';

type JsonOf<T> = T extends string ? `${T}` : T extends Array<infer U> ? Array<JsonOf<U>> : T extends object ? { [K in keyof T]: JsonOf<T[K]> } : T;

export const checked: Array<JsonOf<GrafanaDashboard>> = buildDashboards();
