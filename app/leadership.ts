// Builds the Leadership a process runs with from its `leader:` section (app/leader-config.ts):
// single controller mode → a fixed answer; lease mode → a LeaderElector on a file lease.
import type { Clock } from '../common/index.ts';
import { FileLeaseBackend } from './file-lease.ts';
import { LeaderElector, staticLeadership, type Leadership } from './leader.ts';
import { replicaIdentity, type LeaderConfig } from './leader-config.ts';

export interface LeadershipOptions {
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
  log?: (line: string) => void;
}

export async function startLeadership(config: LeaderConfig, opts: LeadershipOptions): Promise<Leadership> {
  const identity = replicaIdentity(config, opts.env);
  if (config.mode === 'single') {
    // No controller named: the one-proxy default, this process acts.
    const acts = config.controller === undefined || config.controller === identity;
    const l = staticLeadership(acts);
    return { ...l, describe: () => `${l.describe()} (identity ${identity}${config.controller === undefined ? '' : `, controller ${config.controller}`})` };
  }
  const elector = new LeaderElector({
    backend: new FileLeaseBackend(config.file),
    identity,
    clock: opts.clock,
    ttlMs: config.ttlMs,
    ...(opts.log ? { log: opts.log } : {}),
  });
  await elector.start();
  return elector;
}
