// Builds the Leadership a process runs with from its `leader:` section (app/leader-config.ts):
// single controller mode → a fixed answer; lease mode → a LeaderElector on a file lease or
// a Kubernetes Lease (the pod's service account; an error here stops the start, since a
// replica that can never lead is a deployment mistake to fix, not to run with).
import type { Clock } from '../common/index.ts';
import { FileLeaseBackend } from './file-lease.ts';
import { KubernetesLeaseBackend, inClusterApi, type KubeApi } from './k8s-lease.ts';
import { LeaderElector, staticLeadership, type Leadership } from './leader.ts';
import { replicaIdentity, type LeaderConfig } from './leader-config.ts';

export interface LeadershipOptions {
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
  log?: (line: string) => void;
  /** The API server for a Kubernetes Lease; default the pod's (inClusterApi(env)). */
  kubeApi?: KubeApi;
}

export async function startLeadership(config: LeaderConfig, opts: LeadershipOptions): Promise<Leadership> {
  const identity = replicaIdentity(config, opts.env);
  if (config.mode === 'single') {
    // No controller named: the one-proxy default, this process acts.
    const acts = config.controller === undefined || config.controller === identity;
    const l = staticLeadership(acts);
    return { ...l, describe: () => `${l.describe()} (identity ${identity}${config.controller === undefined ? '' : `, controller ${config.controller}`})` };
  }
  const backend = config.kubernetes
    ? new KubernetesLeaseBackend({
        api: opts.kubeApi ?? inClusterApi(opts.env),
        name: config.kubernetes.name,
        ...(config.kubernetes.namespace ? { namespace: config.kubernetes.namespace } : {}),
        // An answer later than this could not keep the lease anyway.
        timeoutMs: Math.max(1_000, config.renewDeadlineMs - config.retryPeriodMs),
      })
    : new FileLeaseBackend(config.file!);
  const elector = new LeaderElector({
    backend,
    identity,
    clock: opts.clock,
    ttlMs: config.ttlMs,
    renewMs: config.retryPeriodMs,
    graceMs: config.ttlMs - config.renewDeadlineMs,
    ...(opts.log ? { log: opts.log } : {}),
  });
  await elector.start();
  return elector;
}
