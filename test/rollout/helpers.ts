// Shared builders for rollout tests: a spec with small numbers, and analyses with one verdict.
import type { Analysis, AnalysisSpec, CheckVerdict, RolloutSpec } from '../../rollout/index.ts';

export const ANALYSIS: AnalysisSpec = {
  slo: { enabled: true, maxBurnRate: 14.4, windowMs: undefined, minEvents: 10 },
  errors: { enabled: true, maxIncrease: 0.01 },
  latency: { enabled: true, maxP99Ratio: 2, alpha: 0.02, tolerance: 0.25, minDeltaSeconds: 0.001, minSamples: 20 },
  drift: { enabled: false },
  accuracy: { enabled: false, minLabels: 200, alpha: 0.05, maxDecrease: 0 },
};

export function spec(overrides: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    model: 'fraud',
    canary: { kind: 'newest' },
    weights: [5, 25, 50, 100],
    intervalMs: 60_000,
    minRequests: 20,
    failureThreshold: 2,
    analysis: ANALYSIS,
    webhooks: [],
    ...overrides,
  };
}

export function analysis(verdict: CheckVerdict, atMs = 0, reason = `made ${verdict}`): Analysis {
  return { verdict, atMs, windowMs: 60_000, checks: [{ name: 'test', verdict, reason, values: {} }], notes: [] };
}
