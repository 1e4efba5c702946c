// The `slos:` section of modelgate.yaml (apiVersion modelgate/v1) → the internal Slo model.
// Every problem is collected with its path and a fix; nothing below here sees YAML.
//
//   slos:
//     - name: fraud-availability
//       model: fraud
//       version: each            # or one version, e.g. "2"
//       sli: { availability: { badCodes: [5xx, UNAVAILABLE] } }   # or { latency: { threshold: 250ms } }, { drift: {} }, { accuracy: { minLabels: 200, tolerance?: 0.5 } }
//       objective: 99.9          # percent, like Sloth's objective
//       period: 30d
//       alerting: { minEvents: 10, runbook: https://..., labels: {}, windows: [...] }
//       notify: [oncall]
import { GrpcCode, Issues, checkKeys, formatDuration, isRecord, join, readDuration, readNumber, readString } from '../common/index.ts';
import type { Api } from '../common/index.ts';
import { suggestion } from '../common/suggest.ts';
import { INFERENCE_APIS, type AlertWindow, type Severity, type Sli, type SliKind, type Slo } from './definitions.ts';
import { WORKBOOK_PERIOD_MS, WORKBOOK_WINDOWS, defaultWindows } from './windows.ts';

const DAY = 86_400_000;
/** The SRE workbook's period, and Sloth's default. */
export const DEFAULT_PERIOD_MS = 30 * DAY;
/**
 * Fewer events than this in a window cannot fire an alert. 10 keeps "1 failure out of 2
 * requests at night" from paging (slok/sloth#666) while a real outage at 1 request/second
 * still has 300 events in the 5-minute window.
 */
export const DEFAULT_MIN_EVENTS = 10;
/**
 * The drift SLI's events are whole evaluation windows (5m by default), each a verdict over
 * at least drift.minSamples rows. Four conclusive windows before a pair can fire: one
 * drifted window then weighs at most 1/4 = 25%, under the 30% the workbook's 6× page needs
 * at a 95% objective, so a single false positive among a new version's (or a fresh
 * process's) first windows cannot page. Every alert window must then span five drift
 * windows (slo/drift-check.ts warns at load time otherwise).
 */
export const DEFAULT_DRIFT_MIN_EVENTS = 4;
/**
 * Server-side failures: every 5xx, and the gRPC codes that mean the server (not the
 * client) failed — the ones gRPC maps to 5xx statuses in doc/http-grpc-status-mapping.md,
 * minus UNIMPLEMENTED (a client calling a method that does not exist). Client errors
 * (400, 404, INVALID_ARGUMENT, NOT_FOUND) do not spend budget.
 */
export const DEFAULT_BAD_CODES: readonly string[] = ['5xx', 'UNKNOWN', 'DEADLINE_EXCEEDED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS'];
/**
 * Prometheus' default scrape_interval. `increase()` over a window needs a few scrapes in it
 * to be more than noise (two at the very least; four keeps one lost scrape from mattering).
 */
const DEFAULT_SCRAPE_INTERVAL_MS = 60_000;
const MIN_SCRAPES_PER_WINDOW = 4;
const PROMETHEUS_MIN_WINDOW_MS = MIN_SCRAPES_PER_WINDOW * DEFAULT_SCRAPE_INTERVAL_MS;
const ALL_APIS: readonly Api[] = ['predict', 'classify', 'regress', 'infer', 'status', 'metadata', 'health', 'other'];
const SLO_KEYS = ['name', 'description', 'model', 'version', 'apis', 'sli', 'objective', 'period', 'alerting', 'notify'];
const SLI_KINDS: readonly SliKind[] = ['availability', 'latency', 'drift', 'accuracy'];
/**
 * Labels an accuracy SLI needs in a window before it can fire: at 200, one wrong label is
 * 0.5%, and a 99% objective's 14.4x page (14.4% wrong) needs 29 wrong labels, not a handful.
 */
export const DEFAULT_ACCURACY_MIN_LABELS = 200;
const ALERTING_KEYS = ['minEvents', 'runbook', 'labels', 'windows'];
const WINDOW_KEYS = ['severity', 'long', 'short', 'factor'];
/** Label-safe, usable in a rule group name. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = ['slo', 'model', 'version', 'severity', 'alertname'];

export function validateSlos(raw: unknown, path: string, issues: Issues): Slo[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.error(path, 'must be a list of SLOs (each item starts with "- name: ...")');
    return [];
  }
  const out: Slo[] = [];
  const seen = new Map<string, number>();
  raw.forEach((item, i) => {
    const p = join(path, i);
    const slo = validateSlo(item, p, issues);
    if (!slo) return;
    const first = seen.get(slo.name);
    if (first !== undefined) {
      issues.error(join(p, 'name'), `"${slo.name}" is already the name of ${join(path, first)}; SLO names must be unique`);
      return;
    }
    seen.set(slo.name, i);
    out.push(slo);
  });
  return out;
}

export function validateSlo(raw: unknown, path: string, issues: Issues): Slo | undefined {
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping with name, model, sli and objective');
    return undefined;
  }
  const before = issues.errors.length;
  checkKeys(raw, SLO_KEYS, path, issues);
  const name = readString(raw, 'name', path, issues, { required: true });
  if (name !== undefined && !NAME_RE.test(name)) {
    issues.error(join(path, 'name'), `"${name}" may only use letters, digits, "_", "." and "-", starting with a letter or digit`);
  }
  const description = readString(raw, 'description', path, issues);
  const model = readString(raw, 'model', path, issues, { required: true });
  const version = readVersion(raw, path, issues);
  const apis = readApis(raw, path, issues);
  const sli = readSli(raw['sli'], join(path, 'sli'), issues);
  const objective = readObjective(raw, path, issues);
  const periodMs = readPeriod(raw, path, issues);
  const minEvents = sli?.kind === 'drift' ? DEFAULT_DRIFT_MIN_EVENTS : sli?.kind === 'accuracy' ? sli.minLabels : DEFAULT_MIN_EVENTS;
  const alerting = readAlerting(raw['alerting'], join(path, 'alerting'), periodMs, minEvents, issues);
  if (sli?.kind === 'drift' && raw['apis'] !== undefined) {
    issues.warn(join(path, 'apis'), 'is ignored by a drift SLI: its events are drift evaluation windows, not requests; remove it');
  }
  if (sli?.kind === 'accuracy' && raw['apis'] !== undefined) {
    issues.warn(join(path, 'apis'), 'is ignored by an accuracy SLI: its events are labels (POST /api/v1/feedback), not requests; remove it');
  }
  const notify = readNotifyNames(raw['notify'], join(path, 'notify'), issues);
  if (objective !== undefined) warnUnreachablePairs(raw, path, objective, alerting.windows, issues);
  const custom = isRecord(raw['alerting']) && raw['alerting']['windows'] !== undefined;
  warnShortWindows(alerting.windows, periodMs, custom ? join(path, 'alerting.windows') : join(path, 'period'), custom, issues);
  if (issues.errors.length > before || !name || !model || !sli || objective === undefined) return undefined;
  return {
    name,
    ...(description === undefined ? {} : { description }),
    model,
    ...(version === undefined ? {} : { version }),
    apis,
    sli,
    objective,
    periodMs,
    alerting,
    notify,
  };
}

/**
 * The period is the error budget's horizon and the alert windows scale with it. Below an
 * hour the default page pair is shorter than 5s/417ms and a single request decides it;
 * beyond a year no alert window or Prometheus range query is meaningful. Teams use 28d or
 * 30d, sometimes a quarter.
 */
export const MIN_PERIOD_MS = 3_600_000;
export const MAX_PERIOD_MS = 365 * DAY;

function readPeriod(raw: Record<string, unknown>, path: string, issues: Issues): number {
  const ms = readDuration(raw, 'period', path, issues, { default: DEFAULT_PERIOD_MS });
  if (ms >= MIN_PERIOD_MS && ms <= MAX_PERIOD_MS) return ms;
  const scaled = defaultWindows(ms)[0]!;
  issues.error(
    join(path, 'period'),
    ms < MIN_PERIOD_MS
      ? `${formatDuration(ms)} is too short for an SLO period: its page windows would be ${formatDuration(scaled.longMs)}/${formatDuration(scaled.shortMs)}; use at least 1h (28d or 30d is usual; leave it out for 30d)`
      : `${formatDuration(ms)} is too long for an SLO period: use at most 1y (365d); 28d or 30d is usual, 90d for a quarter (leave it out for 30d)`,
  );
  return DEFAULT_PERIOD_MS;
}

function readVersion(raw: Record<string, unknown>, path: string, issues: Issues): string | undefined {
  const v = raw['version'];
  if (v === undefined || v === null || v === 'each') return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && v !== '') return v;
  issues.error(join(path, 'version'), `must be "each" (one series per version) or one version such as "2", got ${JSON.stringify(v)}`);
  return undefined;
}

function readApis(raw: Record<string, unknown>, path: string, issues: Issues): readonly Api[] {
  const v = raw['apis'];
  if (v === undefined || v === null) return INFERENCE_APIS;
  const p = join(path, 'apis');
  if (!Array.isArray(v) || v.length === 0) {
    issues.error(p, `must be a non-empty list of APIs (${ALL_APIS.join(', ')})`);
    return INFERENCE_APIS;
  }
  const out: Api[] = [];
  v.forEach((a, i) => {
    if (typeof a === 'string' && (ALL_APIS as readonly string[]).includes(a)) out.push(a as Api);
    else issues.error(join(p, i), `unknown API ${JSON.stringify(a)}; ${suggestion(String(a), ALL_APIS)}`);
  });
  return out;
}

function readObjective(raw: Record<string, unknown>, path: string, issues: Issues): number | undefined {
  const p = join(path, 'objective');
  const v = raw['objective'];
  if (typeof v === 'string' && /^\d+(\.\d+)?%?$/.test(v.trim())) {
    issues.error(p, `must be a number, not a string: write objective: ${v.replace('%', '').trim()}`);
    return undefined;
  }
  const pct = readNumber(raw, 'objective', path, issues, { required: true });
  if (pct === undefined) return undefined;
  if (!(pct > 0 && pct < 100)) {
    issues.error(p, pct >= 100 ? `${pct}% leaves no error budget; use a target below 100, e.g. 99.9` : `must be a percentage between 0 and 100, e.g. 99.9, got ${pct}`);
    return undefined;
  }
  if (pct < 1) issues.warn(p, `objective is a percentage: ${pct} means ${pct}%; did you mean ${Number((pct * 100).toPrecision(12))}?`);
  // 99.9 / 100 is 0.9990000000000001 in binary floating point; round to what was written.
  return Number((pct / 100).toPrecision(12));
}

export function readSli(raw: unknown, path: string, issues: Issues): Sli | undefined {
  if (!isRecord(raw)) {
    issues.error(path, `is required: one of ${SLI_KINDS.map((k) => `{ ${k}: ... }`).join(' or ')}`);
    return undefined;
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    issues.error(path, `must have exactly one SLI kind (${SLI_KINDS.join(' or ')}), got ${keys.length === 0 ? 'none' : keys.join(', ')}`);
    return undefined;
  }
  const kind = keys[0]!;
  const body = raw[kind] ?? {};
  const p = join(path, kind);
  if (kind === 'availability') {
    if (!isRecord(body)) {
      issues.error(p, 'must be a mapping, e.g. { badCodes: [5xx, UNAVAILABLE] } or {} for the defaults');
      return undefined;
    }
    checkKeys(body, ['badCodes', 'countRejected'], p, issues);
    const codes = body['badCodes'] ?? DEFAULT_BAD_CODES;
    if (!Array.isArray(codes) || codes.length === 0) {
      issues.error(join(p, 'badCodes'), 'must be a non-empty list of codes such as 5xx, 503, UNAVAILABLE');
      return undefined;
    }
    const badCodes: string[] = [];
    codes.forEach((c, i) => {
      const pattern = codePattern(c, join(join(p, 'badCodes'), i), issues);
      if (pattern !== undefined && !badCodes.includes(pattern)) badCodes.push(pattern);
    });
    const countRejected = body['countRejected'];
    if (countRejected !== undefined && typeof countRejected !== 'boolean') issues.error(join(p, 'countRejected'), `must be true or false, got ${JSON.stringify(countRejected)}`);
    if (countRejected === true) {
      issues.warn(join(p, 'countRejected'), 'counts requests the proxy refused (shed, rate limited, unauthenticated, forbidden) in the in-process evaluation only; the generated Prometheus rules (sloSource: prometheus) count forwarded requests');
      return { kind: 'availability', badCodes, countRejected: true };
    }
    return { kind: 'availability', badCodes };
  }
  if (kind === 'latency') {
    if (!isRecord(body)) {
      issues.error(p, 'must be a mapping, e.g. { threshold: 250ms }');
      return undefined;
    }
    checkKeys(body, ['threshold'], p, issues);
    const ms = readDuration(body, 'threshold', p, issues, { required: true });
    if (ms === undefined) return undefined;
    return { kind: 'latency', thresholdSeconds: ms / 1000 };
  }
  if (kind === 'drift') {
    // Nothing to configure yet: what counts as drift is the drift: section's verdict
    // (thresholds, Bonferroni or share), so the SLI and GET /api/v1/drift agree.
    if (!isRecord(body) || Object.keys(body).length > 0) {
      issues.error(p, 'takes no settings: write { drift: {} }; thresholds and the verdict rule live in the drift: section');
      return undefined;
    }
    return { kind: 'drift' };
  }
  if (kind === 'accuracy') {
    if (!isRecord(body)) {
      issues.error(p, 'must be a mapping, e.g. { minLabels: 200 } (classifier) or { minLabels: 200, tolerance: 0.5 } (regression)');
      return undefined;
    }
    checkKeys(body, ['minLabels', 'tolerance'], p, issues);
    const minLabels = readNumber(body, 'minLabels', p, issues, { default: DEFAULT_ACCURACY_MIN_LABELS, min: 1, integer: true }) ?? DEFAULT_ACCURACY_MIN_LABELS;
    const tolerance = readNumber(body, 'tolerance', p, issues, { min: 0 });
    return tolerance === undefined ? { kind: 'accuracy', minLabels } : { kind: 'accuracy', minLabels, tolerance };
  }
  issues.error(join(path, kind), `unknown SLI kind "${kind}"; ${suggestion(kind, SLI_KINDS)}`);
  return undefined;
}

/** "5xx" → "5..", "503" → "503", "UNAVAILABLE" → "UNAVAILABLE" (the `code` label text). */
function codePattern(c: unknown, path: string, issues: Issues): string | undefined {
  const text = typeof c === 'number' ? String(c) : c;
  if (typeof text !== 'string') {
    issues.error(path, `must be a code such as 5xx, 503 or UNAVAILABLE, got ${JSON.stringify(c)}`);
    return undefined;
  }
  const cls = /^([1-5])xx$/i.exec(text);
  if (cls) {
    if (cls[1] === '2') issues.warn(path, '2xx as a bad code counts every success as a failure');
    if (cls[1] === '4') issues.warn(path, '4xx counts client errors (bad input, unknown model) against the server; list single codes such as 429 instead');
    return `${cls[1]}..`;
  }
  if (/^[1-5]\d\d$/.test(text)) return text;
  const names = Object.keys(GrpcCode);
  if (names.includes(text)) {
    if (text === 'OK') issues.warn(path, 'OK as a bad code counts every gRPC success as a failure');
    return text;
  }
  const upper = text.toUpperCase();
  issues.error(
    path,
    names.includes(upper)
      ? `gRPC code names are upper case: write ${upper}`
      : `"${text}" is not an HTTP status (503), a status class (5xx) or a gRPC code name; ${suggestion(text, names)}`,
  );
  return undefined;
}

function readAlerting(raw: unknown, path: string, periodMs: number, defaultMinEvents: number, issues: Issues): Slo['alerting'] {
  const def = { windows: defaultWindows(periodMs), minEvents: defaultMinEvents, labels: {} };
  if (raw === undefined || raw === null) return def;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping with minEvents, runbook, labels or windows');
    return def;
  }
  checkKeys(raw, ALERTING_KEYS, path, issues);
  const minEvents = readNumber(raw, 'minEvents', path, issues, { default: defaultMinEvents, min: 0, integer: true });
  const runbookUrl = readString(raw, 'runbook', path, issues);
  if (runbookUrl !== undefined && !/^https?:\/\//.test(runbookUrl)) issues.warn(join(path, 'runbook'), 'is not an http(s) URL; alerts will carry it as written');
  const labels = readLabels(raw['labels'], join(path, 'labels'), issues);
  const windows = raw['windows'] === undefined ? def.windows : readWindows(raw['windows'], join(path, 'windows'), periodMs, issues);
  return { windows, minEvents, labels, ...(runbookUrl === undefined ? {} : { runbookUrl }) };
}

/**
 * A pair fires when the error ratio exceeds factor × (1 − objective); at or above 1 that can
 * never happen. Low objectives (a drift SLI at 90%) meet the workbook's 14.4x page this way.
 */
function warnUnreachablePairs(raw: Record<string, unknown>, path: string, objective: number, windows: readonly AlertWindow[], issues: Issues): void {
  const custom = isRecord(raw['alerting']) && raw['alerting']['windows'] !== undefined;
  const max = Number((1 / (1 - objective)).toPrecision(4));
  for (const w of windows) {
    if (w.factor * (1 - objective) < 1) continue;
    issues.warn(
      custom ? join(path, 'alerting.windows') : join(path, 'objective'),
      `the ${w.severity} pair ${formatDuration(w.longMs)}/${formatDuration(w.shortMs)} at ${w.factor}x needs more than ${Number((w.factor * (1 - objective) * 100).toPrecision(4))}% bad events and can never fire; with this objective a factor must stay below ${max}`,
    );
  }
}

const SEVEN_DAYS_MS = 7 * DAY;
/**
 * Sloth's alert windows for a 7-day period (slok/sloth examples/windows/7d.yaml: 8% of the
 * budget in 1h/5m, 12.5% in 6h/30m, 20% in 1d/2h, 42% in 3d/6h), as factors.
 */
const SLOTH_7D_WINDOWS = [
  ['page', '1h', '5m', 13.44],
  ['page', '6h', '30m', 3.5],
  ['ticket', '1d', '2h', 1.4],
  ['ticket', '3d', '6h', 0.98],
].map(([severity, long, short, factor]) => `{severity: ${severity}, long: ${long}, short: ${short}, factor: ${factor}}`).join(', ');

/**
 * Windows scaled down with the period (a 7d period turns the workbook's 5m into 1m10s)
 * hold too few scrapes for the Prometheus rules. The in-process evaluator is exact at any
 * size, so this is a warning that says what to write instead.
 */
function warnShortWindows(windows: readonly AlertWindow[], periodMs: number, path: string, custom: boolean, issues: Issues): void {
  if (windows.length === 0) return;
  const shortest = Math.min(...windows.map((w) => w.shortMs));
  if (shortest >= PROMETHEUS_MIN_WINDOW_MS) return;
  const min = formatDuration(PROMETHEUS_MIN_WINDOW_MS);
  const why =
    `the shortest alert window is ${formatDuration(shortest)}, fewer than ${MIN_SCRAPES_PER_WINDOW} scrapes at Prometheus' default ` +
    `${formatDuration(DEFAULT_SCRAPE_INTERVAL_MS)} scrape interval, so the generated Prometheus rules see too few samples in it (the in-process evaluator is not affected)`;
  if (custom) {
    issues.warn(path, `${why}; make every short window at least ${min}, or scrape the proxy at ${formatDuration(Math.floor(shortest / MIN_SCRAPES_PER_WINDOW))} or less`);
    return;
  }
  // The default table keeps each window's share of the period; the smallest period whose
  // shortest window still holds enough scrapes:
  const workbookShortest = Math.min(...WORKBOOK_WINDOWS.map((r) => r.shortMs));
  const minPeriod = Math.ceil((PROMETHEUS_MIN_WINDOW_MS / workbookShortest) * WORKBOOK_PERIOD_MS / 86_400_000) * 86_400_000;
  const windowsHint =
    periodMs === SEVEN_DAYS_MS
      ? `, or keep 7d with Sloth's 7-day table: alerting: { windows: [${SLOTH_7D_WINDOWS}] }`
      : `, or write alerting.windows whose short windows are at least ${min} (factor = share of the budget spent × period / long window)`;
  issues.warn(path, `${why}; use period: ${formatDuration(minPeriod)} or longer (28d and 30d are common)${windowsHint}`);
}

function readLabels(raw: unknown, path: string, issues: Issues): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping of label name to value');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const p = join(path, k);
    if (!LABEL_NAME_RE.test(k) || k.startsWith('__')) issues.error(p, `"${k}" is not a Prometheus label name (letters, digits, _; not starting with a digit or __)`);
    else if (RESERVED_LABELS.includes(k)) issues.error(p, `"${k}" is set by modelgate on every alert; choose another name`);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else issues.error(p, 'must be a string');
  }
  return out;
}

function readWindows(raw: unknown, path: string, periodMs: number, issues: Issues): AlertWindow[] {
  if (!Array.isArray(raw)) {
    issues.error(path, 'must be a list of { severity, long, short, factor } ([] for no alerts); leave it out for the SRE workbook defaults');
    return [];
  }
  const out: AlertWindow[] = [];
  raw.forEach((w, i) => {
    const p = join(path, i);
    if (!isRecord(w)) {
      issues.error(p, 'must be a mapping { severity: page, long: 1h, short: 5m, factor: 14.4 }');
      return;
    }
    checkKeys(w, WINDOW_KEYS, p, issues);
    const severity = w['severity'];
    if (severity !== 'page' && severity !== 'ticket') issues.error(join(p, 'severity'), `must be page or ticket, got ${JSON.stringify(severity)}`);
    const longMs = readDuration(w, 'long', p, issues, { required: true });
    const shortMs = readDuration(w, 'short', p, issues, { required: true });
    const factor = readNumber(w, 'factor', p, issues, { required: true });
    if (factor !== undefined && !(factor > 0)) issues.error(join(p, 'factor'), `must be greater than 0, got ${factor}`);
    if (longMs !== undefined && shortMs !== undefined) {
      if (!(shortMs < longMs)) issues.error(join(p, 'short'), `must be shorter than long (${formatDuration(longMs)}); the workbook uses long / 12`);
      if (longMs > periodMs) issues.error(join(p, 'long'), `${formatDuration(longMs)} is longer than the period ${formatDuration(periodMs)}`);
    }
    if ((severity === 'page' || severity === 'ticket') && longMs && shortMs && factor && factor > 0 && shortMs < longMs && longMs <= periodMs) {
      out.push({ severity: severity as Severity, longMs, shortMs, factor });
    }
  });
  return out;
}

function readNotifyNames(raw: unknown, path: string, issues: Issues): string[] {
  if (raw === undefined || raw === null) return [];
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || !list.every((n) => typeof n === 'string' && n !== '')) {
    issues.error(path, 'must be a list of notification target names from the top-level notify: section');
    return [];
  }
  return [...new Set(list as string[])];
}
