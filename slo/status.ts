// What an SLO evaluation reports: the status of one SLO × model × version, its window and
// alert readings, and alert transitions. Types only, shared by the local engine (engine.ts),
// the function both sources evaluate with (fleet-status.ts), snapshots and notifications.
import type { Severity, SliKind, Slo } from './definitions.ts';
import type { PairState } from './burn.ts';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface WindowReading {
  windowMs: number;
  /** Prometheus spelling of the window ("5m"), used as the `window` label. */
  window: string;
  bad: number;
  total: number;
  errorRatio: number | null;
  burnRate: number | null;
}

export interface PairReading {
  longMs: number;
  shortMs: number;
  factor: number;
  state: PairState;
}

export interface AlertStatus {
  severity: Severity;
  firing: boolean;
  /** When the current firing started (ms), or null. */
  since: number | null;
  pairs: PairReading[];
}

export interface SloStatus {
  slo: string;
  model: string;
  version: string;
  sli: SliKind;
  objective: number;
  periodMs: number;
  evaluatedAt: number;
  windows: WindowReading[];
  budget: { bad: number; total: number; errorRatio: number | null; remaining: number | null };
  alerts: Record<Severity, AlertStatus>;
  verdict: Verdict;
  reason: string;
}

export interface AlertTransition {
  status: 'firing' | 'resolved';
  slo: Slo;
  model: string;
  version: string;
  severity: Severity;
  /** When the alert started firing (ms). */
  startsAt: number;
  /** When it resolved (ms); only for 'resolved'. */
  endsAt?: number;
  /** Burn rates per window at the transition (null = no data). */
  burnRates: Record<string, number | null>;
}

export interface BurnRateReading {
  slo: string;
  model: string;
  version: string;
  windowMs: number;
  bad: number;
  total: number;
  errorRatio: number | null;
  burnRate: number | null;
}
