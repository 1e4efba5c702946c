// Turns one RequestOutcome into "bad or not" for an SLI, the same way the generated
// Prometheus rules do (slo/rules.ts): availability matches the `code` label text against the
// bad-code alternatives, latency compares with the histogram bucket boundary (`le` is
// "less than or equal", prom-client lib/histogram.js).
import type { RequestOutcome } from '../common/index.ts';
import type { RequestSli } from './definitions.ts';

/** Returns true when the request spends error budget. */
export type BadClassifier = (outcome: RequestOutcome) => boolean;

/** Codes are few (HTTP statuses, 17 gRPC names); past this the cache stops growing. */
const MAX_CACHED_CODES = 512;

export function badCodePattern(badCodes: readonly string[]): string {
  return badCodes.join('|');
}

/** Request SLIs only: the drift SLI's events arrive judged (SloEngine.recordWindow). */
export function classifierFor(sli: RequestSli): BadClassifier {
  if (sli.kind === 'latency') {
    const threshold = sli.thresholdSeconds;
    return (o) => !(o.durationSeconds <= threshold);
  }
  // Anchored like a Prometheus `=~` matcher (RE2 full match).
  const re = new RegExp(`^(?:${badCodePattern(sli.badCodes)})$`);
  const cache = new Map<string, boolean>();
  return (o) => {
    const hit = cache.get(o.code);
    if (hit !== undefined) return hit;
    const bad = re.test(o.code);
    if (cache.size < MAX_CACHED_CODES) cache.set(o.code, bad);
    return bad;
  };
}
