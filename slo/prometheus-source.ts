// The fleet-wide SLO source: the same statuses and verdicts as SloEngine, computed from
// the good/total counts of every proxy replica as Prometheus scraped them, instead of
// this replica's own windows. Past one machine each replica sees only its share of the
// traffic; reading the fleet's counters makes every replica reach the same verdict.
//
// - The PromQL is the rule generator's (errorRatioExpr / requestsExpr in slo/rules.ts), so
//   what this source reads is what the generated recording rules record.
// - The maths is the engine's (slo/fleet-status.ts over slo/burn.ts).
// - Queries run at an aligned instant (`alignMs`): replicas that evaluate within the same
//   step ask Prometheus about the same timestamp and get identical answers, so their
//   verdicts agree exactly rather than approximately.
// - Prometheus down, a query error, NaN → inconclusive with the reason, never pass or fail
//   (docs/architecture.md, "Verdicts have three outcomes").
//
// The error ratio comes back as a ratio; `bad` is ratio × total (Prometheus' `increase()`
// extrapolates to the window edges, so its counts are not whole numbers anyway).
import type { Clock } from '../common/index.ts';
import { LABEL, formatDuration } from '../common/index.ts';
import type { Slo } from './definitions.ts';
import type { AlertTransition, BurnRateReading, SloStatus } from './status.ts';
import { DEFAULT_MAX_SERIES_PER_SLO } from './engine.ts';
import { burnRate, errorRatio } from './burn.ts';
import { errorRatioExpr, requestsExpr } from './rules.ts';
import { distinctWindows } from './windows.ts';
import { deliverTransitions, fleetStatus, newAlertMemory, type AlertMemory, type SeriesReading } from './fleet-status.ts';
import { queryInstant, type PromApiOptions, type PromQueryResult } from './prometheus-api.ts';
import { SloErrors } from './errors.ts';
import { toJson, type SloSnapshot } from './snapshot.ts';

/** A query slower than this is treated as Prometheus being down for this tick. */
export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 5_000;
/**
 * Evaluation instants are multiples of this. One second is Prometheus' timestamp
 * resolution that matters here (scrape timestamps are ms, but scrape intervals are >= 1 s),
 * and short enough that the instant is at most one second old.
 */
export const DEFAULT_ALIGN_MS = 1_000;
/**
 * Readings older than this are not handed to the rollout analysis (a tick stuck behind
 * a slow Prometheus must not feed a decision with old numbers): three default ticks.
 */
export const DEFAULT_MAX_READING_AGE_MS = 15_000;
/**
 * Extra windows the rollout analysis may add per SLO (each costs two queries per tick). A
 * rollout asks for one or two (its interval, a custom slo window); more is a wiring bug.
 */
export const MAX_EXTRA_WINDOWS = 8;

export interface PrometheusSourceOptions {
  /** Prometheus base URL, e.g. http://prometheus.monitoring:9090. */
  url: string;
  clock: Clock;
  timeoutMs?: number;
  alignMs?: number;
  /**
   * Evaluate this long before now, so the newest scrape of every replica has landed
   * (like Prometheus' rule `query_offset`). 0 by default: one scrape of lag is already
   * smaller than the windows' bucket error.
   */
  offsetMs?: number;
  maxReadingAgeMs?: number;
  headers?: Readonly<Record<string, string>>;
  fetch?: typeof fetch;
  /** Firing/resolved transitions (the gateway sends them to the notifier on the leader only). */
  onTransition?: (t: AlertTransition) => void;
  maxSeriesPerSlo?: number;
}

/** How the last evaluation went, for /api/v1/slos and logs. */
export interface SourceHealth {
  ok: boolean;
  /** Evaluation instant (ms) of the last evaluation, 0 before the first. */
  evaluatedAt: number;
  /** Why it was not ok, per SLO name. */
  problems: Record<string, string>;
}

type Counts = Map<string, { bad: number; total: number }>;
/** Per window length: counts by version, or the reason they could not be read. */
type WindowTable = Map<number, { ok: true; byVersion: Counts } | { ok: false; reason: string }>;

interface SloState {
  slo: Slo;
  windowsMs: number[];
  /** Extra window lengths asked for by the rollout analysis (burnRate), fetched from the next evaluation. */
  wanted: Set<number>;
  memory: Map<string, AlertMemory>;
  table: WindowTable;
  tableAt: number;
}

export class PrometheusSloSource {
  readonly #o: PromApiOptions;
  readonly #clock: Clock;
  readonly #alignMs: number;
  readonly #offsetMs: number;
  readonly #maxAgeMs: number;
  readonly #maxSeries: number;
  readonly #onTransition: ((t: AlertTransition) => void) | undefined;
  readonly #state = new Map<string, SloState>();
  #last: SloStatus[] = [];
  #health: SourceHealth = { ok: false, evaluatedAt: 0, problems: {} };
  #running: Promise<SloStatus[]> | undefined;

  constructor(slos: readonly Slo[], options: PrometheusSourceOptions) {
    this.#o = {
      url: options.url,
      timeoutMs: options.timeoutMs ?? DEFAULT_PROMETHEUS_TIMEOUT_MS,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    this.#clock = options.clock;
    this.#alignMs = Math.max(1, options.alignMs ?? DEFAULT_ALIGN_MS);
    this.#offsetMs = Math.max(0, options.offsetMs ?? 0);
    this.#maxAgeMs = options.maxReadingAgeMs ?? DEFAULT_MAX_READING_AGE_MS;
    this.#maxSeries = options.maxSeriesPerSlo ?? DEFAULT_MAX_SERIES_PER_SLO;
    this.#onTransition = options.onTransition;
    for (const slo of slos) {
      if (this.#state.has(slo.name)) throw SloErrors.SLO_ERR_DUPLICATE_SLO(`two SLOs are named "${slo.name}"`);
      const memory = new Map<string, AlertMemory>();
      // A pinned version is listed (as inconclusive) before its first request, as in the engine.
      if (slo.version !== undefined) memory.set(slo.version, newAlertMemory());
      this.#state.set(slo.name, { slo, windowsMs: distinctWindows(slo.alerting.windows), wanted: new Set(), memory, table: new Map(), tableAt: 0 });
    }
  }

  /** The instant an evaluation started now would query (ms): aligned, minus the offset. */
  instant(): number {
    const t = this.#clock.now() - this.#offsetMs;
    return Math.floor(t / this.#alignMs) * this.#alignMs;
  }

  /**
   * Queries Prometheus and evaluates every SLO × version. Never rejects: failures become
   * inconclusive statuses. A call while one is in flight joins it (a slow Prometheus does
   * not pile up queries).
   */
  evaluate(): Promise<SloStatus[]> {
    this.#running ??= this.#evaluate().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #evaluate(): Promise<SloStatus[]> {
    const at = this.instant();
    const problems: Record<string, string> = {};
    const out: SloStatus[] = [];
    const transitions: AlertTransition[] = [];
    await Promise.all([...this.#state.values()].map((st) => this.#fetch(st, at)));
    for (const st of this.#state.values()) {
      const failed = [...st.table.values()].find((w) => !w.ok);
      if (failed && !failed.ok) problems[st.slo.name] = failed.reason;
      for (const version of this.#versions(st)) {
        const memory = st.memory.get(version)!;
        const e = fleetStatus(st.slo, version, readingOf(st, version), memory, at);
        out.push(e.status);
        transitions.push(...e.transitions);
      }
    }
    this.#last = out;
    this.#health = { ok: Object.keys(problems).length === 0, evaluatedAt: at, problems };
    deliverTransitions(this.#onTransition, transitions);
    return out;
  }

  /** Fills st.table: for each window (alert windows, the period, wanted ones) counts by version. */
  async #fetch(st: SloState, at: number): Promise<void> {
    const lengths = new Set([...st.windowsMs, st.slo.periodMs, ...st.wanted]);
    const table: WindowTable = new Map();
    await Promise.all(
      [...lengths].map(async (w) => {
        const [ratio, total] = await Promise.all([
          queryInstant(this.#o, errorRatioExpr(st.slo, w), at / 1000),
          queryInstant(this.#o, requestsExpr(st.slo, w), at / 1000),
        ]);
        table.set(w, countsByVersion(st.slo, w, ratio, total));
      }),
    );
    st.table = table;
    st.tableAt = at;
  }

  /** Versions to report: pinned, or every version seen so far (bounded like the engine's series). */
  #versions(st: SloState): string[] {
    for (const w of st.table.values()) {
      if (!w.ok) continue;
      for (const version of w.byVersion.keys()) {
        if (st.memory.has(version)) continue;
        if (st.slo.version !== undefined && st.slo.version !== version) continue;
        if (st.memory.size >= this.#maxSeries) continue;
        st.memory.set(version, newAlertMemory());
      }
    }
    return [...st.memory.keys()];
  }

  /** Statuses of the last evaluation (empty before the first). */
  latest(): readonly SloStatus[] {
    return this.#last;
  }

  health(): SourceHealth {
    return this.#health;
  }

  get slos(): readonly Slo[] {
    return [...this.#state.values()].map((s) => s.slo);
  }

  /** The last evaluation in the engine's `GET /api/v1/slos` shape. */
  snapshot(): SloSnapshot {
    return {
      evaluatedAt: new Date(this.#health.evaluatedAt).toISOString(),
      dropped: 0,
      slos: [...this.#state.values()].map(({ slo }) => ({
        name: slo.name,
        description: slo.description ?? null,
        model: slo.model,
        version: slo.version ?? 'each',
        sli: slo.sli.kind,
        ...(slo.sli.kind === 'latency' ? { thresholdSeconds: slo.sli.thresholdSeconds } : {}),
        objective: slo.objective,
        period: formatDuration(slo.periodMs),
        series: this.#last.filter((s) => s.slo === slo.name).map(toJson),
      })),
    };
  }

  /**
   * The engine's `burnRate` for rollout analysis, answered from the last evaluation's
   * readings (the rollout controller's BurnSource is synchronous, so it cannot wait for
   * Prometheus). A window not read yet is added to the next evaluation. Throws
   * SLO_ERR_SOURCE_UNAVAILABLE when there is no fresh reading (the controller turns that
   * into an inconclusive check), SLO_ERR_UNKNOWN_SLO / SLO_ERR_BAD_WINDOW like the engine.
   */
  burnRate(sloName: string, model: string, version: string, windowMs: number): BurnRateReading {
    const st = this.#state.get(sloName);
    if (!st) throw SloErrors.SLO_ERR_UNKNOWN_SLO(`no SLO named "${sloName}"; known: ${[...this.#state.keys()].join(', ') || '(none)'}`);
    if (st.slo.model !== model) throw SloErrors.SLO_ERR_UNKNOWN_SLO(`SLO "${sloName}" is for model "${st.slo.model}", not "${model}"`);
    if (!(windowMs > 0) || windowMs > st.slo.periodMs) {
      throw SloErrors.SLO_ERR_BAD_WINDOW(`window must be > 0 and <= the SLO period (${formatDuration(st.slo.periodMs)}), got ${windowMs} ms`);
    }
    const w = st.table.get(windowMs);
    if (w === undefined) {
      if (st.wanted.size >= MAX_EXTRA_WINDOWS) {
        throw SloErrors.SLO_ERR_BAD_WINDOW(`SLO "${sloName}" already reads ${MAX_EXTRA_WINDOWS} extra windows from Prometheus; use one of them or an alert window`);
      }
      st.wanted.add(windowMs);
      throw SloErrors.SLO_ERR_SOURCE_UNAVAILABLE(`the ${formatDuration(windowMs)} window of SLO "${sloName}" is read from Prometheus from the next evaluation on`);
    }
    if (!w.ok) throw SloErrors.SLO_ERR_SOURCE_UNAVAILABLE(w.reason);
    const age = this.#clock.now() - st.tableAt;
    if (age > this.#maxAgeMs) {
      throw SloErrors.SLO_ERR_SOURCE_UNAVAILABLE(`the last Prometheus reading is ${formatDuration(age)} old (limit ${formatDuration(this.#maxAgeMs)})`);
    }
    const c = w.byVersion.get(version) ?? { bad: 0, total: 0 };
    const ratio = errorRatio(c.bad, c.total);
    return { slo: sloName, model, version, windowMs, bad: c.bad, total: c.total, errorRatio: ratio, burnRate: burnRate(ratio, st.slo.objective) };
  }

  /** Waits for an evaluation in flight (for shutdown). */
  async close(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }
}

function readingOf(st: SloState, version: string): SeriesReading {
  const windows = [];
  for (const windowMs of [...st.windowsMs, st.slo.periodMs]) {
    const w = st.table.get(windowMs);
    if (w === undefined) return { ok: false, reason: 'not evaluated yet' };
    if (!w.ok) return { ok: false, reason: w.reason };
    const c = w.byVersion.get(version) ?? { bad: 0, total: 0 };
    windows.push({ windowMs, ...c });
  }
  const period = windows.pop()!;
  return { ok: true, counts: { windows, period: { bad: period.bad, total: period.total } } };
}

/**
 * Joins the ratio and total vectors of one window by version. A version with no total
 * sample had no requests in the window (0/0, no data); a NaN ratio with a zero total is
 * the same 0/0. Anything else that is not a finite number is a problem with the source.
 */
export function countsByVersion(slo: Slo, windowMs: number, ratio: PromQueryResult, total: PromQueryResult): { ok: true; byVersion: Counts } | { ok: false; reason: string } {
  const w = formatDuration(windowMs);
  if (!ratio.ok) return { ok: false, reason: ratio.reason };
  if (!total.ok) return { ok: false, reason: total.reason };
  const ratios = new Map<string, number>();
  for (const s of ratio.samples) {
    if (s.labels[LABEL.model] !== slo.model) continue;
    ratios.set(s.labels[LABEL.version] ?? '', s.value);
  }
  const byVersion: Counts = new Map();
  for (const s of total.samples) {
    if (s.labels[LABEL.model] !== slo.model) continue;
    const version = s.labels[LABEL.version] ?? '';
    const n = s.value;
    if (!Number.isFinite(n) || n < 0) return { ok: false, reason: `Prometheus returned ${n} requests for ${slo.model} version ${version} over ${w}` };
    const r = ratios.get(version);
    if (n === 0) {
      byVersion.set(version, { bad: 0, total: 0 });
      continue;
    }
    if (r === undefined) return { ok: false, reason: `Prometheus returned ${n} requests but no error ratio for ${slo.model} version ${version} over ${w}` };
    if (!Number.isFinite(r) || r < 0 || r > 1) return { ok: false, reason: `Prometheus returned an error ratio of ${r} for ${slo.model} version ${version} over ${w}` };
    byVersion.set(version, { bad: r * n, total: n });
  }
  return { ok: true, byVersion };
}
