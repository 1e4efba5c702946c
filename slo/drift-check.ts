// Checks that a drift SLI can work with the drift: section it depends on. Run once at load
// time as a cross-section check (config/sections.ts CROSS_CHECKS); the section is read
// through the few fields used here, so slo/ does not import drift/.
import { Issues, formatDuration } from '../common/index.ts';
import { distinctWindows } from './windows.ts';
import type { Slo } from './definitions.ts';

/** The part of the validated drift: section (drift/config.ts DriftConfig) these checks read. */
export interface DriftSectionView {
  enabled: boolean;
  /** Evaluation window, ms: one drift SLI event per window per model version. */
  window: number;
  models: ReadonlyArray<{ model: string }>;
}

/**
 * - a drift SLO for a model the drift: section does not watch never sees an event (error);
 * - an alert window must always hold `minEvents` closed drift windows. Window ends are
 *   multiples of drift.window d, so a span of W holds at most ceil(W / d) of them, and at
 *   least floor(W / d) − 1 (one fewer while the newest has ended but the tick that closes
 *   it has not run). ceil(W / d) < minEvents: the pair can never fire; floor(W / d) − 1 <
 *   minEvents: it drops to inconclusive part of the time and its alert resolves and fires
 *   again every few windows. Both are warnings: the other pairs still work.
 */
export function checkDriftSlis(slos: readonly Slo[], drift: DriftSectionView | undefined, issues: Issues): void {
  slos.forEach((slo, i) => {
    if (slo.sli.kind !== 'drift') return;
    const path = `slos[${i}]`;
    if (!drift || !drift.models.some((m) => m.model === slo.model)) {
      issues.error(`${path}.sli.drift`, `the drift: section does not watch model "${slo.model}", so this SLO would never see a window; add it under drift.models`);
      return;
    }
    if (!drift.enabled) issues.warn(`${path}.sli.drift`, 'drift.enabled is false: this SLO sees no windows and stays inconclusive');
    const min = Math.max(1, slo.alerting.minEvents);
    const windows = distinctWindows(slo.alerting.windows);
    const d = drift.window;
    const never = windows.filter((w) => Math.ceil(w / d) < min);
    const flaps = windows.filter((w) => Math.ceil(w / d) >= min && Math.floor(w / d) - 1 < min);
    const at = `${path}.alerting.windows`;
    const need = formatDuration((min + 1) * drift.window);
    if (never.length > 0) {
      issues.warn(at, `${never.map(formatDuration).join(', ')} are too short to hold minEvents (${min}) drift windows of ${formatDuration(drift.window)}, so their alerts can never fire; make every window at least ${need}`);
    }
    if (flaps.length > 0) {
      issues.warn(at, `${flaps.map(formatDuration).join(', ')} hold fewer than minEvents (${min}) closed drift windows of ${formatDuration(drift.window)} part of the time, so their alerts resolve and fire again every few windows; make every window at least ${need}`);
    }
  });
}
