// JSON views of a rollout for the admin API, the CLI and the verdict endpoint. Pure.
import type { Analysis, RolloutSpec, RolloutState } from './types.ts';
import { stepWeights } from './types.ts';
import type { BlockedState, HistoryEntry, ModelRecord } from './state-schema.ts';

export interface RolloutView {
  model: string;
  phase: RolloutState['phase'];
  canary: string | null;
  stable: string | null;
  step: number;
  steps: readonly number[];
  weight: number;
  failedChecks: number;
  failureThreshold: number;
  pausedBy: RolloutState['pausedBy'];
  reason: string;
  startedAt: string | null;
  lastCheckAt: string | null;
  updatedAt: string;
  interval: number;
  rolledBack: string[];
  lastAnalysis: Analysis | null;
  history: HistoryEntry[];
  /** Set while the persisted state was invalid: nothing is done until `modelgate rollout reset MODEL`. */
  blocked?: Omit<BlockedState, 'atMs'> & { at: string };
}

export interface VerdictView {
  model: string;
  /** pass / fail / inconclusive, for an Argo Rollouts web metric or a Flagger webhook gate. */
  verdict: 'pass' | 'fail' | 'inconclusive';
  phase: RolloutState['phase'];
  canary: string | null;
  stable: string | null;
  weight: number;
  reason: string;
  analysis: Analysis | null;
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function viewOf(spec: RolloutSpec, record: ModelRecord): RolloutView {
  const s = record.state;
  return {
    model: s.model,
    phase: s.phase,
    canary: s.canary,
    stable: s.stable,
    step: s.step,
    steps: stepWeights(spec),
    weight: s.weight,
    failedChecks: s.failedChecks,
    failureThreshold: spec.failureThreshold,
    pausedBy: s.pausedBy,
    reason: s.reason,
    startedAt: iso(s.startedAtMs),
    lastCheckAt: iso(s.lastCheckAtMs),
    updatedAt: iso(s.updatedAtMs)!,
    interval: spec.intervalMs,
    rolledBack: s.rolledBack,
    lastAnalysis: s.lastAnalysis,
    history: record.history,
    ...(record.blocked ? { blocked: { reason: record.blocked.reason, file: record.blocked.file, at: iso(record.blocked.atMs)! } } : {}),
  };
}

/**
 * The verdict an external controller polls: a finished rollout answers for itself (rolled
 * back or failed: fail; promoted: pass); a running one with its last analysis.
 */
export function verdictOf(s: RolloutState): VerdictView {
  const verdict =
    s.phase === 'RolledBack' || s.phase === 'Failed' ? 'fail'
    : s.phase === 'Succeeded' ? 'pass'
    : s.lastAnalysis?.verdict ?? 'inconclusive';
  return { model: s.model, verdict, phase: s.phase, canary: s.canary, stable: s.stable, weight: s.weight, reason: s.reason, analysis: s.lastAnalysis };
}

/** A finished rollout as kept in the history. */
export function historyOf(s: RolloutState): HistoryEntry {
  return { canary: s.canary, stable: s.stable, phase: s.phase, reason: s.reason, startedAt: iso(s.startedAtMs), endedAt: iso(s.updatedAtMs)! };
}
