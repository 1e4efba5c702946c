// Canary traffic split: which version serves a request that names no version. Pure.
import type { Variant } from '../common/index.ts';
import { Issues, join, isRecord, checkKeys, readString, readNumber } from '../common/index.ts';
import { fnv1a } from '../common/random.ts';

export interface Split {
  /** Version that takes the traffic not sent to the canary. */
  stable: string;
  /** Candidate version; omitted when there is no canary (all traffic to stable). */
  canary?: string;
  /** Percent of unpinned traffic sent to the canary, 0..100. */
  weight: number;
  /** Request header whose value keeps one caller on one variant (e.g. `x-user-id`). */
  stickyHeader?: string;
}

export interface Route {
  /** The version the request is pinned to, or undefined to pass it through untouched. */
  version?: string;
  variant: Variant;
  /**
   * The request named a version or a label of a model that has a split: the client chose
   * the version, not the split (RequestOutcome.pinned).
   */
  pinned: boolean;
}

// Weights are percentages with two decimals of resolution: 10,000 hash buckets.
const BUCKETS = 10_000;

// Sticky routing hashes the key with FNV-1a (common/random.ts).
export { fnv1a };

/**
 * Routes a request of `model` that named `{version?, label?}`.
 * - an explicit version passes untouched (variant `direct`);
 * - a version or label named for a model with a split is `pinned`: the client chose it;
 * - the labels `canary` / `stable` resolve to the split's versions;
 * - nothing named: canary with probability weight%, else stable. With a sticky key the
 *   choice is a hash bucket, so a user keeps one variant while the weight stays, and
 *   raising the weight only moves users stable→canary (bucket < weight is monotone).
 */
export function route(
  model: string,
  split: Split | undefined,
  named: { version?: string | undefined; label?: string | undefined },
  stickyKey: string | undefined,
  random: () => number,
): Route {
  const pinned = split !== undefined;
  if (named.version !== undefined) return { version: named.version, variant: 'direct', pinned };
  if (!split) return { variant: 'direct', pinned: false };
  if (named.label !== undefined) {
    if (named.label === 'canary' && split.canary !== undefined) return { version: split.canary, variant: 'canary', pinned };
    if (named.label === 'stable') return { version: split.stable, variant: 'stable', pinned };
    return { variant: 'direct', pinned };
  }
  if (split.canary === undefined || split.weight <= 0) return { version: split.stable, variant: 'stable', pinned: false };
  const bucket = stickyKey !== undefined ? fnv1a(`${model}\u0000${stickyKey}`) % BUCKETS : Math.floor(random() * BUCKETS);
  return bucket < split.weight * (BUCKETS / 100)
    ? { version: split.canary, variant: 'canary', pinned: false }
    : { version: split.stable, variant: 'stable', pinned: false };
}

const SPLIT_KEYS = ['stable', 'canary', 'weight', 'stickyHeader'] as const;

/** Validates a split from YAML or the admin API body. Versions may be numbers in YAML (`stable: 1`). */
export function readSplit(raw: unknown, path: string, issues: Issues): Split | undefined {
  if (!isRecord(raw)) {
    issues.error(path, 'must be an object like {stable: "1", canary: "2", weight: 10}');
    return undefined;
  }
  checkKeys(raw, SPLIT_KEYS, path, issues);
  const version = (key: 'stable' | 'canary', required: boolean): string | undefined => {
    const v = raw[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
    return readString(raw, key, path, issues, { required });
  };
  const stable = version('stable', true);
  const canary = version('canary', false);
  const weight = readNumber(raw, 'weight', path, issues, { default: 0, min: 0, max: 100 });
  const stickyHeader = readString(raw, 'stickyHeader', path, issues);
  if (weight > 0 && canary === undefined) {
    issues.error(join(path, 'weight'), 'a weight above 0 needs a canary version; set "canary" or weight: 0');
  }
  if (stable !== undefined && canary !== undefined && stable === canary) {
    issues.error(join(path, 'canary'), `is the same version as stable (${stable}); name another version, or drop "canary" to send everything to stable`);
  }
  if (weight > 0 && weight < 1 && Number.isFinite(weight)) {
    issues.warn(join(path, 'weight'), `weight is a percentage (0-100), ${weight} sends ${weight}% of traffic; did you mean ${weight * 100}?`);
  }
  if (stable === undefined) return undefined;
  const split: Split = { stable, weight };
  if (canary !== undefined) split.canary = canary;
  if (stickyHeader !== undefined) split.stickyHeader = stickyHeader.toLowerCase();
  return split;
}
