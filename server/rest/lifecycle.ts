// A REST request from arrival to answer: its deadline, the inference run, the answer or
// the error, the accounting, and releasing what it holds (its version, a large-body slot).
// The API handlers (tf-api.ts, kserve-api.ts) decode and encode; this decides when and what
// is sent.
import type { ServerResponse } from 'node:http';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../../common/conventions.ts';
import { isModelgateError, type ModelgateError } from '../../common/errors.ts';
import { recordInference, startInference } from '../core/infer.ts';
import { SrvErr } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ModelManager } from '../models/manager.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { RestAccounting } from './accounting.ts';
import { LargeBodySlots, type BodyLimits } from './body.ts';
import { Deadlines } from './deadlines.ts';
import type { RestOptions } from './options.ts';
import { RestRequest } from './request.ts';
import { sendError, sendJson } from './respond.ts';

/** Turns a run's outputs into the answer's JSON text. */
export type Encode = (r: RestRequest, out: Map<string, Tensor>) => string;

export class RestLifecycle {
  private readonly deadlines = new Deadlines();
  private readonly bodyTimers = new Deadlines();
  private readonly largeSlots: LargeBodySlots;
  private readonly accounting: RestAccounting;
  /** Made once: every request's deadline calls the same function. */
  private readonly onExpire = (r: RestRequest): void => this.expire(r);

  constructor(
    readonly manager: ModelManager,
    private readonly metrics: ServerMetrics,
    readonly options: RestOptions,
  ) {
    this.largeSlots = new LargeBodySlots(options.maxLargeBodies, options.afterLargeBodies);
    this.accounting = new RestAccounting(metrics);
  }

  /** A request that has just arrived; its deadline runs from now. */
  begin(res: ServerResponse): RestRequest {
    return new RestRequest(res, performance.now(), Date.now() + this.options.requestTimeoutMs, this.onExpire);
  }

  /** The `model` label of a name: the name if it is configured, the overflow value if not. */
  modelLabel(name: string): string {
    return this.manager.hasModel(name) ? name : OVERFLOW_LABEL_VALUE;
  }

  /** The body limits of a request to `model`; a large-body slot it takes is held by `r`. */
  bodyLimits(model: string, r: RestRequest): BodyLimits {
    const { options, largeSlots } = this;
    return {
      limit: options.modelBodyLimits?.get(model) ?? options.bodyLimitBytes,
      timeoutMs: options.bodyReadTimeoutMs,
      timers: this.bodyTimers,
      takeLarge: () => {
        if (!largeSlots.take()) return false;
        r.large = true;
        return true;
      },
    };
  }

  /** Handles release once (ServingHandle.release is idempotent), so r.handle stays readable after. */
  private release(r: RestRequest): void {
    r.handle?.release();
    if (r.large) {
      r.large = false;
      this.largeSlots.give();
    }
  }

  /** A request answered by its handler (status, metadata, health, metrics): counted. */
  finish(r: RestRequest, status: number): void {
    r.done = true;
    this.accounting.record(r, status);
  }

  fail(r: RestRequest, e: unknown): void {
    if (r.done) return;
    r.done = true;
    this.deadlines.delete(r);
    this.release(r);
    const err: ModelgateError = isModelgateError(e) ? e : SrvErr.SRV_ERR_INTERNAL(`internal error: ${(e as Error)?.message ?? String(e)}`, e);
    sendError(r.res, err, r.version !== UNKNOWN_VERSION ? r.version : undefined);
    this.accounting.record(r, err.http);
  }

  /**
   * The deadline covers the request from arrival (TF Serving: --rest_api_timeout_in_ms);
   * it is enforced while the model runs. The version is released at once, as before the
   * shared timer: a run that never returns must not keep its version from unloading.
   */
  expire(r: RestRequest): void {
    this.fail(r, SrvErr.SRV_ERR_DEADLINE_EXCEEDED(`Request did not finish within ${this.options.requestTimeoutMs} ms`));
  }

  /** Starts the run; the request is answered from its result, its error, or its deadline. */
  run(r: RestRequest, inputs: Map<string, Tensor>, encode: Encode, outputFilter?: readonly string[]): void {
    const h = r.handle!;
    // Reading and parsing a large body can use up the deadline: then nothing runs.
    if (Date.now() > r.deadlineMs) return this.expire(r);
    this.deadlines.add(r);
    r.runT0 = performance.now();
    startInference(h, inputs, { outputFilter, deadlineMs: r.deadlineMs }).then(
      (out) => this.ok(r, encode, out),
      (e: unknown) => this.fail(r, e),
    );
  }

  private ok(r: RestRequest, encode: Encode, out: Map<string, Tensor>): void {
    const h = r.handle!;
    recordInference(h, this.metrics, r.runT0); // the run finished, even if too late to answer
    if (r.done) return; // already answered 504 (and released): the late result is dropped
    this.deadlines.delete(r);
    let text: string;
    try {
      text = encode(r, out);
    } catch (e) {
      this.fail(r, e);
      return;
    }
    // Encoding a large output can itself take seconds: an answer past its deadline is a 504.
    if (Date.now() > r.deadlineMs) return this.expire(r);
    r.done = true;
    sendJson(r.res, 200, text, r.version);
    this.release(r);
    this.accounting.record(r, 200);
  }
}
