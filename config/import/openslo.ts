// OpenSLO v1 documents (OpenSLO/OpenSLO README.md, apiVersion openslo/v1) → modelgate/v1 `slos`.
//
// What maps: kind SLO with an inline `indicator` or an `indicatorRef` to a kind SLI in the
// same file; the SLI's metric source must be `type: modelgate` with spec { model, version,
// sli: availability | latency, threshold, badCodes } (OpenSLO leaves metricSource.spec to the
// implementer); a rolling `timeWindow`; `budgetingMethod: Occurrences`; one objective
// (`target` 0–1 or `targetPercent`); for a `thresholdMetric` latency SLI the objective's
// `op: lte` (or `lt`) and `value` in seconds are the threshold (good = at most `value`). What does not: calendar windows, Timeslices budgeting,
// several objectives, metric sources of other backends, and alert policies (OpenSLO alert
// conditions have a single lookback window; modelgate uses the multiwindow table).
import { Issues, isRecord, join, parseDuration } from '../../common/index.ts';

export const OPENSLO_VERSION = 'openslo/v1';
export const MODELGATE_SOURCE = 'modelgate';

export function isOpenSloDocument(v: unknown): boolean {
  return isRecord(v) && v['apiVersion'] === OPENSLO_VERSION;
}

export interface ImportedDocs {
  raw: Record<string, unknown>;
  /** Maps a modelgate/v1 path to the document (and path inside it) it came from. */
  origin(path: string): { doc: number; path: string };
}

/** Where each modelgate/v1 SLO field comes from in an OpenSLO SLO document. */
const SOURCE_FIELD: Record<string, string> = {
  name: 'metadata.name',
  description: 'spec.description',
  objective: 'spec.objectives[0]',
  period: 'spec.timeWindow[0].duration',
  model: 'spec.indicator',
  version: 'spec.indicator',
  sli: 'spec.indicator',
};

const IGNORED_KINDS = ['Service', 'DataSource', 'AlertPolicy', 'AlertCondition', 'AlertNotificationTarget'];

export function importOpenSlo(docs: readonly unknown[], issues: Issues): ImportedDocs {
  const slis = new Map<string, { doc: number; spec: unknown }>();
  docs.forEach((d, i) => {
    if (isRecord(d) && d['kind'] === 'SLI' && isRecord(d['metadata']) && typeof d['metadata']['name'] === 'string') {
      slis.set(d['metadata']['name'], { doc: i, spec: d['spec'] });
    }
  });
  const slos: Record<string, unknown>[] = [];
  const from: number[] = [];
  docs.forEach((d, i) => {
    // A single-document file's paths start at its top, like a Sloth spec's.
    const p = docs.length > 1 ? `docs[${i}]` : '';
    if (d === null || d === undefined) return;
    if (!isRecord(d) || d['apiVersion'] !== OPENSLO_VERSION) {
      issues.error(p, `every document must be apiVersion: ${OPENSLO_VERSION} (a modelgate/v1 file cannot be mixed with OpenSLO documents)`);
      return;
    }
    const kind = d['kind'];
    if (kind === 'SLI') return;
    if (typeof kind === 'string' && IGNORED_KINDS.includes(kind)) {
      issues.warn(join(p, 'kind'), `OpenSLO ${kind} documents are not used by modelgate; ignored${kind.startsWith('Alert') ? ' (alerts follow the multiwindow burn-rate table)' : ''}`);
      return;
    }
    if (kind !== 'SLO') {
      issues.error(join(p, 'kind'), `unknown OpenSLO kind ${JSON.stringify(kind)}`);
      return;
    }
    const slo = mapSlo(d, p, slis, issues);
    if (slo) {
      from.push(i);
      slos.push(slo);
    }
  });
  if (slos.length === 0 && issues.ok) issues.error(docs.length > 1 ? 'docs[0]' : '', 'no OpenSLO SLO document found');
  return {
    raw: { apiVersion: 'modelgate/v1', slos },
    origin(path) {
      const m = /^slos\[(\d+)\]\.?([A-Za-z]*)/.exec(path);
      const doc = m ? from[Number(m[1])] : undefined;
      if (doc === undefined) return { doc: 0, path };
      const d = docs[doc];
      const byRef = isRecord(d) && isRecord(d['spec']) && d['spec']['indicatorRef'] !== undefined;
      const field = SOURCE_FIELD[m![2]!] ?? 'spec';
      return { doc, path: byRef ? field.replace('spec.indicator', 'spec.indicatorRef') : field };
    },
  };
}

function mapSlo(d: Record<string, unknown>, p: string, slis: Map<string, { doc: number; spec: unknown }>, issues: Issues): Record<string, unknown> | undefined {
  const before = issues.errors.length;
  const meta = isRecord(d['metadata']) ? d['metadata'] : {};
  const spec = isRecord(d['spec']) ? d['spec'] : {};
  const sp = join(p, 'spec');
  if (!isRecord(d['spec'])) issues.error(sp, 'is required');

  // Indicator: inline or by reference to an SLI document in this file.
  let indicatorSpec: unknown;
  let ip = join(sp, 'indicator');
  if (isRecord(spec['indicator'])) indicatorSpec = spec['indicator']['spec'];
  else if (typeof spec['indicatorRef'] === 'string') {
    const ref = slis.get(spec['indicatorRef']);
    if (!ref) issues.error(join(sp, 'indicatorRef'), `no kind: SLI named "${spec['indicatorRef']}" in this file (references to other files are not followed)`);
    else {
      indicatorSpec = ref.spec;
      ip = `docs[${ref.doc}]`;
    }
  } else issues.error(sp, 'needs indicator or indicatorRef');
  const target = indicatorSpec === undefined ? undefined : mapIndicator(indicatorSpec, join(ip, 'spec'), issues);

  // Time window: one rolling window.
  let period: unknown;
  const tw = spec['timeWindow'];
  if (!Array.isArray(tw) || tw.length !== 1 || !isRecord(tw[0])) issues.error(join(sp, 'timeWindow'), 'needs exactly one window, e.g. [{ duration: 30d, isRolling: true }]');
  else if (tw[0]['isRolling'] !== true || tw[0]['calendar'] !== undefined) issues.error(join(sp, 'timeWindow[0]'), 'calendar windows do not map: modelgate SLOs are rolling; use isRolling: true');
  else period = tw[0]['duration'];

  const bm = spec['budgetingMethod'];
  if (bm !== undefined && bm !== 'Occurrences') {
    issues.error(join(sp, 'budgetingMethod'), `${String(bm)} does not map: modelgate counts requests (Occurrences)`);
  }

  let objective: unknown;
  const objs = spec['objectives'];
  if (!Array.isArray(objs) || objs.length !== 1 || !isRecord(objs[0])) {
    issues.error(join(sp, 'objectives'), 'needs exactly one objective; write one SLO per objective');
  } else {
    const o = objs[0];
    if (typeof o['targetPercent'] === 'number') objective = o['targetPercent'];
    else if (typeof o['target'] === 'number') objective = Number((o['target'] * 100).toPrecision(12));
    else issues.error(join(sp, 'objectives[0]'), 'needs target (0–1) or targetPercent (0–100)');
    if (o['timeSliceTarget'] !== undefined || o['timeSliceWindow'] !== undefined) issues.error(join(sp, 'objectives[0]'), 'time slices do not map: modelgate counts requests');
    if (target) applyOpValue(o, join(sp, 'objectives[0]'), target, issues);
  }
  if (spec['alertPolicies'] !== undefined) {
    issues.warn(join(sp, 'alertPolicies'), 'OpenSLO alert conditions have one lookback window; modelgate alerts with the multiwindow burn-rate table instead (ignored)');
  }
  if (issues.errors.length > before || !target) return undefined;
  return {
    name: meta['name'],
    ...(typeof spec['description'] === 'string' ? { description: spec['description'] } : {}),
    ...target.mapped,
    objective,
    ...(period === undefined ? {} : { period }),
  };
}

/** Finds the `type: modelgate` metric source in an SLI spec and maps its spec. */
function mapIndicator(spec: unknown, path: string, issues: Issues): MappedIndicator | undefined {
  if (!isRecord(spec)) {
    issues.error(path, 'needs ratioMetric or thresholdMetric');
    return undefined;
  }
  const candidates: Array<[string, unknown]> = [];
  if (isRecord(spec['ratioMetric'])) {
    for (const k of ['total', 'good', 'bad']) {
      const m = spec['ratioMetric'][k];
      if (isRecord(m)) candidates.push([join(join(path, 'ratioMetric'), k), m['metricSource']]);
    }
  }
  if (isRecord(spec['thresholdMetric'])) candidates.push([join(path, 'thresholdMetric'), spec['thresholdMetric']['metricSource']]);
  const found = candidates.find(([, s]) => isRecord(s) && s['type'] === MODELGATE_SOURCE);
  if (!found) {
    const types = candidates.map(([, s]) => (isRecord(s) ? String(s['type']) : '?'));
    issues.error(
      path,
      `metric sources ${types.length ? types.join(', ') : '(none)'} are queries for other backends that modelgate cannot evaluate; ` +
        `use metricSource: { type: ${MODELGATE_SOURCE}, spec: { model: fraud, sli: availability } } (or sli: latency, threshold: 250ms)`,
    );
    return undefined;
  }
  const [mp, source] = found as [string, Record<string, unknown>];
  const s = isRecord(source['spec']) ? source['spec'] : {};
  const sp = join(join(mp, 'metricSource'), 'spec');
  const known = ['model', 'version', 'sli', 'threshold', 'badCodes'];
  for (const k of Object.keys(s)) if (!known.includes(k)) issues.error(join(sp, k), `unknown field; known: ${known.join(', ')}`);
  const sli =
    s['sli'] === 'latency'
      ? { latency: { threshold: s['threshold'] } }
      : s['sli'] === 'availability' || s['sli'] === undefined
        ? { availability: s['badCodes'] === undefined ? {} : { badCodes: s['badCodes'] } }
        : undefined;
  if (!sli) {
    issues.error(join(sp, 'sli'), `must be availability or latency, got ${JSON.stringify(s['sli'])}`);
    return undefined;
  }
  return {
    mapped: { model: s['model'], ...(s['version'] === undefined ? {} : { version: s['version'] }), sli },
    metric: mp.endsWith('.thresholdMetric') ? 'threshold' : 'ratio',
    path: mp,
  };
}

interface MappedIndicator {
  mapped: Record<string, unknown> & { sli: Record<string, unknown> };
  metric: 'ratio' | 'threshold';
  /** Path of the metric in the source, e.g. docs[1].spec.thresholdMetric. */
  path: string;
}

const OPS = ['lte', 'lt', 'gte', 'gt'];

/**
 * An objective's op/value compare a thresholdMetric's value (OpenSLO README, Objectives).
 * For a modelgate latency source the value is a request's duration in seconds, so
 * `op: lte, value: 0.25` is the latency SLI with a 250ms threshold. Anything else has no
 * meaning here and is refused with the reason.
 */
function applyOpValue(o: Record<string, unknown>, path: string, ind: MappedIndicator, issues: Issues): void {
  const op = o['op'];
  const value = o['value'];
  if (op === undefined && value === undefined) return;
  if (ind.metric === 'ratio') {
    issues.error(path, `op and value compare the value of a thresholdMetric; ${ind.path} is a ratio of good to total requests with no value to compare: remove op and value`);
    return;
  }
  const latency = ind.mapped.sli['latency'];
  if (!isRecord(latency)) {
    issues.error(path, 'op and value compare a measured value, but an availability SLI counts good and bad requests: remove op and value, or use sli: latency (value is then the threshold in seconds)');
    return;
  }
  if (op === undefined || value === undefined) {
    issues.error(path, `a thresholdMetric objective needs both op and value, e.g. op: lte, value: 0.25 (seconds)`);
    return;
  }
  if (typeof op !== 'string' || !OPS.includes(op)) {
    issues.error(join(path, 'op'), `must be one of ${OPS.join(', ')}, got ${JSON.stringify(op)}`);
    return;
  }
  if (op === 'gt' || op === 'gte') {
    issues.error(join(path, 'op'), `${op} would count requests slower than the value as good; the latency SLI counts requests at or below its threshold as good: write op: lte`);
    return;
  }
  if (typeof value !== 'number' || !(value > 0)) {
    issues.error(join(path, 'value'), `must be a request duration in seconds greater than 0, e.g. 0.25 for 250ms, got ${JSON.stringify(value)}`);
    return;
  }
  const written = latency['threshold'];
  if (written !== undefined) {
    const ms = typeof written === 'string' ? parseDuration(written) : undefined;
    if (ms === undefined || Math.abs(ms - value * 1000) > 1e-9) {
      issues.error(join(path, 'value'), `${value}s disagrees with the metric source's threshold ${JSON.stringify(written)}; keep one of them`);
      return;
    }
  }
  if (op === 'lt') {
    issues.warn(join(path, 'op'), 'lt is counted as lte: the latency histogram counts requests at or below each bucket bound');
  }
  ind.mapped.sli = { latency: { threshold: `${value}s` } };
}
