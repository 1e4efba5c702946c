// Turns the facts of one finished request into labels (through the catalog's allowlist),
// then feeds metrics, outcome observers, the trace span and the body tee. Shared by the
// REST and gRPC paths so both count requests the same way. Never throws.
import type { Api, Clock, Protocol, RejectReason, RequestOutcome, Variant } from '../common/index.ts';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../common/index.ts';
import type { ModelCatalog } from './catalog.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Observers, BodySample } from './observers.ts';
import type { RequestTrace } from './tracing.ts';

export interface RequestFacts {
  protocol: Protocol;
  api: Api;
  /** Model named by the request; '' for server-level calls (health); undefined if not parseable. */
  model: string | undefined;
  /** Version the upstream said served (response header, v2 body, gRPC response model spec). */
  reportedVersion?: string | undefined;
  /** Version named by the client or pinned by the split. */
  routedVersion?: string | undefined;
  variant: Variant;
  /** The client named the version of a model that has a split (RequestOutcome.pinned). */
  pinned?: boolean;
  httpStatus?: number;
  grpcCode?: number;
  code: string;
  /** The upstream answered and the answer was a success (2xx / OK). */
  success: boolean;
  durationSeconds: number;
  requestBytes: number;
  responseBytes: number;
  /** The request's id (proxy/request-id.ts); absent for requests the proxy never parsed. */
  requestId?: string;
  /** Who called (proxy/guard), when callers authenticate. */
  identity?: string | undefined;
  /** Refused by the admission stage (proxy/guard) before forwarding. */
  rejected?: RejectReason | undefined;
}

export interface RecorderDeps {
  clock: Clock;
  catalog: ModelCatalog;
  metrics: ProxyMetrics;
  observers: Observers;
}

export class Recorder {
  readonly #d: RecorderDeps;
  constructor(deps: RecorderDeps) {
    this.#d = deps;
  }

  record(f: RequestFacts, span: RequestTrace | undefined, bodies?: Omit<BodySample, 'model' | 'version' | 'api' | 'protocol' | 'variant' | 'requestId'>): void {
    try {
      const model = this.#modelLabel(f);
      const version = this.#pickVersion(f, model);
      if (version === undefined && model !== OVERFLOW_LABEL_VALUE && model !== '' && this.#d.catalog.needsStatus(model)) {
        // An upstream that reports no version (TF Serving REST): ask its status once, then
        // record. Off the response path: the client already has its answer.
        void this.#d.catalog.refresh(model).then(() => this.#finish(f, model, this.#pickVersion(f, model), span, bodies));
        return;
      }
      this.#finish(f, model, version, span, bodies);
    } catch {
      this.#d.metrics.drop('observer_error');
    }
  }

  #modelLabel(f: RequestFacts): string {
    if (f.model === undefined) return OVERFLOW_LABEL_VALUE;
    if (f.model === '') return '';
    return this.#d.catalog.modelLabel(f.model, f.success);
  }

  #pickVersion(f: RequestFacts, model: string): string | undefined {
    if (model === OVERFLOW_LABEL_VALUE || model === '') return undefined;
    return f.reportedVersion ?? f.routedVersion ?? this.#d.catalog.latest(model);
  }

  #finish(f: RequestFacts, model: string, version: string | undefined, span: RequestTrace | undefined, bodies?: Omit<BodySample, 'model' | 'version' | 'api' | 'protocol' | 'variant' | 'requestId'>): void {
    try {
      const versionLabel =
        model === OVERFLOW_LABEL_VALUE ? OVERFLOW_LABEL_VALUE
        : version === undefined || model === '' ? UNKNOWN_VERSION
        : this.#d.catalog.versionLabel(model, version, f.success);
      const outcome: RequestOutcome = {
        model,
        version: versionLabel,
        api: f.api,
        protocol: f.protocol,
        variant: f.variant,
        code: f.code,
        durationSeconds: f.durationSeconds,
        endMs: this.#d.clock.now(),
      };
      if (f.httpStatus !== undefined) outcome.httpStatus = f.httpStatus;
      if (f.grpcCode !== undefined) outcome.grpcCode = f.grpcCode;
      if (f.pinned) outcome.pinned = true;
      if (f.requestId !== undefined) outcome.requestId = f.requestId;
      if (f.identity !== undefined) outcome.identity = f.identity;
      if (f.rejected !== undefined) outcome.rejected = f.rejected;
      if (span !== undefined) outcome.traceId = span.traceparent.slice(3, 35);
      outcome.requestBytes = f.requestBytes;
      outcome.responseBytes = f.responseBytes;
      // Refused before forwarding: counted in modelgate_requests_rejected_total (proxy/guard),
      // not as requests, so the generated SLO rules leave them out as the engine does.
      if (f.rejected === undefined) this.#d.metrics.observe(outcome, f.requestBytes, f.responseBytes);
      this.#d.observers.emitOutcome(outcome);
      span?.end({ model, version: versionLabel, variant: f.variant, code: f.code, error: !f.success });
      if (bodies && f.success) {
        this.#d.observers.emitBodies({
          ...bodies, model, version: versionLabel, api: f.api, protocol: f.protocol, variant: f.variant,
          ...(f.pinned ? { pinned: true } : {}), ...(f.requestId !== undefined ? { requestId: f.requestId } : {}),
        });
      }
    } catch {
      this.#d.metrics.drop('observer_error');
    }
  }
}
