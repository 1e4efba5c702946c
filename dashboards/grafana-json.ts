// A small typed model of the Grafana dashboard JSON we emit (schemaVersion 39, Grafana 10/11)
// and builders for it. Only the fields we use are typed; Grafana fills the rest with its
// defaults when it loads a provisioned file. Field names follow Grafana's dashboard JSON
// model (grafana/grafana docs/sources/dashboards/build-dashboards/view-dashboard-json-model).

/** Every panel and variable query goes through the datasource picked in `$datasource`. */
export const DATASOURCE_REF = { type: 'prometheus', uid: '${datasource}' } as const;
export type DatasourceRef = typeof DATASOURCE_REF;

export type PanelType = 'timeseries' | 'stat' | 'bargauge' | 'table' | 'heatmap' | 'state-timeline' | 'piechart' | 'row';

/** A type alias, not an interface: Grafana's DataQuery has an index signature. */
export type Target = {
  refId: string;
  expr: string;
  legendFormat?: string;
  /** 'table' for instant tables, 'heatmap' for bucket series. */
  format?: 'time_series' | 'table' | 'heatmap';
  instant?: boolean;
  range?: boolean;
  datasource: DatasourceRef;
};

export interface Threshold {
  value: number | null;
  color: string;
}

export interface FieldDefaults {
  unit?: string;
  min?: number;
  max?: number;
  decimals?: number;
  thresholds?: { mode: 'absolute' | 'percentage'; steps: Threshold[] };
  custom?: Record<string, unknown>;
}

/** A data transformation step (Grafana's DataTransformerConfig), e.g. merge, organize. */
export interface Transformation {
  id: string;
  options: Record<string, unknown>;
}

/** Per-field overrides (Grafana's DynamicConfigValue list per matcher). */
export interface FieldOverride {
  matcher: { id: string; options?: unknown };
  properties: Array<{ id: string; value?: unknown }>;
}

export interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  /** The question the panel answers; docs/dashboards.md is generated from these. */
  description: string;
  gridPos: GridPos;
  datasource?: DatasourceRef;
  targets?: Target[];
  fieldConfig?: { defaults: FieldDefaults; overrides: FieldOverride[] };
  options?: Record<string, unknown>;
  repeat?: string;
  repeatDirection?: 'h' | 'v';
  maxPerRow?: number;
  collapsed?: boolean;
  panels?: Panel[];
  transformations?: Transformation[];
}

export interface Variable {
  name: string;
  label: string;
  type: 'datasource' | 'query' | 'custom';
  /** A datasource type for 'datasource' variables; the query object for 'query' variables. */
  query: string | Record<string, unknown>;
  definition?: string;
  datasource?: DatasourceRef;
  refresh?: 1 | 2;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  /** Left out to let Grafana pick (the default datasource). */
  current?: { selected?: boolean; text: string | string[]; value: string | string[] };
  hide: 0 | 1 | 2;
  sort?: number;
  regex?: string;
  options: Array<{ selected?: boolean; text: string | string[]; value: string | string[] }>;
}

export interface Annotation {
  name: string;
  datasource: DatasourceRef | { type: 'grafana'; uid: '-- Grafana --' };
  enable: boolean;
  hide?: boolean;
  iconColor: string;
  builtIn?: 1;
  type?: 'dashboard';
  expr?: string;
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}

/** A link in the dashboard header (Grafana's DashboardLink; every field is required there). */
export interface DashboardLink {
  title: string;
  type: 'dashboards' | 'link';
  tags: string[];
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  icon: string;
  tooltip: string;
  targetBlank: boolean;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: 'browser' | 'utc';
  editable: boolean;
  graphTooltip: 0 | 1 | 2;
  refresh: string;
  schemaVersion: number;
  version: number;
  time: { from: string; to: string };
  templating: { list: Variable[] };
  annotations: { list: Annotation[] };
  panels: Panel[];
  links: DashboardLink[];
}

/** What a panel declares; ids and grid positions are assigned by `layout`. */
export interface PanelSpec {
  type: Exclude<PanelType, 'row'>;
  title: string;
  description: string;
  targets: Array<Omit<Target, 'refId' | 'datasource'>>;
  /** Width in Grafana's 24-column grid. */
  w?: number;
  h?: number;
  unit?: string;
  min?: number;
  max?: number;
  decimals?: number;
  thresholds?: Threshold[];
  /** Draw the thresholds as lines (timeseries) instead of only colouring values. */
  thresholdLines?: boolean;
  options?: Record<string, unknown>;
  custom?: Record<string, unknown>;
  repeat?: string;
  transformations?: Transformation[];
}

export interface RowSpec {
  row: string;
  panels: PanelSpec[];
}

const GRID_COLUMNS = 24;
const DEFAULT_HEIGHT = 8;
const DEFAULT_WIDTH = 12;

function toPanel(spec: PanelSpec, id: number, gridPos: GridPos): Panel {
  const custom: Record<string, unknown> = { ...(spec.custom ?? {}) };
  if (spec.thresholdLines) custom['thresholdsStyle'] = { mode: 'line+area' };
  const defaults: FieldDefaults = {
    ...(spec.unit === undefined ? {} : { unit: spec.unit }),
    ...(spec.min === undefined ? {} : { min: spec.min }),
    ...(spec.max === undefined ? {} : { max: spec.max }),
    ...(spec.decimals === undefined ? {} : { decimals: spec.decimals }),
    thresholds: { mode: 'absolute', steps: spec.thresholds ?? [{ value: null, color: 'green' }] },
    ...(Object.keys(custom).length ? { custom } : {}),
  };
  return {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    gridPos,
    datasource: DATASOURCE_REF,
    targets: spec.targets.map((t, i) => ({ ...t, refId: String.fromCharCode(65 + i), datasource: DATASOURCE_REF })),
    fieldConfig: { defaults, overrides: [] },
    options: spec.options ?? {},
    ...(spec.repeat ? { repeat: spec.repeat, repeatDirection: 'h' as const, maxPerRow: 4 } : {}),
    ...(spec.transformations ? { transformations: spec.transformations } : {}),
  };
}

/**
 * Lays rows out top to bottom, panels left to right, wrapping at 24 columns. Ids are
 * sequential so the JSON is stable from one generation to the next.
 */
export function layout(rows: readonly RowSpec[]): Panel[] {
  const out: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    out.push({ id: id++, type: 'row', title: row.row, description: '', gridPos: { h: 1, w: GRID_COLUMNS, x: 0, y }, collapsed: false, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of row.panels) {
      const w = spec.w ?? DEFAULT_WIDTH;
      const h = spec.h ?? DEFAULT_HEIGHT;
      if (x + w > GRID_COLUMNS) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      out.push(toPanel(spec, id++, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return out;
}
