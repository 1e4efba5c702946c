// Per-model concurrency limits: a request is admitted while the model has fewer admitted
// requests in flight than its limit, else shed (503 / UNAVAILABLE) before it can queue at
// the server. Priority callers may use the whole limit, others all but a reserved share,
// so under overload the others are shed first (the SRE book's criticality, two classes).
//
// Limits are fixed, or adapt to the latency of the requests they admit, after Netflix
// concurrency-limits (Netflix/concurrency-limits, limit/Gradient2Limit.java, AIMDLimit.java):
// - gradient: a short-term latency (mean of a window of 10 samples) against a long-term one
//   (an exponential average); gradient = clamp(1.5·long/short, 0.5, 1), also no more than
//   target/short so the SLO threshold holds; new = limit·gradient + √limit, smoothed 0.2.
//   Not grown while under half used (the caller, not the model, is the bottleneck).
// - aimd: each request slower than the latency target, or dropped (upstream timeout or
//   unavailable), multiplies the limit by 0.9; each faster one adds 1 while over half used
//   (per request, as AIMDLimit.onSample).
// Pure: latencies are passed in.
import type { LimitSpec } from './config.ts';

const WINDOW = 10;
const TOLERANCE = 1.5;
const SMOOTHING = 0.2;
const LONG_WINDOW = 600;
const BACKOFF = 0.9;

export class ConcurrencyLimit {
  readonly #spec: LimitSpec;
  readonly #reserve: number;
  #limit: number;
  #inFlight = 0;
  #sum = 0;
  #n = 0;
  #dropped = false;
  #long = 0;
  #longN = 0;

  /** `reserve`: share of the limit only priority callers may use (0 when there are none). */
  constructor(spec: LimitSpec, reserve: number) {
    this.#spec = spec;
    this.#reserve = reserve;
    this.#limit = spec.kind === 'fixed' ? spec.limit : spec.initial;
  }

  get limit(): number {
    return Math.floor(this.#limit);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  tryAcquire(priority: boolean): boolean {
    const limit = Math.max(1, Math.floor(this.#limit));
    const cap = priority ? limit : Math.max(1, Math.floor(limit * (1 - this.#reserve)));
    if (this.#inFlight >= cap) return false;
    this.#inFlight++;
    return true;
  }

  /** An admitted request finished after `latencyMs`; `dropped`: it timed out or the upstream was unavailable. */
  release(latencyMs: number, dropped: boolean): void {
    const inFlight = this.#inFlight;
    this.#inFlight = Math.max(0, inFlight - 1);
    const spec = this.#spec;
    if (spec.kind === 'fixed') return;
    if (spec.kind === 'aimd') {
      const limit = this.#limit;
      const next = dropped || latencyMs > spec.latencyTargetMs ? limit * BACKOFF : inFlight * 2 >= limit ? limit + 1 : limit;
      this.#limit = Math.max(spec.min, Math.min(spec.max, next));
      return;
    }
    this.#sum += latencyMs;
    this.#dropped ||= dropped;
    if (++this.#n < WINDOW) return;
    const short = this.#sum / this.#n;
    const drop = this.#dropped;
    this.#sum = 0;
    this.#n = 0;
    this.#dropped = false;
    const limit = this.#limit;
    this.#longN = Math.min(LONG_WINDOW, this.#longN + 1);
    this.#long = this.#longN === 1 ? short : this.#long + (short - this.#long) * (2 / (this.#longN + 1));
    // Load went away: let the long-term average come down quickly (Gradient2Limit).
    if (this.#long / short > 2) this.#long *= 0.95;
    if (inFlight < limit / 2 && !drop && short <= spec.latencyTargetMs) return;
    const gradient = Math.max(0.5, Math.min(1, (TOLERANCE * this.#long) / short, spec.latencyTargetMs / short));
    const target = limit * gradient + Math.sqrt(limit);
    this.#limit = Math.max(spec.min, Math.min(spec.max, limit * (1 - SMOOTHING) + target * SMOOTHING));
  }
}
