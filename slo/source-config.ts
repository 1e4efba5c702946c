// The `sloSource:` section of modelgate.yaml: where the SLO verdicts (and the rollout's
// burn-rate readings) come from. Absent or `local`: this process's own windows (one proxy).
// `prometheus`: the fleet's counters through the Prometheus HTTP API (several replicas).
//
//   sloSource:
//     prometheus:
//       url: http://prometheus.monitoring:9090
//       timeout: 5s       # a slower query makes the tick inconclusive
//       align: 1s         # evaluation instants are multiples of this (replicas agree exactly)
//       offset: 0s        # evaluate this far in the past (let the last scrape land)
//       maxAge: 15s       # older readings are not given to the rollout analysis
import { checkKeys, formatDuration, isRecord, join, readDuration, readString, type Issues } from '../common/index.ts';
import { DEFAULT_ALIGN_MS, DEFAULT_MAX_READING_AGE_MS, DEFAULT_PROMETHEUS_TIMEOUT_MS } from './prometheus-source.ts';

export type SloSourceConfig =
  | { readonly kind: 'local' }
  | {
      readonly kind: 'prometheus';
      readonly url: string;
      readonly timeoutMs: number;
      readonly alignMs: number;
      readonly offsetMs: number;
      readonly maxAgeMs: number;
    };

const KINDS = ['local', 'prometheus'];
const PROMETHEUS_KEYS = ['url', 'timeout', 'align', 'offset', 'maxAge'];
/** Prometheus' own default scrape interval; an offset beyond a few of them only adds lag. */
const LARGE_OFFSET_MS = 60_000;

export function validateSloSource(raw: unknown, path: string, issues: Issues): SloSourceConfig {
  const local = { kind: 'local' } as const;
  if (raw === undefined || raw === null || raw === 'local') return local;
  if (raw === 'prometheus') {
    issues.error(path, 'the prometheus source needs its URL: write "sloSource: { prometheus: { url: http://prometheus:9090 } }"');
    return local;
  }
  if (!isRecord(raw)) {
    issues.error(path, `must be "local" or a mapping with one key, prometheus; got ${JSON.stringify(raw)}`);
    return local;
  }
  checkKeys(raw, KINDS, path, issues);
  if (raw['local'] !== undefined && raw['prometheus'] !== undefined) {
    issues.error(path, 'choose one source: local or prometheus, not both');
    return local;
  }
  if (raw['local'] !== undefined) return local;
  const p = raw['prometheus'];
  const pp = join(path, 'prometheus');
  if (!isRecord(p)) {
    if (raw['prometheus'] !== undefined || Object.keys(raw).length === 0) issues.error(pp, 'must be a mapping with at least url: (e.g. url: http://prometheus:9090)');
    return local;
  }
  checkKeys(p, PROMETHEUS_KEYS, pp, issues);
  const url = readString(p, 'url', pp, issues, { required: true });
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // reported below
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      issues.error(join(pp, 'url'), `must be an http:// or https:// URL such as http://prometheus:9090, got ${JSON.stringify(url)}`);
    } else if (/\/api\/v1\/?/.test(parsed.pathname)) {
      issues.error(join(pp, 'url'), `give the base URL only; modelgate adds /api/v1/query itself (try ${parsed.origin}${parsed.pathname.replace(/\/api\/v1.*$/, '')})`);
    }
  }
  const timeoutMs = readDuration(p, 'timeout', pp, issues, { default: DEFAULT_PROMETHEUS_TIMEOUT_MS });
  const alignMs = readDuration(p, 'align', pp, issues, { default: DEFAULT_ALIGN_MS });
  const offsetMs = readDuration(p, 'offset', pp, issues, { default: 0, allowZero: true });
  if (offsetMs > LARGE_OFFSET_MS) issues.warn(join(pp, 'offset'), `an offset of ${formatDuration(offsetMs)} delays every verdict by as much; one or two scrape intervals are enough`);
  const maxAgeMs = readDuration(p, 'maxAge', pp, issues, { default: DEFAULT_MAX_READING_AGE_MS });
  if (url === undefined) return local;
  return Object.freeze({ kind: 'prometheus', url, timeoutMs, alignMs, offsetMs, maxAgeMs });
}
