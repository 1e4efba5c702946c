// Builders for SLO tests: internal-model SLOs and synthetic traffic replayed minute by minute.
import type { RequestOutcome } from '../../common/index.ts';
import type { Slo } from '../../slo/definitions.ts';
import { INFERENCE_APIS } from '../../slo/definitions.ts';
import { defaultWindows } from '../../slo/windows.ts';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function availabilitySlo(overrides: Partial<Slo> = {}): Slo {
  const periodMs = overrides.periodMs ?? 30 * DAY;
  return {
    name: 'fraud-availability',
    model: 'fraud',
    apis: INFERENCE_APIS,
    sli: { kind: 'availability', badCodes: ['5..', 'UNAVAILABLE', 'INTERNAL'] },
    objective: 0.999,
    periodMs,
    alerting: { windows: defaultWindows(periodMs), minEvents: 10, labels: {} },
    notify: [],
    ...overrides,
  };
}

export function outcome(endMs: number, code = '200', overrides: Partial<RequestOutcome> = {}): RequestOutcome {
  return {
    model: 'fraud',
    version: '2',
    api: 'predict',
    protocol: 'rest',
    variant: 'stable',
    httpStatus: Number(code) || undefined,
    code,
    durationSeconds: 0.01,
    endMs,
    ...overrides,
  };
}

/** Traffic for one minute: how many requests and how many of them fail. */
export interface MinuteTraffic {
  total: number;
  bad: number;
}

/**
 * Spreads each minute's requests over ((m-1) min, m min] — what a counter scraped at the end of
 * minute m has counted — calling `sink` for each; the bad ones first.
 */
export function* minuteEvents(startMs: number, minutes: readonly MinuteTraffic[]): Generator<{ minute: number; endMs: number; bad: boolean }> {
  for (let m = 0; m < minutes.length; m++) {
    const { total, bad } = minutes[m]!;
    const end = startMs + (m + 1) * MINUTE;
    for (let i = 0; i < total; i++) {
      yield { minute: m + 1, endMs: end - MINUTE + Math.floor(((i + 1) * MINUTE) / (total + 1)) + 1, bad: i < bad };
    }
  }
}

/** `n` minutes of the same traffic. */
export const repeat = (n: number, t: MinuteTraffic): MinuteTraffic[] => Array.from({ length: n }, () => t);
