// SLO gauges for /metrics, read from the engine's last evaluation at scrape time (a scrape
// never evaluates, so it cannot fire alerts or cost more than a copy). The registry is
// passed in: nothing global (prom-client's default registry forces tests to clear it).
// Series without data are left out rather than exported as NaN (NaN in dashboards and
// burn-rate panels is what slok/sloth#531 and #657 complain about); the verdict and
// /api/v1/slos say "inconclusive" explicitly.
import { Gauge, type Registry } from 'prom-client';
import { LABEL, SLO_METRIC } from '../common/index.ts';
import type { SloEngine } from './engine.ts';
import type { Slo } from './definitions.ts';

export interface SloMetrics {
  burnRate: Gauge<string>;
  budgetRemaining: Gauge<string>;
  alert: Gauge<string>;
  objective: Gauge<string>;
}

export function registerSloMetrics(registry: Registry, engine: Pick<SloEngine, 'latest' | 'slos'>): SloMetrics {
  const burnRate = new Gauge({
    name: SLO_METRIC.burnRate,
    help: 'Error budget burn rate per window at the last SLO evaluation (1 = spending exactly the budget over the period)',
    labelNames: [LABEL.slo, LABEL.model, LABEL.version, LABEL.window],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of engine.latest()) {
        for (const w of s.windows) if (w.burnRate !== null) this.set({ slo: s.slo, model: s.model, version: s.version, window: w.window }, w.burnRate);
      }
    },
  });
  const budgetRemaining = new Gauge({
    name: SLO_METRIC.errorBudgetRemaining,
    help: 'Share of the error budget left over the SLO period (1 untouched, 0 spent, negative overspent)',
    labelNames: [LABEL.slo, LABEL.model, LABEL.version],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of engine.latest()) {
        if (s.budget.remaining !== null) this.set({ slo: s.slo, model: s.model, version: s.version }, s.budget.remaining);
      }
    },
  });
  const alert = new Gauge({
    name: SLO_METRIC.alert,
    help: 'Whether the multiwindow burn-rate alert of this severity fires (1) or not (0)',
    labelNames: [LABEL.slo, LABEL.model, LABEL.version, LABEL.severity],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of engine.latest()) {
        for (const a of Object.values(s.alerts)) this.set({ slo: s.slo, model: s.model, version: s.version, severity: a.severity }, a.firing ? 1 : 0);
      }
    },
  });
  const objective = new Gauge({
    name: SLO_METRIC.objective,
    help: 'The SLO objective as a ratio (0.999 for 99.9%)',
    labelNames: [LABEL.slo],
    registers: [registry],
  });
  for (const slo of engine.slos) objective.set({ slo: slo.name }, slo.objective);
  return { burnRate, budgetRemaining, alert, objective };
}

/**
 * Latency thresholds of the SLOs, in seconds, for the proxy's histogram buckets
 * (`latencyBuckets(sloLatencyThresholds(slos))` in common/conventions.ts), so the rule's
 * `le="<threshold>"` bucket exists and counts what the evaluator counts.
 */
export function sloLatencyThresholds(slos: readonly Slo[]): number[] {
  const set = new Set<number>();
  for (const s of slos) if (s.sli.kind === 'latency') set.add(s.sli.thresholdSeconds);
  return [...set].sort((a, b) => a - b);
}
