// Dashboard assembly: the three variables every modelgate dashboard has, the optional
// annotations, and the fixed settings. A datasource *variable* (not `__inputs`) so file
// provisioning works without an import step (Grafana docs, "Provision dashboards").
import { LABEL, PROXY_METRIC, SERVER_METRIC } from '../common/index.ts';
import { DATASOURCE_REF, layout } from './grafana-json.ts';
import type { Annotation, Dashboard, RowSpec, Variable } from './grafana-json.ts';

/** Models and versions seen by the proxy or the server, so either alone fills the lists. */
const MODEL_SERIES = `{__name__=~"${PROXY_METRIC.requests}|${SERVER_METRIC.modelState}"}`;
const VERSION_SERIES = `{__name__=~"${PROXY_METRIC.requests}|${SERVER_METRIC.modelState}",${LABEL.model}=~"$model"}`;

function queryVariable(name: string, label: string, series: string): Variable {
  const definition = `label_values(${series}, ${name})`;
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE_REF,
    query: { query: definition, refId: `${name}-variable`, qryType: 1 },
    definition,
    // 2 = refresh on time range change, so versions that appear during a rollout show up.
    refresh: 2,
    multi: true,
    includeAll: true,
    // `.*` rather than Grafana's enumerated list, so "All" also covers versions that
    // appear after the variable was last refreshed.
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    // 3 = numerical ascending: versions are integers in TF Serving's layout.
    sort: name === LABEL.version ? 3 : 1,
    regex: '',
    options: [],
  };
}

export function variables(): Variable[] {
  return [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      // No `current`: Grafana selects the default Prometheus datasource.
      hide: 0,
      regex: '',
      options: [],
    },
    queryVariable(LABEL.model, 'Model', MODEL_SERIES),
    queryVariable(LABEL.version, 'Version', VERSION_SERIES),
  ];
}

/** The series selectors behind the `model` and `version` variables (for the verification test). */
export const VARIABLE_SERIES = { model: MODEL_SERIES, version: VERSION_SERIES } as const;

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  rows: RowSpec[];
  annotations?: Annotation[];
}

const BUILT_IN_ANNOTATIONS: Annotation = {
  name: 'Annotations & Alerts',
  builtIn: 1,
  datasource: { type: 'grafana', uid: '-- Grafana --' },
  enable: true,
  hide: true,
  iconColor: 'rgba(0, 211, 255, 1)',
  type: 'dashboard',
};

export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['modelgate', ...spec.tags],
    timezone: 'browser',
    editable: true,
    // 1 = shared crosshair: the same instant is marked on every panel.
    graphTooltip: 1,
    refresh: '30s',
    // Grafana 10.x/11.x dashboards; older Grafana migrates forward on load.
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    templating: { list: variables() },
    annotations: { list: [BUILT_IN_ANNOTATIONS, ...(spec.annotations ?? [])] },
    panels: layout(spec.rows),
    // The other modelgate dashboards, keeping the time range and the model/version selection.
    links: [{ title: 'modelgate', type: 'dashboards', tags: ['modelgate'], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link', tooltip: '', targetBlank: false }],
  };
}
