// The proxy's Prometheus metrics in an injected prom-client Registry. Names and label names
// come from common/conventions.ts only. Series of a (model, version) are tracked so they
// can be removed when the version is gone (after the catalog's grace period).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { LABEL, PROXY_METRIC, SIZE_BUCKETS, latencyBuckets } from '../common/index.ts';
import type { RequestOutcome } from '../common/index.ts';
import type { UpstreamErrorKind } from './errors.ts';

const REQUEST_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol, LABEL.code, LABEL.variant] as const;
const SIZE_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol] as const;

type RequestLabels = Record<(typeof REQUEST_LABELS)[number], string>;

export type DropReason = 'observer_error' | 'body_observer_error' | 'body_queue_full' | 'body_too_large';

export class ProxyMetrics {
  readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  readonly duration: Histogram<(typeof REQUEST_LABELS)[number]>;
  readonly requestSize: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly responseSize: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly inFlight: Gauge<typeof LABEL.protocol>;
  readonly upstreamErrors: Counter<typeof LABEL.kind | typeof LABEL.protocol>;
  readonly dropped: Counter<typeof LABEL.reason>;
  readonly splitWeight: Gauge<typeof LABEL.model>;
  readonly tlsReloads: Counter<typeof LABEL.entrypoint | typeof LABEL.outcome>;
  /** model → version → label sets created for it, so they can be removed together. */
  readonly #series = new Map<string, Map<string, Map<string, RequestLabels>>>();

  constructor(registry: Registry, extraLatencyThresholdsSeconds: readonly number[] = []) {
    const registers = [registry];
    this.requests = new Counter({
      name: PROXY_METRIC.requests,
      help: 'Requests through the proxy, by model, the version that served, API, protocol, status code and split variant.',
      labelNames: REQUEST_LABELS,
      registers,
    });
    this.duration = new Histogram({
      name: PROXY_METRIC.requestDuration,
      help: 'Request duration seen by the proxy, seconds: from the request received whole (REST, unary gRPC; a slow upload is the client\'s time, not in it) or its first byte (gRPC streams) to the last response byte. Buckets include every SLO latency threshold.',
      labelNames: REQUEST_LABELS,
      buckets: latencyBuckets(extraLatencyThresholdsSeconds),
      registers,
    });
    this.requestSize = new Histogram({
      name: PROXY_METRIC.requestSize,
      help: 'Request body size, bytes (gRPC: message bytes including the 5-byte frame prefix).',
      labelNames: SIZE_LABELS,
      buckets: [...SIZE_BUCKETS],
      registers,
    });
    this.responseSize = new Histogram({
      name: PROXY_METRIC.responseSize,
      help: 'Response body size, bytes.',
      labelNames: SIZE_LABELS,
      buckets: [...SIZE_BUCKETS],
      registers,
    });
    this.tlsReloads = new Counter({
      name: PROXY_METRIC.tlsReloads,
      help: 'Certificate reloads of a TLS listener after its files changed, by entrypoint (rest, grpc) and outcome (ok; error: the files did not load and the previous certificate kept serving).',
      labelNames: [LABEL.entrypoint, LABEL.outcome],
      registers,
    });
    this.inFlight = new Gauge({ name: PROXY_METRIC.inFlight, help: 'Requests being proxied now.', labelNames: [LABEL.protocol], registers });
    this.upstreamErrors = new Counter({
      name: PROXY_METRIC.upstreamErrors,
      help: 'Requests that failed without an upstream answer, by kind (connect, reset, timeout, protocol, client_abort, client_timeout, body_too_large).',
      labelNames: [LABEL.kind, LABEL.protocol],
      registers,
    });
    this.dropped = new Counter({
      name: PROXY_METRIC.telemetryDropped,
      help: 'Telemetry samples dropped so that observing never breaks or slows a request, by reason.',
      labelNames: [LABEL.reason],
      registers,
    });
    this.splitWeight = new Gauge({ name: PROXY_METRIC.splitWeight, help: 'Current canary weight per model, percent.', labelNames: [LABEL.model], registers });
  }

  observe(o: RequestOutcome, requestBytes: number, responseBytes: number): void {
    const labels: RequestLabels = { model: o.model, version: o.version, api: o.api, protocol: o.protocol, code: o.code, variant: o.variant };
    this.requests.inc(labels);
    this.duration.observe(labels, o.durationSeconds);
    const size = { model: o.model, version: o.version, api: o.api, protocol: o.protocol };
    this.requestSize.observe(size, requestBytes);
    this.responseSize.observe(size, responseBytes);
    this.#track(labels);
  }

  upstreamError(kind: UpstreamErrorKind, protocol: 'rest' | 'grpc'): void {
    this.upstreamErrors.inc({ kind, protocol });
  }

  drop(reason: DropReason): void {
    this.dropped.inc({ reason });
  }

  /** Removes every series of a version that is gone. */
  removeVersion(model: string, version: string): void {
    const byVersion = this.#series.get(model);
    const sets = byVersion?.get(version);
    if (!byVersion || !sets) return;
    for (const labels of sets.values()) {
      this.requests.remove(labels);
      this.duration.remove(labels);
    }
    const size = new Set<string>();
    for (const l of sets.values()) {
      const key = `${l.api}\u0000${l.protocol}`;
      if (size.has(key)) continue;
      size.add(key);
      const s = { model, version, api: l.api, protocol: l.protocol };
      this.requestSize.remove(s);
      this.responseSize.remove(s);
    }
    byVersion.delete(version);
  }

  #track(l: RequestLabels): void {
    let byVersion = this.#series.get(l.model);
    if (!byVersion) this.#series.set(l.model, (byVersion = new Map()));
    let sets = byVersion.get(l.version);
    if (!sets) byVersion.set(l.version, (sets = new Map()));
    const key = `${l.api}\u0000${l.protocol}\u0000${l.code}\u0000${l.variant}`;
    if (!sets.has(key)) sets.set(key, l);
  }
}
