// The in-process SLO evaluator. `record` is on the request path: O(1), allocation-free
// for an existing series, never throws. `recordWindow` does the same for the drift SLI,
// whose events are closed drift windows. `evaluate` is the cold tick: it turns the rings
// into burn rates, budget, alert states and a verdict, and reports alert transitions.
import type { Clock, RequestOutcome } from '../common/index.ts';
import { formatDuration } from '../common/index.ts';
import { SEVERITIES, type Severity, type Slo } from './definitions.ts';
export { SEVERITIES };
import { CountRing } from './ring.ts';
import { classifierFor, type BadClassifier } from './sli.ts';
import { layoutFor, bytesPerSeries, type SeriesLayout } from './layout.ts';
import { burnRate, burnVerdict, errorRatio, type WindowCounts } from './burn.ts';
import { SloErrors } from './errors.ts';
import { toJson, type SloSnapshot } from './snapshot.ts';
import { deliverTransitions, fleetStatus as statusFromCounts } from './fleet-status.ts';
import type { AlertTransition, BurnRateReading, SloStatus, Verdict } from './status.ts';

/**
 * One labelled prediction row, for the accuracy SLI (truth/): a classifier's row carries
 * `correct`, a regression row its absolute error (judged against each SLO's tolerance).
 */
export interface LabelEvent {
  model: string;
  version: string;
  correct?: boolean;
  absError?: number;
  /** When the label arrived (ms): the event's time in the SLO windows. */
  atMs: number;
}

/** Versions come from the proxy's allowlist; this only guards against a wiring mistake. */
export const DEFAULT_MAX_SERIES_PER_SLO = 256;

/**
 * One closed drift evaluation window of a model version, for the drift SLI: good when it
 * did not drift. Inconclusive windows are not passed in (they count neither way).
 */
export interface WindowEvent {
  model: string;
  version: string;
  good: boolean;
  /** When the window ended (ms): the event's time in the SLO windows. */
  atMs: number;
}

export interface SloEngineOptions {
  clock: Clock;
  /** Called for every firing/resolved transition found by `evaluate` (never on the request path). */
  onTransition?: (t: AlertTransition) => void;
  maxSeriesPerSlo?: number;
}

interface Series {
  version: string;
  fine: CountRing;
  period: CountRing;
  alerts: Record<Severity, { firing: boolean; since: number | null }>;
}

/** One configured SLO inside the engine: its definition, ring layout, classifier and a series per version. */
class TrackedSlo {
  readonly slo: Slo;
  readonly layout: SeriesLayout;
  /** Request SLIs only; a drift SLI's events arrive already judged (recordWindow). */
  readonly isBad: BadClassifier | undefined;
  readonly apis: ReadonlySet<string>;
  /** Outcomes the proxy refused before forwarding are skipped unless the SLI says to count them. */
  readonly countRejected: boolean;
  readonly series = new Map<string, Series>();
  constructor(slo: Slo) {
    this.slo = slo;
    this.countRejected = slo.sli.kind === 'availability' && slo.sli.countRejected === true;
    this.layout = layoutFor(slo);
    this.isBad = slo.sli.kind === 'drift' || slo.sli.kind === 'accuracy' ? undefined : classifierFor(slo.sli);
    this.apis = new Set(slo.apis);
  }
  newSeries(version: string): Series {
    const l = this.layout;
    return {
      version,
      fine: new CountRing(l.fineBucketMs, l.fineSize),
      period: new CountRing(l.periodBucketMs, l.periodSize),
      alerts: { page: { firing: false, since: null }, ticket: { firing: false, since: null } },
    };
  }
}

export class SloEngine {
  readonly #clock: Clock;
  readonly #onTransition: ((t: AlertTransition) => void) | undefined;
  readonly #maxSeries: number;
  readonly #byName = new Map<string, TrackedSlo>();
  /** Request SLIs by model (what `record` walks). */
  readonly #byModel = new Map<string, TrackedSlo[]>();
  /** Drift SLIs by model (what `recordWindow` walks). */
  readonly #driftByModel = new Map<string, TrackedSlo[]>();
  /** Accuracy SLIs by model (what `recordLabelled` walks). */
  readonly #accuracyByModel = new Map<string, TrackedSlo[]>();
  #dropped = 0;
  #last: SloStatus[] | undefined;
  #lastAt = 0;

  constructor(slos: readonly Slo[], options: SloEngineOptions) {
    this.#clock = options.clock;
    this.#onTransition = options.onTransition;
    this.#maxSeries = options.maxSeriesPerSlo ?? DEFAULT_MAX_SERIES_PER_SLO;
    for (const slo of slos) {
      if (this.#byName.has(slo.name)) throw SloErrors.SLO_ERR_DUPLICATE_SLO(`two SLOs are named "${slo.name}"`);
      const rt = new TrackedSlo(slo);
      this.#byName.set(slo.name, rt);
      const index = slo.sli.kind === 'drift' ? this.#driftByModel : slo.sli.kind === 'accuracy' ? this.#accuracyByModel : this.#byModel;
      const list = index.get(slo.model) ?? [];
      list.push(rt);
      index.set(slo.model, list);
      // A pinned version is listed (as inconclusive) before its first request.
      if (slo.version !== undefined) rt.series.set(slo.version, rt.newSeries(slo.version));
    }
  }

  /** Outcomes not counted: malformed, too old for the ring, or past the series cap. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes of counts held per series, by SLO name. */
  bytesPerSeries(sloName: string): number {
    return bytesPerSeries(this.#tracked(sloName).layout);
  }

  /** Request path. O(1) per matching SLO; never throws (a bad sample is dropped and counted). */
  record(o: RequestOutcome): void {
    try {
      const list = this.#byModel.get(o.model);
      if (list === undefined) return;
      const t = o.endMs;
      if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
        this.#dropped++;
        return;
      }
      for (let i = 0; i < list.length; i++) {
        const rt = list[i]!;
        if (!rt.apis.has(o.api)) continue;
        if (o.rejected !== undefined && !rt.countRejected) continue;
        const pinned = rt.slo.version;
        if (pinned !== undefined && pinned !== o.version) continue;
        const s = this.#seriesFor(rt, o.version);
        if (s === undefined) continue;
        const bad = rt.isBad!(o);
        if (!s.fine.add(t, bad)) this.#dropped++;
        s.period.add(t, bad);
      }
    } catch {
      this.#dropped++;
    }
  }

  /**
   * Drift SLI: counts one closed drift window of a model version (good = no drift) in
   * every drift SLO of that model, the way `record` counts a request. From there the
   * windows, burn rates, alerts and verdicts are the same machinery. Never throws.
   */
  recordWindow(w: WindowEvent): void {
    try {
      const list = this.#driftByModel.get(w.model);
      if (list === undefined) return;
      const t = w.atMs;
      if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || typeof w.good !== 'boolean') {
        this.#dropped++;
        return;
      }
      for (const rt of list) {
        if (rt.slo.version !== undefined && rt.slo.version !== w.version) continue;
        const s = this.#seriesFor(rt, w.version);
        if (s === undefined) continue;
        if (!s.fine.add(t, !w.good)) this.#dropped++;
        s.period.add(t, !w.good);
      }
    } catch {
      this.#dropped++;
    }
  }

  /**
   * Accuracy SLI: counts one labelled prediction row (good = right, or within the SLO's
   * tolerance) in every accuracy SLO of that model. A row of the other task (a regression
   * row for a classifier SLO) counts in none. Never throws.
   */
  recordLabelled(e: LabelEvent): void {
    try {
      const list = this.#accuracyByModel.get(e.model);
      if (list === undefined) return;
      const t = e.atMs;
      if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
        this.#dropped++;
        return;
      }
      for (const rt of list) {
        if (rt.slo.version !== undefined && rt.slo.version !== e.version) continue;
        const sli = rt.slo.sli;
        if (sli.kind !== 'accuracy') continue;
        let good: boolean;
        if (sli.tolerance !== undefined) {
          if (typeof e.absError !== 'number' || Number.isNaN(e.absError)) continue;
          good = e.absError <= sli.tolerance;
        } else {
          if (typeof e.correct !== 'boolean') continue;
          good = e.correct;
        }
        const s = this.#seriesFor(rt, e.version);
        if (s === undefined) continue;
        if (!s.fine.add(t, !good)) this.#dropped++;
        s.period.add(t, !good);
      }
    } catch {
      this.#dropped++;
    }
  }

  /** The series of one version, created on first sight; undefined (and counted) past the cap. */
  #seriesFor(rt: TrackedSlo, version: string): Series | undefined {
    let s = rt.series.get(version);
    if (s === undefined) {
      if (rt.series.size >= this.#maxSeries || typeof version !== 'string') {
        this.#dropped++;
        return undefined;
      }
      s = rt.newSeries(version);
      rt.series.set(version, s);
    }
    return s;
  }

  /** Cold path: statuses for every series; alert transitions go to `onTransition`. */
  evaluate(): SloStatus[] {
    const now = this.#clock.now();
    const out: SloStatus[] = [];
    const transitions: AlertTransition[] = [];
    for (const rt of this.#byName.values()) {
      for (const s of rt.series.values()) out.push(this.#evaluateSeries(rt, s, now, transitions));
    }
    this.#last = out;
    this.#lastAt = now;
    deliverTransitions(this.#onTransition, transitions);
    return out;
  }

  /** The statuses of the last evaluation, without evaluating (empty before the first tick). */
  latest(): readonly SloStatus[] {
    return this.#last ?? [];
  }

  /** The last evaluation as JSON for `GET /api/v1/slos` (evaluates once if never evaluated). */
  snapshot(): SloSnapshot {
    const statuses = this.#last ?? this.evaluate();
    return {
      evaluatedAt: new Date(this.#lastAt).toISOString(),
      dropped: this.#dropped,
      slos: [...this.#byName.values()].map((rt) => ({
        name: rt.slo.name,
        description: rt.slo.description ?? null,
        model: rt.slo.model,
        version: rt.slo.version ?? 'each',
        sli: rt.slo.sli.kind,
        ...(rt.slo.sli.kind === 'latency' ? { thresholdSeconds: rt.slo.sli.thresholdSeconds } : {}),
        objective: rt.slo.objective,
        period: formatDuration(rt.slo.periodMs),
        series: statuses.filter((s) => s.slo === rt.slo.name).map(toJson),
      })),
    };
  }

  /**
   * Burn rate of one model version over an arbitrary recent window, for rollout analysis
   * (e.g. the canary's last 2 minutes). Windows up to the longest alert window use the
   * fine ring; longer ones the period ring (coarser). Throws SLO_ERR_UNKNOWN_SLO /
   * SLO_ERR_BAD_WINDOW; an unseen version reads as no data (burnRate null).
   */
  burnRate(sloName: string, model: string, version: string, windowMs: number): BurnRateReading {
    const rt = this.#tracked(sloName);
    if (rt.slo.model !== model) throw SloErrors.SLO_ERR_UNKNOWN_SLO(`SLO "${sloName}" is for model "${rt.slo.model}", not "${model}"`);
    if (!(windowMs > 0) || windowMs > rt.slo.periodMs) {
      throw SloErrors.SLO_ERR_BAD_WINDOW(`window must be > 0 and <= the SLO period (${formatDuration(rt.slo.periodMs)}), got ${windowMs} ms`);
    }
    const s = rt.series.get(version);
    let bad = 0;
    let total = 0;
    if (s !== undefined) {
      const now = this.#clock.now();
      const ring = windowMs <= s.fine.bucketMs * s.fine.size ? s.fine : s.period;
      const b = [0];
      const t = [0];
      ring.sums(now, [Math.max(1, Math.round(windowMs / ring.bucketMs))], b, t);
      bad = b[0]!;
      total = t[0]!;
    }
    const ratio = errorRatio(bad, total);
    return { slo: sloName, model, version, windowMs, bad, total, errorRatio: ratio, burnRate: burnRate(ratio, rt.slo.objective) };
  }

  /**
   * A verdict for one model version from the short windows a rollout analyses, e.g.
   * `[{ windowMs: 120_000, maxBurnRate: 14.4 }]`: fail when any window burns faster than its
   * limit with at least `minEvents` events (default: the SLO's alerting.minEvents),
   * inconclusive when no window can decide, pass when all windows pass.
   */
  burnRateVerdict(
    sloName: string,
    model: string,
    version: string,
    windows: ReadonlyArray<{ windowMs: number; maxBurnRate: number }>,
    minEvents?: number,
  ): { verdict: Verdict; readings: BurnRateReading[] } {
    const rt = this.#tracked(sloName);
    const min = minEvents ?? rt.slo.alerting.minEvents;
    const readings = windows.map((w) => this.burnRate(sloName, model, version, w.windowMs));
    const verdicts = readings.map((r, i) => burnVerdict(r.bad, r.total, rt.slo.objective, windows[i]!.maxBurnRate, min));
    const verdict: Verdict = verdicts.includes('fail') ? 'fail' : verdicts.length > 0 && verdicts.every((v) => v === 'pass') ? 'pass' : 'inconclusive';
    return { verdict, readings };
  }

  /** The configured SLOs. */
  get slos(): readonly Slo[] {
    return [...this.#byName.values()].map((rt) => rt.slo);
  }

  /** Names of the configured SLOs. */
  get sloNames(): string[] {
    return [...this.#byName.keys()];
  }

  #tracked(name: string): TrackedSlo {
    const rt = this.#byName.get(name);
    if (!rt) throw SloErrors.SLO_ERR_UNKNOWN_SLO(`no SLO named "${name}"; known: ${[...this.#byName.keys()].join(', ') || '(none)'}`);
    return rt;
  }

  #evaluateSeries(rt: TrackedSlo, s: Series, now: number, transitions: AlertTransition[]): SloStatus {
    const { slo, layout } = rt;
    const bads: number[] = [];
    const totals: number[] = [];
    s.fine.sums(now, layout.windowBuckets, bads, totals);
    const windows: WindowCounts[] = layout.windowsMs.map((windowMs, i) => ({ windowMs, bad: bads[i] ?? 0, total: totals[i] ?? 0 }));
    const pb = [0];
    const pt = [0];
    s.period.sums(now, [layout.periodSize], pb, pt);
    // The counts come from this engine's rings; everything after them (ratios, burn rates,
    // budget, alert pairs, transitions, verdict) is the one pure function the fleet's
    // Prometheus source uses too (slo/fleet-status.ts).
    const evaluation = statusFromCounts(slo, s.version, { ok: true, counts: { windows, period: { bad: pb[0]!, total: pt[0]! } } }, s.alerts, now);
    transitions.push(...evaluation.transitions);
    return evaluation.status;
  }
}

