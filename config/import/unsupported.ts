// SLO files of formats modelgate does not import, recognised so `check` can say what the
// file is and how to convert it instead of "unknown top-level section". Shapes from the
// projects' own examples: Sloth's Kubernetes CRD and AlertWindows (slok/sloth
// pkg/kubernetes/api/sloth/v1, examples/windows/*.yaml), OpenSLO v1alpha (OpenSLO/OpenSLO
// README, v1alpha), Pyrra's ServiceLevelObjective CRD (pyrra-dev/pyrra examples/kubernetes).
import { formatDuration, isRecord, parseDuration } from '../../common/index.ts';

/** What to say about a document of an unsupported format, or undefined when it is not one. */
export function unsupportedFormat(doc: unknown): string | undefined {
  if (!isRecord(doc)) return undefined;
  const api = typeof doc['apiVersion'] === 'string' ? doc['apiVersion'] : '';
  const kind = doc['kind'];
  if (api.startsWith('sloth.slok.dev/')) {
    if (kind === 'AlertWindows') return alertWindows(doc);
    return (
      `format Sloth Kubernetes (${api} ${String(kind)}) is not supported; convert it with: ` +
      'a Sloth prometheus/v1 file that starts with version: "prometheus/v1" followed by the contents of spec (service, labels, slos), ' +
      'with pageAlert/ticketAlert written page_alert/ticket_alert, and SLIs as sli: { plugin: { id: modelgate/availability, options: { model: ... } } }'
    );
  }
  if (api === 'openslo/v1alpha') {
    return (
      'format OpenSLO v1alpha is not supported; convert it to openslo/v1 with: apiVersion: openslo/v1, ' +
      'timeWindows [{unit: Day, count: 28, isRolling: true}] → timeWindow [{duration: 28d, isRolling: true}], ' +
      'the objective\'s ratioMetrics → spec.indicator.spec.ratioMetric with good/total metricSource: { type: modelgate, spec: { model: ..., sli: availability } }'
    );
  }
  if (api.startsWith('pyrra.dev/')) {
    const spec = isRecord(doc['spec']) ? doc['spec'] : {};
    const target = typeof spec['target'] === 'string' || typeof spec['target'] === 'number' ? Number(spec['target']) : undefined;
    const window = typeof spec['window'] === 'string' ? spec['window'] : undefined;
    const name = isRecord(doc['metadata']) && typeof doc['metadata']['name'] === 'string' ? doc['metadata']['name'] : 'NAME';
    const indicator = isRecord(spec['indicator']) ? spec['indicator'] : {};
    let sli = '{ availability: {} }';
    if (isRecord(indicator['latency'])) {
      const success = isRecord(indicator['latency']['success']) ? indicator['latency']['success']['metric'] : undefined;
      const le = typeof success === 'string' ? /le="([0-9.]+)"/.exec(success)?.[1] : undefined;
      sli = `{ latency: { threshold: ${le ? formatDuration(Number(le) * 1000) : '250ms'} } }`;
    }
    return (
      `format Pyrra (${api} ${String(kind)}) is not supported; convert it with: a modelgate/v1 SLO ` +
      `{ name: ${name}, model: MODEL, objective: ${target !== undefined && Number.isFinite(target) ? target : 'TARGET'}, period: ${window ?? '28d'}, sli: ${sli} } ` +
      '(modelgate measures the requests its proxy labels with the model, instead of PromQL selectors)'
    );
  }
  return undefined;
}

/**
 * Sloth AlertWindows are burn-rate tables for a period; their modelgate form is each SLO's
 * alerting.windows, factor = errorBudgetPercent / 100 × sloPeriod / longWindow (the
 * workbook's 2% of 30d in 1h = 14.4).
 */
function alertWindows(doc: Record<string, unknown>): string {
  const base = 'format Sloth AlertWindows is not supported (it is a window table, not SLOs); convert it with: ';
  const spec = isRecord(doc['spec']) ? doc['spec'] : {};
  const period = typeof spec['sloPeriod'] === 'string' ? parseDuration(spec['sloPeriod']) : undefined;
  const rows: string[] = [];
  for (const severity of ['page', 'ticket'] as const) {
    const s = isRecord(spec[severity]) ? spec[severity] : {};
    for (const speed of ['quick', 'slow']) {
      const w = isRecord(s[speed]) ? s[speed] : {};
      const long = typeof w['longWindow'] === 'string' ? parseDuration(w['longWindow']) : undefined;
      const short = typeof w['shortWindow'] === 'string' ? parseDuration(w['shortWindow']) : undefined;
      const pct = typeof w['errorBudgetPercent'] === 'number' ? w['errorBudgetPercent'] : undefined;
      if (period === undefined || long === undefined || short === undefined || pct === undefined) continue;
      const factor = Number(((pct / 100) * (period / long)).toPrecision(4));
      rows.push(`{severity: ${severity}, long: ${formatDuration(long)}, short: ${formatDuration(short)}, factor: ${factor}}`);
    }
  }
  if (period === undefined || rows.length === 0) {
    return `${base}alerting.windows in each SLO, with factor = errorBudgetPercent / 100 × sloPeriod / longWindow`;
  }
  return `${base}period: ${formatDuration(period)} and alerting: { windows: [${rows.join(', ')}] } in each SLO`;
}

