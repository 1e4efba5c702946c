// The `leader:` section of modelgate.yaml: which replica acts on verdicts (rollouts,
// notifications). Replicas share one config file (a ConfigMap), so the choice is made by
// comparing names, not by a per-replica setting:
//
//   leader:                       # absent: single mode without a name, this process acts (one proxy)
//     mode: single                # single controller mode
//     controller: modelgate-0     # only the replica whose identity is this acts (StatefulSet pod 0)
//
//   leader:
//     mode: lease                 # whoever holds the lease acts; fails over after ttl
//     lease: { file: /shared/modelgate-leader.lease, ttl: 15s }
//
// The identity is `identity:` when given, else $HOSTNAME (the pod name in Kubernetes),
// else host name and PID (replicaIdentity below).
import { hostname } from 'node:os';
import { checkKeys, formatDuration, isRecord, join, readDuration, readString, type Issues } from '../common/index.ts';
import { DEFAULT_LEASE_TTL_MS } from './leader.ts';

export type LeaderConfig =
  | { readonly mode: 'single'; readonly controller: string | undefined; readonly identity: string | undefined }
  | { readonly mode: 'lease'; readonly file: string; readonly ttlMs: number; readonly identity: string | undefined };

const KEYS = ['mode', 'controller', 'lease', 'identity'];
const LEASE_KEYS = ['file', 'ttl'];
/** Below this, one slow disk write or GC pause makes the lease change hands for nothing. */
const MIN_TTL_MS = 3_000;

export const DEFAULT_LEADER: LeaderConfig = Object.freeze({ mode: 'single', controller: undefined, identity: undefined });

export function validateLeader(raw: unknown, path: string, issues: Issues): LeaderConfig {
  if (raw === undefined || raw === null) return DEFAULT_LEADER;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping, e.g. { mode: single, controller: modelgate-0 } or { mode: lease, lease: { file: ..., ttl: 15s } }');
    return DEFAULT_LEADER;
  }
  checkKeys(raw, KEYS, path, issues);
  const mode = readString(raw, 'mode', path, issues, { default: 'single' });
  const identity = readString(raw, 'identity', path, issues);
  if (mode === 'single') {
    if (raw['lease'] !== undefined) issues.error(join(path, 'lease'), 'only used with mode: lease; remove it or set mode: lease');
    const controller = readString(raw, 'controller', path, issues);
    return Object.freeze({ mode: 'single', controller, identity });
  }
  if (mode !== 'lease') {
    issues.error(join(path, 'mode'), `must be "single" (one named replica acts) or "lease" (the lease holder acts), got ${JSON.stringify(mode)}`);
    return DEFAULT_LEADER;
  }
  if (raw['controller'] !== undefined) issues.error(join(path, 'controller'), 'only used with mode: single; with a lease the holder acts');
  const lp = join(path, 'lease');
  const lease = raw['lease'];
  if (!isRecord(lease)) {
    issues.error(lp, 'is required with mode: lease: { file: /path/on/a/shared/volume.lease, ttl: 15s }');
    return DEFAULT_LEADER;
  }
  checkKeys(lease, LEASE_KEYS, lp, issues);
  const file = readString(lease, 'file', lp, issues, { required: true });
  const ttlMs = readDuration(lease, 'ttl', lp, issues, { default: DEFAULT_LEASE_TTL_MS }) ?? DEFAULT_LEASE_TTL_MS;
  if (ttlMs < MIN_TTL_MS) issues.error(join(lp, 'ttl'), `must be at least ${formatDuration(MIN_TTL_MS)} (the holder renews every third of it), got ${formatDuration(ttlMs)}`);
  if (file === undefined) return DEFAULT_LEADER;
  return Object.freeze({ mode: 'lease', file, ttlMs, identity });
}

/** This replica's name: the configured identity, $HOSTNAME (the pod name), or host:pid. */
export function replicaIdentity(config: LeaderConfig, env: Readonly<Record<string, string | undefined>>): string {
  return config.identity ?? env['HOSTNAME'] ?? `${hostname()}:${process.pid}`;
}

/**
 * Cross-section check (config/sections.ts CROSS_CHECKS): the Prometheus source is for
 * several replicas, and without a named controller or a lease every replica would act.
 */
export function warnEveryReplicaActs(config: { sloSource: { kind: string }; leader: LeaderConfig }, issues: Issues): void {
  if (config.sloSource.kind !== 'prometheus' || config.leader.mode !== 'single' || config.leader.controller !== undefined) return;
  issues.warn('leader', 'with sloSource: prometheus (several replicas) every replica acts on rollouts and sends notifications; name one (leader: { mode: single, controller: <pod name> }) or use mode: lease');
}
