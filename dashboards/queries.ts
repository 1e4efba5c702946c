// Every PromQL expression the dashboards send, with where it comes from, so a test can run
// each one against a real Prometheus (test/integration/prometheus.test.ts).
import type { Dashboard, Panel } from './grafana-json.ts';
import { VARIABLE_SERIES } from './dashboard.ts';

export interface DashboardQuery {
  dashboard: string;
  /** Panel title, annotation name or variable name. */
  title: string;
  kind: 'panel' | 'annotation' | 'variable';
  refId: string;
  expr: string;
  instant: boolean;
}

function panelQueries(d: Dashboard, panels: readonly Panel[], out: DashboardQuery[]): void {
  for (const p of panels) {
    if (p.panels) panelQueries(d, p.panels, out);
    for (const t of p.targets ?? []) out.push({ dashboard: d.uid, title: p.title, kind: 'panel', refId: t.refId, expr: t.expr, instant: t.instant === true });
  }
}

export function dashboardQueries(dashboards: readonly Dashboard[]): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const d of dashboards) {
    panelQueries(d, d.panels, out);
    for (const a of d.annotations.list) {
      if (a.expr) out.push({ dashboard: d.uid, title: a.name, kind: 'annotation', refId: 'annotation', expr: a.expr, instant: false });
    }
    // label_values(<selector>, label): Grafana asks /api/v1/label/<label>/values?match[]=<selector>;
    // listed as the selector, which Prometheus must accept as a query too.
    out.push({ dashboard: d.uid, title: 'model', kind: 'variable', refId: 'model', expr: VARIABLE_SERIES.model, instant: true });
    out.push({ dashboard: d.uid, title: 'version', kind: 'variable', refId: 'version', expr: VARIABLE_SERIES.version, instant: true });
  }
  return out;
}
