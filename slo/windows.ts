// Default multiwindow, multi-burn-rate alert table, as data.
//
// Source: Google SRE Workbook, "Alerting on SLOs", table "Recommended parameters for an
// SLO based alerting" (https://sre.google/workbook/alerting-on-slos/#recommended_parameters_for_an_slo_based_a),
// the same table Sloth ships as internal/alert/windows/google-30d.yaml. The factor is
// budget-consumed × period / long window, e.g. 2% × 720h / 1h = 14.4; the short window is
// 1/12 of the long one and only makes the alert reset quickly after recovery.
import type { AlertWindow, Severity } from './definitions.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The period the workbook table is written for. */
export const WORKBOOK_PERIOD_MS = 30 * DAY;

export interface WorkbookRow {
  severity: Severity;
  longMs: number;
  shortMs: number;
  factor: number;
  /** Share of the period's error budget spent when this row starts firing. */
  budgetConsumed: number;
}

export const WORKBOOK_WINDOWS: readonly WorkbookRow[] = [
  { severity: 'page', longMs: 1 * HOUR, shortMs: 5 * MINUTE, factor: 14.4, budgetConsumed: 0.02 }, // 2% of the budget in 1h
  { severity: 'page', longMs: 6 * HOUR, shortMs: 30 * MINUTE, factor: 6, budgetConsumed: 0.05 }, // 5% in 6h
  { severity: 'ticket', longMs: 1 * DAY, shortMs: 2 * HOUR, factor: 3, budgetConsumed: 0.1 }, // 10% in 1d
  { severity: 'ticket', longMs: 3 * DAY, shortMs: 6 * HOUR, factor: 1, budgetConsumed: 0.1 }, // 10% in 3d
];

/**
 * The workbook windows scaled to a period: every window keeps its share of the period, so
 * the factors (budget share × period / window) are unchanged. A 1-hour demo period gets a
 * 5 s / 417 ms page pair. Windows are whole milliseconds.
 */
export function defaultWindows(periodMs: number): AlertWindow[] {
  const scale = periodMs / WORKBOOK_PERIOD_MS;
  return WORKBOOK_WINDOWS.map((r) => ({
    severity: r.severity,
    longMs: Math.max(1, Math.round(r.longMs * scale)),
    shortMs: Math.max(1, Math.round(r.shortMs * scale)),
    factor: r.factor,
  }));
}

/** Every distinct window length used by a set of alert windows, ascending. */
export function distinctWindows(windows: readonly AlertWindow[]): number[] {
  const set = new Set<number>();
  for (const w of windows) {
    set.add(w.longMs);
    set.add(w.shortMs);
  }
  return [...set].sort((a, b) => a - b);
}
