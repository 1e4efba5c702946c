// Delivers alert transitions to webhooks and Alertmanagers, off the request path:
// `notify` only enqueues (bounded queue per target, oldest dropped and counted when full)
// and returns; one delivery at a time per target, retried with capped exponential backoff
// and jitter on network errors, 5xx and 429. A receiver that is down costs queue slots,
// never latency.
//
// Alertmanager targets also get every firing alert re-sent every `resendMs` with endsAt =
// now + 4 × resendMs, as Prometheus does (rules/manager.go sendAlerts and
// rules/alerting.go: ValidUntil = ts + 4 × max(resendDelay, interval)); Alertmanager
// resolves alerts that stop arriving.
import type { Clock } from '../../common/index.ts';
import type { AlertTransition } from '../status.ts';
import type { NotifyTarget } from './config.ts';
import { alertLabels, fingerprint, postableAlert, webhookPayload } from './payload.ts';

export interface RetryPolicy {
  /** Attempts per notification, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

/** 5 attempts, 0.5 s doubling to 30 s: about a minute of outage ridden out per notification. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 30_000 };
/** Per target; at one transition per SLO series and severity this is hours of flapping. */
export const DEFAULT_MAX_QUEUE = 1000;
/** Prometheus' default --rules.alert.resend-delay. */
export const DEFAULT_RESEND_MS = 60_000;

export interface NotifierOptions {
  targets: readonly NotifyTarget[];
  clock: Clock;
  /** Base URL of this proxy's admin API, for generatorURL and externalURL. */
  externalUrl?: string;
  retry?: Partial<RetryPolicy>;
  maxQueue?: number;
  resendMs?: number;
  /** Called for a notification given up on (after the last attempt or a 4xx). */
  onError?: (target: string, message: string) => void;
}

export interface NotifierStats {
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
}

interface Job {
  url: string;
  body: string;
}

interface TargetState {
  target: NotifyTarget;
  queue: Job[];
  busy: boolean;
}

export class AlertNotifier {
  readonly stats: NotifierStats = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  readonly #targets = new Map<string, TargetState>();
  readonly #clock: Clock;
  readonly #externalUrl: string;
  readonly #retry: RetryPolicy;
  readonly #maxQueue: number;
  readonly #resendMs: number;
  readonly #onError: ((target: string, message: string) => void) | undefined;
  /** Firing alerts by fingerprint, for Alertmanager re-sends. */
  readonly #active = new Map<string, AlertTransition>();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  #resendTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#clock = options.clock;
    this.#externalUrl = (options.externalUrl ?? 'http://127.0.0.1').replace(/\/$/, '');
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.#resendMs = options.resendMs ?? DEFAULT_RESEND_MS;
    this.#onError = options.onError;
    for (const target of options.targets) this.#targets.set(target.name, { target, queue: [], busy: false });
    if (options.targets.some((t) => t.kind === 'alertmanager')) {
      this.#resendTimer = setInterval(() => this.#resend(), this.#resendMs);
      this.#resendTimer.unref();
    }
  }

  /** Enqueues a transition for the SLO's targets. Never throws, never waits. */
  notify(t: AlertTransition): void {
    if (this.#closed) return;
    try {
      const fp = fingerprint(alertLabels(t));
      if (t.status === 'firing') this.#active.set(fp, t);
      else this.#active.delete(fp);
      for (const name of t.slo.notify) {
        const ts = this.#targets.get(name);
        if (ts) this.#enqueue(ts, this.#job(ts.target, t));
      }
    } catch (err) {
      this.stats.failed++;
      this.#onError?.('(notify)', (err as Error).message);
    }
  }

  /** Resolves once every queue is empty and nothing is in flight (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops re-sends and retries; deliveries in flight end within their timeout. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#resendTimer) clearInterval(this.#resendTimer);
    for (const s of this.#sleeps) {
      clearTimeout(s.timer);
      s.wake();
    }
    for (const ts of this.#targets.values()) ts.queue.length = 0;
    await this.idle();
  }

  #job(target: NotifyTarget, t: AlertTransition): Job {
    if (target.kind === 'webhook') return { url: target.url, body: JSON.stringify(webhookPayload(t, target.name, this.#externalUrl)) };
    const expires = this.#clock.now() + 4 * this.#resendMs;
    return { url: `${target.url.replace(/\/$/, '')}/api/v2/alerts`, body: JSON.stringify([postableAlert(t, this.#externalUrl, expires)]) };
  }

  #resend(): void {
    for (const t of this.#active.values()) {
      for (const name of t.slo.notify) {
        const ts = this.#targets.get(name);
        if (ts && ts.target.kind === 'alertmanager') this.#enqueue(ts, this.#job(ts.target, t));
      }
    }
  }

  #enqueue(ts: TargetState, job: Job): void {
    if (ts.queue.length >= this.#maxQueue) {
      ts.queue.shift();
      this.stats.dropped++;
    }
    ts.queue.push(job);
    this.#pump(ts);
  }

  #pump(ts: TargetState): void {
    if (ts.busy) return;
    const job = ts.queue.shift();
    if (!job) {
      this.#checkIdle();
      return;
    }
    ts.busy = true;
    void this.#deliver(ts.target, job).finally(() => {
      ts.busy = false;
      this.#pump(ts);
    });
  }

  async #deliver(target: NotifyTarget, job: Job): Promise<void> {
    let last = '';
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      try {
        const res = await fetch(job.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: job.body,
          signal: AbortSignal.timeout(target.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.stats.sent++;
          return;
        }
        last = `HTTP ${res.status}`;
        // Other 4xx: the payload is wrong for this receiver; retrying sends the same bytes.
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        last = (err as Error).message;
      }
      if (attempt === this.#retry.attempts || this.#closed) break;
      this.stats.retries++;
      await this.#sleep(this.#backoff(attempt));
      if (this.#closed) break;
    }
    this.stats.failed++;
    this.#onError?.(target.name, `giving up on ${job.url}: ${last}`);
  }

  /** Capped exponential backoff with equal jitter (half fixed, half random). */
  #backoff(attempt: number): number {
    const d = Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** (attempt - 1));
    return d / 2 + Math.random() * (d / 2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      // Not unref'd: a retry in progress keeps the process alive until it ends or close() wakes it.
      this.#sleeps.add(entry);
    });
  }

  #isIdle(): boolean {
    for (const ts of this.#targets.values()) if (ts.busy || ts.queue.length > 0) return false;
    return true;
  }

  #checkIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
