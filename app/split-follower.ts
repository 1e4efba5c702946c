// Followers apply the leader's traffic split. Each proxy replica splits its own share of
// the traffic, so a weight the leader's rollout controller sets must reach every replica.
// The leader persists its rollout state (rollout/store.ts, `rollouts.json`, replaced
// atomically); replicas that share the state directory (the volume that also holds the
// lease file) read it every few seconds and set the same split on their own proxy.
//
// The rule is the controller's own reconciliation after a restart (rollout/controller.ts
// #reconcile): a Progressing or Paused rollout past its first step splits stable/canary at
// the state's weight; a rolled-back one sends everything to stable. One addition: a
// Succeeded rollout sends everything to the new stable, as the leader's promote does
// (#reconcile never needs it: the leader set that split before committing Succeeded).
// Pending and Promoting leave the split alone.
import { RolloutStore } from '../rollout/index.ts';
import type { RolloutState, SplitActuator, SplitValue } from '../rollout/index.ts';
import type { Leadership } from './leader.ts';

/** The split a follower should have for a persisted state, or undefined to leave it as it is. */
export function followerSplit(s: RolloutState, current: SplitValue | undefined): SplitValue | undefined {
  if (s.stable === null || s.canary === null) return undefined;
  if ((s.phase === 'Progressing' || s.phase === 'Paused') && s.step >= 0) {
    const want = { stable: s.stable, canary: s.canary, weight: s.weight };
    return current && current.stable === want.stable && current.canary === want.canary && current.weight === want.weight ? undefined : want;
  }
  if (s.phase === 'RolledBack') {
    const stale = !current || (current.canary === s.canary && current.weight > 0) || current.stable === s.canary;
    return stale ? { stable: s.stable, weight: 0 } : undefined;
  }
  if (s.phase === 'Succeeded') {
    // Promoted (rollout/decide.ts onPromoted sets stable = canary): all traffic on it.
    return current && current.stable === s.stable && current.weight === 0 ? undefined : { stable: s.stable, weight: 0 };
  }
  return undefined;
}

/** Default follow interval: a rollout step lasts minutes; a few seconds of lag is noise. */
export const DEFAULT_FOLLOW_MS = 2_000;

export interface SplitFollowerOptions {
  stateDir: string;
  split: SplitActuator;
  leadership: Leadership;
  log?: (line: string) => void;
}

export class SplitFollower {
  readonly #store: RolloutStore;
  readonly #o: SplitFollowerOptions;
  #timer: NodeJS.Timeout | undefined;
  #lastError = '';

  constructor(options: SplitFollowerOptions) {
    this.#o = options;
    this.#store = new RolloutStore(options.stateDir);
  }

  /**
   * One pass: on a follower, sets every model's split to the leader's persisted state.
   * The leader itself does nothing here (its controller owns the split). Returns the
   * models whose split changed.
   */
  async sync(): Promise<string[]> {
    if (this.#o.leadership.isLeader()) return [];
    const changed: string[] = [];
    try {
      const data = await this.#store.load();
      for (const [model, record] of Object.entries(data?.models ?? {})) {
        const current = this.#o.split.getSplit(model);
        const next = followerSplit(record.state, current);
        if (next === undefined) continue;
        // Keep what the operator set besides versions and weight (the controller does the same).
        const sticky = (current as { stickyHeader?: string } | undefined)?.stickyHeader;
        this.#o.split.setSplit(model, sticky === undefined ? next : ({ ...next, stickyHeader: sticky } as SplitValue));
        changed.push(model);
      }
      this.#lastError = '';
    } catch (e) {
      const message = (e as Error).message;
      if (message !== this.#lastError) this.#o.log?.(`split follower: cannot read the leader's rollout state: ${message}`);
      this.#lastError = message;
    }
    return changed;
  }

  start(everyMs = DEFAULT_FOLLOW_MS): void {
    this.#timer = setInterval(() => void this.sync(), everyMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
