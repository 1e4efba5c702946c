// SloStatus from good/total counts, wherever they came from: the in-process engine's rings
// (slo/engine.ts) or the fleet's Prometheus (slo/prometheus-source.ts). One function, so the
// two evaluators cannot disagree: slo/burn.ts for ratios, burn rates, pair states and
// budget, then the verdict rule (fail when an alert fires, inconclusive when the shortest
// long window has fewer than minEvents events, else pass).
//
// Pure: no I/O, no clock. Alert firing state lives in an `AlertMemory` the caller keeps
// between evaluations (the engine keeps the same two fields per series).
import { formatDuration } from '../common/index.ts';
import { SEVERITIES, type Severity, type Slo } from './definitions.ts';
import { budgetRemaining, burnRate, errorRatio, pairState, type WindowCounts } from './burn.ts';
import type { AlertStatus, AlertTransition, PairReading, SloStatus, Verdict, WindowReading } from './status.ts';
import { distinctWindows } from './windows.ts';

/** Counts of one series: every distinct alert window of the SLO, and the period. */
export interface SeriesCounts {
  windows: ReadonlyArray<WindowCounts>;
  period: { bad: number; total: number };
}

/** What a source could read for one series: counts, or why it could not. */
export type SeriesReading = { ok: true; counts: SeriesCounts } | { ok: false; reason: string };

export type AlertMemory = Record<Severity, { firing: boolean; since: number | null }>;

export function newAlertMemory(): AlertMemory {
  return { page: { firing: false, since: null }, ticket: { firing: false, since: null } };
}

export interface FleetEvaluation {
  status: SloStatus;
  transitions: AlertTransition[];
}

/**
 * The status of one SLO × version at `now`. When the reading failed (source down, query
 * error, NaN), the verdict is inconclusive with the reason and the alerts keep their last
 * state without a transition: a blind evaluator neither pages nor resolves.
 */
export function fleetStatus(slo: Slo, version: string, reading: SeriesReading, memory: AlertMemory, now: number): FleetEvaluation {
  const windowsMs = distinctWindows(slo.alerting.windows);
  const base = { slo: slo.name, model: slo.model, version, sli: slo.sli.kind, objective: slo.objective, periodMs: slo.periodMs, evaluatedAt: now };
  if (!reading.ok) {
    const windows: WindowReading[] = windowsMs.map((windowMs) => ({ windowMs, window: formatDuration(windowMs), bad: 0, total: 0, errorRatio: null, burnRate: null }));
    const alerts = {} as Record<Severity, AlertStatus>;
    for (const severity of SEVERITIES) {
      const pairs: PairReading[] = slo.alerting.windows
        .filter((w) => w.severity === severity)
        .map((w) => ({ longMs: w.longMs, shortMs: w.shortMs, factor: w.factor, state: 'inconclusive' }));
      alerts[severity] = { severity, firing: memory[severity].firing, since: memory[severity].since, pairs };
    }
    return {
      status: { ...base, windows, budget: { bad: 0, total: 0, errorRatio: null, remaining: null }, alerts, verdict: 'inconclusive', reason: reading.reason },
      transitions: [],
    };
  }

  const counts = new Map<number, WindowCounts>();
  for (const c of reading.counts.windows) counts.set(c.windowMs, c);
  const windows: WindowReading[] = windowsMs.map((windowMs) => {
    const c = counts.get(windowMs) ?? { windowMs, bad: 0, total: 0 };
    counts.set(windowMs, c);
    const ratio = errorRatio(c.bad, c.total);
    return { windowMs, window: formatDuration(windowMs), bad: c.bad, total: c.total, errorRatio: ratio, burnRate: burnRate(ratio, slo.objective) };
  });
  const p = reading.counts.period;
  const budget = { bad: p.bad, total: p.total, errorRatio: errorRatio(p.bad, p.total), remaining: budgetRemaining(p.bad, p.total, slo.objective) };

  const transitions: AlertTransition[] = [];
  const alerts = {} as Record<Severity, AlertStatus>;
  for (const severity of SEVERITIES) {
    const pairs: PairReading[] = slo.alerting.windows
      .filter((w) => w.severity === severity)
      .map((w) => ({
        longMs: w.longMs,
        shortMs: w.shortMs,
        factor: w.factor,
        state: pairState(counts.get(w.longMs)!, counts.get(w.shortMs)!, w.factor, slo.objective, slo.alerting.minEvents),
      }));
    const firing = pairs.some((pr) => pr.state === 'burning');
    const st = memory[severity];
    if (firing && !st.firing) {
      st.firing = true;
      st.since = now;
      transitions.push(transition('firing', slo, version, severity, now, undefined, windows));
    } else if (!firing && st.firing) {
      transitions.push(transition('resolved', slo, version, severity, st.since ?? now, now, windows));
      st.firing = false;
      st.since = null;
    }
    alerts[severity] = { severity, firing: st.firing, since: st.since, pairs };
  }
  const { verdict, reason } = verdictOf(slo, alerts, counts);
  return { status: { ...base, windows, budget, alerts, verdict, reason }, transitions };
}

/** fail: an alert fires. inconclusive: too few events in the shortest long window (no data is never "healthy"). pass: otherwise. */
function verdictOf(slo: Slo, alerts: Record<Severity, AlertStatus>, counts: Map<number, WindowCounts>): { verdict: Verdict; reason: string } {
  const firing = SEVERITIES.filter((sev) => alerts[sev].firing);
  if (firing.length > 0) return { verdict: 'fail', reason: `burn-rate alert firing: ${firing.join(', ')}` };
  if (slo.alerting.windows.length === 0) return { verdict: 'pass', reason: 'no burn-rate alerts configured (alerting.windows: [])' };
  const evidenceMs = Math.min(...slo.alerting.windows.map((w) => w.longMs));
  const total = counts.get(evidenceMs)?.total ?? 0;
  if (total < slo.alerting.minEvents) {
    return { verdict: 'inconclusive', reason: `${total} events in the last ${formatDuration(evidenceMs)}, fewer than minEvents ${slo.alerting.minEvents}` };
  }
  return { verdict: 'pass', reason: 'no burn-rate alert firing' };
}

function transition(status: 'firing' | 'resolved', slo: Slo, version: string, severity: Severity, startsAt: number, endsAt: number | undefined, windows: WindowReading[]): AlertTransition {
  const burnRates: Record<string, number | null> = {};
  for (const w of windows) burnRates[w.window] = w.burnRate;
  return { status, slo, model: slo.model, version, severity, startsAt, ...(endsAt === undefined ? {} : { endsAt }), burnRates };
}

/** Hands transitions to a listener; a failing listener must not stop the tick (the notifier counts its own failures). */
export function deliverTransitions(listener: ((t: AlertTransition) => void) | undefined, transitions: readonly AlertTransition[]): void {
  if (!listener) return;
  for (const t of transitions) {
    try {
      listener(t);
    } catch {
      // Swallowed on purpose: see above.
    }
  }
}
