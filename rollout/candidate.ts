// Which canary/stable pair a Pending or finished rollout looks at. Pure: the controller
// passes in the split's stable version and the AVAILABLE versions it read.
import type { RolloutSpec, RolloutState } from './types.ts';

/** Numeric order for numeric versions (TF Serving versions are int64), text order otherwise. */
export function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * - stable: the proxy split's stable version; else (after a promotion) the promoted one;
 *   else the spec's `stable`; else the highest available version below the canary.
 * - canary: the spec's fixed version (if available, when availability is known), or with
 *   `newest` the highest available version above stable.
 * Null when there is no such pair (nothing to roll out yet, or versions unknown).
 */
export function resolveCandidate(
  spec: RolloutSpec,
  state: RolloutState,
  splitStable: string | undefined,
  availableVersions: readonly string[] | undefined,
): { canary: string; stable: string } | null {
  const available = availableVersions ? [...availableVersions].sort(compareVersions) : undefined;
  let stable = splitStable ?? (state.phase === 'Succeeded' ? state.stable ?? undefined : undefined) ?? spec.stable;
  let canary: string | undefined;
  if (spec.canary.kind === 'version') {
    canary = spec.canary.version;
    if (available && !available.includes(canary)) return null;
  } else {
    if (!available) return null;
    canary = available.filter((v) => stable === undefined || compareVersions(v, stable) > 0).at(-1);
  }
  if (canary === undefined) return null;
  if (stable === undefined && available) stable = available.filter((v) => compareVersions(v, canary!) < 0).at(-1);
  if (stable === undefined) return null;
  return { canary, stable };
}
