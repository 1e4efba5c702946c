// Who acts. With several proxy replicas every replica computes the same fleet-wide
// verdicts (slo/prometheus-source.ts), but only one may act on them: move traffic
// weights, roll back, send notifications. Two ways to choose it (docs/fleet.md):
//
// - single controller mode: a static flag per replica (`leader: { mode: always }` on
//   exactly one replica, `never` on the others). Nothing to fail over; if the controller
//   replica is down, rollouts pause (they resume from the persisted state on restart).
// - lease mode: replicas compete for a lease with a time to live, renewed by the holder.
//   The backend is pluggable (LeaseBackend): app/file-lease.ts implements it with a file
//   on a volume the replicas share, app/k8s-lease.ts with a Kubernetes
//   coordination.k8s.io/v1 Lease (holderIdentity, leaseDurationSeconds, renewTime; the
//   update made conditional by resourceVersion), the way client-go's leaderelection does.
//
// Safety margin: a holder stops calling itself leader `graceMs` before its lease would
// expire, so a holder that cannot renew (backend slow, process paused) steps down before
// any other replica can take over. Leadership is therefore never held by two replicas at
// once as long as the replicas' clocks run at the same rate within that margin.
import type { Clock } from '../common/index.ts';

/** What the rest of the process asks: am I the one that acts? */
export interface Leadership {
  isLeader(): boolean;
  /** Called with the new value whenever it changes; returns an unsubscribe function. */
  onChange(fn: (leader: boolean) => void): () => void;
  /** A line for logs and the status page. */
  describe(): string;
  close(): Promise<void>;
}

/** The record a lease backend stores. */
export interface LeaseRecord {
  holder: string;
  /** When the holder last acquired or renewed it (ms since the epoch, the writer's clock). */
  renewedAt: number;
  ttlMs: number;
}

export interface LeaseBackend {
  /**
   * Atomically: when there is no lease, or it expired (renewedAt + ttlMs <= now), or
   * `holder` already holds it, write `{ holder, renewedAt: now, ttlMs }` and answer
   * acquired; otherwise leave it and answer the current record.
   */
  tryAcquire(holder: string, ttlMs: number, now: number): Promise<{ acquired: boolean; record: LeaseRecord | null }>;
  /** Gives the lease up if `holder` holds it (a clean shutdown hands over at once). */
  release(holder: string): Promise<void>;
  describe(): string;
  /** Frees connections (called once, after the last release). */
  close?(): void;
}

/** Single controller mode: a fixed answer. */
export function staticLeadership(leader: boolean): Leadership {
  return {
    isLeader: () => leader,
    onChange: () => () => {},
    describe: () => (leader ? 'single controller mode: this replica acts' : 'single controller mode: another replica acts'),
    close: async () => {},
  };
}

/** client-go's leaderelection defaults are 15 s lease / 10 s renew deadline / 2 s retry (app/leader-config.ts). */
export const DEFAULT_LEASE_TTL_MS = 15_000;

export interface LeaderElectorOptions {
  backend: LeaseBackend;
  /** This replica's name in the lease (pod name, host:pid). */
  identity: string;
  clock: Clock;
  ttlMs?: number;
  /** How often to renew or try to acquire; default ttl / 3. */
  renewMs?: number;
  /** Step down this long before the lease would expire; default ttl / 3. */
  graceMs?: number;
  log?: (line: string) => void;
}

export class LeaderElector implements Leadership {
  readonly #o: Required<Omit<LeaderElectorOptions, 'log'>> & { log: (line: string) => void };
  readonly #listeners = new Set<(leader: boolean) => void>();
  /** When our last successful acquire/renew happened (ms), or null when we do not hold it. */
  #heldSince: number | null = null;
  #renewedAt = 0;
  #holder: string | null = null;
  #announced = false;
  #timer: NodeJS.Timeout | undefined;
  /** Fires when our lease's validity runs out, so listeners hear of it even if renewals hang. */
  #expiry: NodeJS.Timeout | undefined;
  #attempt: Promise<void> | undefined;
  #closed = false;

  constructor(options: LeaderElectorOptions) {
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#o = {
      backend: options.backend,
      identity: options.identity,
      clock: options.clock,
      ttlMs,
      renewMs: options.renewMs ?? Math.max(1, Math.floor(ttlMs / 3)),
      graceMs: options.graceMs ?? Math.floor(ttlMs / 3),
      log: options.log ?? (() => {}),
    };
    if (this.#o.renewMs + this.#o.graceMs >= ttlMs) {
      throw new RangeError(`lease renew (${this.#o.renewMs} ms) + grace (${this.#o.graceMs} ms) must be shorter than its ttl (${ttlMs} ms), or the holder steps down between renewals`);
    }
  }

  /** Tries once now, then every renewMs. */
  async start(): Promise<void> {
    await this.tryNow();
    if (this.#closed) return;
    this.#timer = setInterval(() => void this.tryNow(), this.#o.renewMs);
    this.#timer.unref();
  }

  /** One acquire/renew attempt (the timer calls it; tests call it with a manual clock). */
  tryNow(): Promise<void> {
    this.#attempt ??= this.#try().finally(() => {
      this.#attempt = undefined;
    });
    return this.#attempt;
  }

  async #try(): Promise<void> {
    const now = this.#o.clock.now();
    try {
      const r = await this.#o.backend.tryAcquire(this.#o.identity, this.#o.ttlMs, now);
      this.#holder = r.record?.holder ?? null;
      if (r.acquired) {
        this.#heldSince ??= now;
        this.#renewedAt = now;
        clearTimeout(this.#expiry);
        this.#expiry = setTimeout(() => this.#announce(), this.#o.ttlMs - this.#o.graceMs);
        this.#expiry.unref();
      } else {
        this.#heldSince = null;
      }
    } catch (e) {
      // Keep the old renewal time: isLeader() runs out by itself after ttl - grace.
      this.#o.log(`leader lease: ${this.#o.backend.describe()}: ${(e as Error).message}`);
    }
    this.#announce();
  }

  isLeader(): boolean {
    if (this.#closed || this.#heldSince === null) return false;
    return this.#o.clock.now() < this.#renewedAt + this.#o.ttlMs - this.#o.graceMs;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  describe(): string {
    const who = this.isLeader() ? 'this replica holds it' : this.#holder ? `held by ${this.#holder}` : 'not held';
    return `lease ${this.#o.backend.describe()} (ttl ${this.#o.ttlMs} ms) as ${this.#o.identity}: ${who}`;
  }

  /** Stops renewing and releases the lease if held, so another replica takes over at once. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    clearTimeout(this.#expiry);
    await this.#attempt;
    const held = this.#heldSince !== null;
    this.#closed = true;
    this.#heldSince = null;
    this.#announce();
    if (held) {
      try {
        await this.#o.backend.release(this.#o.identity);
      } catch (e) {
        this.#o.log(`leader lease: release failed (it expires by itself): ${(e as Error).message}`);
      }
    }
    this.#o.backend.close?.();
  }

  #announce(): void {
    const leader = this.isLeader();
    if (leader === this.#announced) return;
    this.#announced = leader;
    this.#o.log(`leader: ${leader ? 'acquired' : 'lost'} ${this.describe()}`);
    for (const fn of this.#listeners) {
      try {
        fn(leader);
      } catch {
        // A listener failing must not stop the elector.
      }
    }
  }
}

/**
 * Runs something only while this replica leads: `start` when leadership is gained,
 * `close` when it is lost or on shutdown. For the rollout controller:
 *   runWhileLeader(leadership, () => attachRollouts({ ... }))
 * A controller started again on another replica resumes from the persisted state.
 */
export function runWhileLeader(leadership: Leadership, start: () => Promise<{ close(): Promise<void> }>, log: (line: string) => void = () => {}): { close(): Promise<void> } {
  let running: Promise<{ close(): Promise<void> } | undefined> | undefined;
  let chain: Promise<void> = Promise.resolve();
  const apply = (leader: boolean) => {
    chain = chain.then(async () => {
      if (leader && !running) {
        running = start().catch((e: unknown) => {
          log(`leader: could not start: ${(e as Error).message}`);
          return undefined;
        });
        await running;
      } else if (!leader && running) {
        const r = await running;
        running = undefined;
        await r?.close();
      }
    });
  };
  const unsubscribe = leadership.onChange(apply);
  if (leadership.isLeader()) apply(true);
  return {
    async close() {
      unsubscribe();
      apply(false);
      await chain;
    },
  };
}
