// The JSON shape of `GET /api/v1/slos` (engine.snapshot()): statuses with ISO times.
import { SEVERITIES, type Severity, type SliKind } from './definitions.ts';
import type { AlertStatus, SloStatus } from './status.ts';

export interface SloSnapshot {
  evaluatedAt: string;
  dropped: number;
  slos: Array<{
    name: string;
    description: string | null;
    model: string;
    version: string;
    sli: SliKind;
    thresholdSeconds?: number;
    objective: number;
    period: string;
    series: SloStatusJson[];
  }>;
}

export type SloStatusJson = Omit<SloStatus, 'evaluatedAt' | 'alerts'> & {
  evaluatedAt: string;
  alerts: Record<Severity, Omit<AlertStatus, 'since'> & { since: string | null }>;
};

export function toJson(s: SloStatus): SloStatusJson {
  const alerts = {} as SloStatusJson['alerts'];
  for (const sev of SEVERITIES) {
    const a = s.alerts[sev];
    alerts[sev] = { ...a, since: a.since === null ? null : new Date(a.since).toISOString() };
  }
  return { ...s, evaluatedAt: new Date(s.evaluatedAt).toISOString(), alerts };
}
