// Threshold lines drawn on panels, taken from the areas that own the numbers so that a
// change to a default moves the line too.
import { WORKBOOK_WINDOWS, DEFAULT_BAD_CODES } from '../slo/index.ts';
import { DRIFT_DEFAULTS } from '../drift/index.ts';
import type { Threshold } from './grafana-json.ts';

/**
 * Burn-rate factors of the default multiwindow table (SRE workbook, via slo/windows.ts),
 * highest first: a burn rate above 14.4 pages within the 1h/5m pair, above 1 the budget
 * runs out before the period ends.
 */
export const BURN_RATE_FACTORS: readonly number[] = [...new Set(WORKBOOK_WINDOWS.map((w) => w.factor))].sort((a, b) => b - a);

/**
 * The SLO default bad codes (slo/config.ts) as one RE2 alternative for the `code` label:
 * "5xx" → "5..", gRPC code names as they are. Used for the "error rate" panels, which
 * show what the default availability SLI counts as bad.
 */
export const DEFAULT_BAD_CODES_REGEX = DEFAULT_BAD_CODES.map((c) => c.replace(/^([1-5])xx$/i, '$1..')).join('|');

/** Drift thresholds (drift/config.ts defaults): distances above, p-values below, mean drift. */
export const DRIFT_THRESHOLDS = {
  psi: DRIFT_DEFAULTS.thresholds.psi,
  js: DRIFT_DEFAULTS.thresholds.js,
  pValue: DRIFT_DEFAULTS.thresholds.pValue,
} as const;

/** Threshold colours for a burn-rate panel: blue above 1, yellow 3, orange 6, red 14.4. */
export function burnRateSteps(): Threshold[] {
  const colours = ['red', 'orange', 'yellow', 'blue'];
  return [{ value: null, color: 'green' }, ...[...BURN_RATE_FACTORS].reverse().map((f, i, all) => ({ value: f, color: colours[all.length - 1 - i] ?? 'red' }))];
}
