// Sloth `prometheus/v1` specs (slok/sloth pkg/prometheus/api/v1/v1.go) → modelgate/v1 `slos`.
//
// What maps: one or more specs in one file (`---` between them, as Sloth reads them), name
// (prefixed with the service, like Sloth's SLO id), objective (the same 0–100 percentage),
// description, labels (spec, SLO and alerting.labels merged onto alerts, later ones
// winning, as Sloth's alerts inherit the recording rules' labels and add their own),
// alerting.page_alert/ticket_alert `disable` (both disabled: recording rules only, no
// alerts, as Sloth does), and SLIs written as `sli.plugin` with id `modelgate/availability`
// or `modelgate/latency` (options: model, version, badCodes, threshold; Sloth plugin options
// are strings). What does not: `sli.events` / `sli.raw` are arbitrary PromQL that the proxy
// cannot evaluate in-process; alerting.name and annotations (modelgate names its alerts).
import { Issues, formatDuration, isRecord, join } from '../../common/index.ts';
import { WORKBOOK_WINDOWS } from '../../slo/windows.ts';

export const SLOTH_VERSION = 'prometheus/v1';
export const PLUGIN_AVAILABILITY = 'modelgate/availability';
export const PLUGIN_LATENCY = 'modelgate/latency';

export function isSlothDocument(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && v['version'] === SLOTH_VERSION;
}

export interface ImportedDocs {
  /** The modelgate/v1 view. */
  raw: Record<string, unknown>;
  /** Maps a modelgate/v1 path (`slos[1].objective`) to the document and path it came from. */
  origin(path: string): { doc: number; path: string };
}

/**
 * Imports every Sloth spec of a file. `docs` are the file's YAML documents (null for an
 * empty one, e.g. after a trailing `---`); paths are prefixed `docs[N].` when the file has
 * more than one document.
 */
export function importSloth(docs: readonly unknown[], issues: Issues): ImportedDocs {
  const multi = docs.length > 1;
  const slos: Record<string, unknown>[] = [];
  const from: Array<{ doc: number; slo: number }> = [];
  docs.forEach((d, i) => {
    if (d === null || d === undefined) return;
    const prefix = multi ? `docs[${i}]` : '';
    if (!isSlothDocument(d)) {
      issues.error(prefix, `every document of a Sloth file must be a spec with version: ${SLOTH_VERSION}`);
      return;
    }
    for (const [slo, index] of importSpec(d, prefix, issues)) {
      from.push({ doc: i, slo: index });
      slos.push(slo);
    }
  });
  return {
    raw: { apiVersion: 'modelgate/v1', slos },
    origin(path) {
      const m = /^slos\[(\d+)\]\.?(.*)$/.exec(path);
      const src = m ? from[Number(m[1])] : undefined;
      if (!m || !src) return { doc: 0, path };
      const rest = m[2]!;
      // Fields that keep their name in Sloth point at themselves; the rest at the SLO.
      const same = /^(objective|description)$/.test(rest) ? `.${rest}` : '';
      return { doc: src.doc, path: `slos[${src.slo}]${same}` };
    },
  };
}

function importSpec(doc: Record<string, unknown>, prefix: string, issues: Issues): Array<[Record<string, unknown>, number]> {
  const at = (p: string) => (prefix ? join(prefix, p) : p);
  const known = ['version', 'service', 'labels', 'slos', 'slo_plugins'];
  for (const k of Object.keys(doc)) if (!known.includes(k)) issues.error(at(k), `unknown Sloth field "${k}" (prometheus/v1 has ${known.join(', ')})`);
  if (doc['slo_plugins'] !== undefined) issues.warn(at('slo_plugins'), 'Sloth SLO plugins are not run by modelgate; ignored');
  const service = typeof doc['service'] === 'string' ? doc['service'] : undefined;
  if (!service) issues.error(at('service'), 'is required by Sloth (a string); it prefixes every SLO name');
  const commonLabels = isRecord(doc['labels']) ? doc['labels'] : {};
  const list = Array.isArray(doc['slos']) ? doc['slos'] : [];
  if (!Array.isArray(doc['slos'])) issues.error(at('slos'), 'is required: a list of SLOs');

  const out: Array<[Record<string, unknown>, number]> = [];
  list.forEach((s, i) => {
    const p = at(join('slos', i));
    if (!isRecord(s)) {
      issues.error(p, 'must be a mapping');
      return;
    }
    const sloKnown = ['name', 'objective', 'description', 'labels', 'sli', 'alerting', 'plugins'];
    for (const k of Object.keys(s)) if (!sloKnown.includes(k)) issues.error(join(p, k), `unknown Sloth SLO field "${k}"`);
    if (s['plugins'] !== undefined) issues.warn(join(p, 'plugins'), 'Sloth SLO plugins are not run by modelgate; ignored');
    const sli = mapSli(s['sli'], join(p, 'sli'), issues);
    if (!sli) return;
    const { labels: alertLabels, ...alerting } = mapAlerting(s['alerting'], join(p, 'alerting'), issues);
    // Sloth: recording rules carry the spec's and the SLO's labels, alerts inherit them and
    // add alerting.labels (which win on a clash).
    const labels = { ...commonLabels, ...(isRecord(s['labels']) ? s['labels'] : {}), ...(isRecord(alertLabels) ? alertLabels : {}) };
    out.push([
      {
        name: service && typeof s['name'] === 'string' ? `${service}-${s['name']}` : s['name'],
        objective: s['objective'],
        ...sli,
        ...(s['description'] === undefined ? {} : { description: s['description'] }),
        alerting: { ...alerting, ...(Object.keys(labels).length ? { labels } : {}) },
      },
      i,
    ]);
  });
  return out;
}

function mapSli(raw: unknown, path: string, issues: Issues): Record<string, unknown> | undefined {
  if (!isRecord(raw)) {
    issues.error(path, 'is required');
    return undefined;
  }
  if (raw['events'] !== undefined || raw['raw'] !== undefined) {
    issues.error(
      join(path, raw['events'] !== undefined ? 'events' : 'raw'),
      `Sloth ${raw['events'] !== undefined ? 'events' : 'raw'} SLIs are PromQL queries that modelgate cannot evaluate in-process; ` +
        `write sli: { plugin: { id: ${PLUGIN_AVAILABILITY}, options: { model: fraud } } } (or ${PLUGIN_LATENCY} with threshold: 250ms), or convert the file to modelgate/v1`,
    );
    return undefined;
  }
  const plugin = raw['plugin'];
  if (!isRecord(plugin)) {
    issues.error(path, `needs plugin: { id: ${PLUGIN_AVAILABILITY} | ${PLUGIN_LATENCY}, options: { model: ... } }`);
    return undefined;
  }
  const id = plugin['id'];
  const options = isRecord(plugin['options']) ? plugin['options'] : {};
  const pp = join(path, 'plugin');
  const optKnown = id === PLUGIN_LATENCY ? ['model', 'version', 'threshold'] : ['model', 'version', 'badCodes'];
  for (const k of Object.keys(options)) if (!optKnown.includes(k)) issues.error(join(join(pp, 'options'), k), `unknown option for ${String(id)}; known: ${optKnown.join(', ')}`);
  const target = { model: options['model'], ...(options['version'] === undefined ? {} : { version: options['version'] }) };
  if (id === PLUGIN_AVAILABILITY) {
    const codes = typeof options['badCodes'] === 'string' ? options['badCodes'].split(',').map((c) => c.trim()).filter(Boolean) : undefined;
    return { ...target, sli: { availability: codes ? { badCodes: codes } : {} } };
  }
  if (id === PLUGIN_LATENCY) return { ...target, sli: { latency: { threshold: options['threshold'] } } };
  issues.error(join(pp, 'id'), `plugin ${JSON.stringify(id)} cannot be evaluated by modelgate; use ${PLUGIN_AVAILABILITY} or ${PLUGIN_LATENCY}`);
  return undefined;
}

function mapAlerting(raw: unknown, path: string, issues: Issues): Record<string, unknown> {
  if (!isRecord(raw)) return {};
  if (raw['name'] !== undefined) issues.warn(join(path, 'name'), 'modelgate names every burn-rate alert ModelgateSLOErrorBudgetBurn (with slo and severity labels); the name is ignored');
  if (raw['annotations'] !== undefined) issues.warn(join(path, 'annotations'), 'alert annotations are generated by modelgate; ignored');
  const out: Record<string, unknown> = {};
  if (isRecord(raw['labels'])) out['labels'] = raw['labels'];
  const disabled: string[] = [];
  for (const sev of ['page', 'ticket'] as const) {
    const a = raw[`${sev}_alert`];
    if (isRecord(a)) {
      if (a['disable'] === true) disabled.push(sev);
      if (a['labels'] !== undefined || a['annotations'] !== undefined) {
        issues.warn(join(path, `${sev}_alert`), 'per-severity labels and annotations do not map; the severity label is page or ticket');
      }
    }
  }
  // Both disabled: no alert windows, so no alerts; the SLI is still recorded (Sloth does the same).
  if (disabled.length === 2) out['windows'] = [];
  else if (disabled.length === 1) {
    // Sloth has no period field (its CLI defaults to 30d), so the workbook rows apply as written.
    out['windows'] = WORKBOOK_WINDOWS.filter((w) => w.severity !== disabled[0]).map((w) => ({
      severity: w.severity,
      long: formatDuration(w.longMs),
      short: formatDuration(w.shortMs),
      factor: w.factor,
    }));
  }
  return out;
}
