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
//   leader:
//     mode: lease                 # a coordination.k8s.io/v1 Lease (app/k8s-lease.ts)
//     lease:
//       kubernetes: { name: modelgate-leader }   # namespace: the pod's
//       ttl: 15s                  # client-go's leaseDuration
//       renewDeadline: 10s        # the holder stops acting when it could not renew for this long
//       retryPeriod: 2s           # how often to renew or try to acquire
//
// The identity is `identity:` when given, else $HOSTNAME (the pod name in Kubernetes),
// else host name and PID (replicaIdentity below).
import { hostname } from 'node:os';
import { checkKeys, formatDuration, isRecord, join, readDuration, readString, type Issues } from '../common/index.ts';
import { DEFAULT_LEASE_TTL_MS } from './leader.ts';

export interface KubernetesLeaseConfig {
  readonly name: string;
  /** Default: the pod's namespace (from its service account). */
  readonly namespace: string | undefined;
}

export type LeaderConfig =
  | { readonly mode: 'single'; readonly controller: string | undefined; readonly identity: string | undefined }
  | {
      readonly mode: 'lease';
      /** Exactly one of file and kubernetes is set. */
      readonly file: string | undefined;
      readonly kubernetes: KubernetesLeaseConfig | undefined;
      /** Lease duration: how long a record that stops changing keeps others out. */
      readonly ttlMs: number;
      /** The holder stops acting when its last successful renewal is this old. */
      readonly renewDeadlineMs: number;
      /** How often candidates and the holder try. */
      readonly retryPeriodMs: number;
      readonly identity: string | undefined;
    };

const KEYS = ['mode', 'controller', 'lease', 'identity'];
const LEASE_KEYS = ['file', 'kubernetes', 'ttl', 'renewDeadline', 'retryPeriod'];
const KUBERNETES_KEYS = ['name', 'namespace'];
/** Kubernetes object names: a DNS-1123 subdomain. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
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
    issues.error(lp, 'is required with mode: lease: { kubernetes: { name: modelgate-leader } } in Kubernetes, or { file: /path/on/a/shared/volume.lease, ttl: 15s }');
    return DEFAULT_LEADER;
  }
  checkKeys(lease, LEASE_KEYS, lp, issues);
  const file = readString(lease, 'file', lp, issues);
  let kubernetes: KubernetesLeaseConfig | undefined;
  const kp = join(lp, 'kubernetes');
  if (lease['kubernetes'] !== undefined) {
    const k = lease['kubernetes'];
    if (!isRecord(k)) issues.error(kp, 'must be a mapping: { name: modelgate-leader } (namespace defaults to the pod\'s)');
    else {
      checkKeys(k, KUBERNETES_KEYS, kp, issues);
      const name = readString(k, 'name', kp, issues, { default: 'modelgate-leader' });
      const namespace = readString(k, 'namespace', kp, issues);
      if (!K8S_NAME.test(name)) issues.error(join(kp, 'name'), `must be a Kubernetes object name (lower-case letters, digits, "-" and "."), got ${JSON.stringify(name)}`);
      if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) issues.error(join(kp, 'namespace'), `must be a Kubernetes namespace name, got ${JSON.stringify(namespace)}`);
      kubernetes = Object.freeze({ name, namespace });
    }
  }
  if (file !== undefined && lease['kubernetes'] !== undefined) issues.error(lp, 'give either file (a shared volume) or kubernetes (a Lease object), not both');
  if (file === undefined && lease['kubernetes'] === undefined) issues.error(lp, 'needs a backend: kubernetes: { name: modelgate-leader } in Kubernetes, or file: /path/on/a/shared/volume.lease');
  const ttlMs = readDuration(lease, 'ttl', lp, issues, { default: DEFAULT_LEASE_TTL_MS });
  if (ttlMs < MIN_TTL_MS) issues.error(join(lp, 'ttl'), `must be at least ${formatDuration(MIN_TTL_MS)} (the holder renews every third of it), got ${formatDuration(ttlMs)}`);
  // client-go's defaults are 15 s / 10 s / 2 s: the deadline two thirds of the duration.
  const renewDeadlineMs = readDuration(lease, 'renewDeadline', lp, issues, { default: Math.floor((ttlMs * 2) / 3) });
  const retryDefault = kubernetes ? Math.floor((ttlMs * 2) / 15) : Math.floor(ttlMs / 3);
  const retryPeriodMs = readDuration(lease, 'retryPeriod', lp, issues, { default: retryDefault });
  if (renewDeadlineMs >= ttlMs) issues.error(join(lp, 'renewDeadline'), `must be shorter than ttl (${formatDuration(ttlMs)}): the holder must stop acting before anyone else may take the lease; client-go uses 10s with 15s`);
  else if (retryPeriodMs >= renewDeadlineMs) issues.error(join(lp, 'retryPeriod'), `must be shorter than renewDeadline (${formatDuration(renewDeadlineMs)}), or the holder steps down between two renewals; client-go uses 2s with 10s`);
  if (!issues.ok || (file === undefined && kubernetes === undefined)) return DEFAULT_LEADER;
  return Object.freeze({ mode: 'lease', file, kubernetes, ttlMs, renewDeadlineMs, retryPeriodMs, identity });
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
