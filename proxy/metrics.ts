// The proxy's Prometheus metrics in an injected prom-client Registry. Names and label names
// come from common/conventions.ts only. Series of a (model, version) are tracked so they
// can be removed when the version is gone (after the catalog's grace period).
//
// The metrics every request updates are common/metric-series.ts classes (exposition
// unchanged, test/proxy/metrics.test.ts): the handles of a label set's four series
// (requests, duration, request and response size) are looked up once and kept, and the
// in-flight gauge finds its series by one key, so a request costs a few map lookups and
// additions instead of six prom-client label hashes.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { LABEL, PROXY_METRIC, SIZE_BUCKETS, latencyBuckets } from '../common/index.ts';
import { SeriesCounter, SeriesGauge, SeriesHistogram } from '../common/metric-series.ts';
import type { CounterSeries, GaugeSeries, HistogramSeries } from '../common/metric-series.ts';
import type { RequestOutcome } from '../common/index.ts';
import type { UpstreamErrorKind } from './errors.ts';

const REQUEST_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol, LABEL.code, LABEL.variant] as const;
const SIZE_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol] as const;

type RequestLabels = Record<(typeof REQUEST_LABELS)[number], string>;

/** The series one request label set updates. */
interface RequestSeries {
  labels: RequestLabels;
  requests: CounterSeries;
  duration: HistogramSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
}

export type DropReason = 'observer_error' | 'body_observer_error' | 'body_queue_full' | 'body_too_large';

export class ProxyMetrics {
  readonly requests: SeriesCounter;
  readonly duration: SeriesHistogram;
  readonly requestSize: SeriesHistogram;
  readonly responseSize: SeriesHistogram;
  readonly inFlight: SeriesGauge;
  readonly upstreamErrors: Counter<typeof LABEL.kind | typeof LABEL.protocol>;
  readonly dropped: Counter<typeof LABEL.reason>;
  readonly splitWeight: Gauge<typeof LABEL.model>;
  readonly tlsReloads: Counter<typeof LABEL.entrypoint | typeof LABEL.outcome>;
  /** The in-flight gauge's series per protocol, kept: it moves twice per request. */
  readonly #inFlightOf: Record<'rest' | 'grpc', GaugeSeries>;
  /** model → version → (api, protocol, code, variant) → its series: the handles, and what removeVersion removes. */
  readonly #series = new Map<string, Map<string, Map<string, RequestSeries>>>();
  /** The series #seriesOf gave last (forgotten when its version is removed). */
  #last: RequestSeries | undefined;

  constructor(registry: Registry, extraLatencyThresholdsSeconds: readonly number[] = []) {
    const registers = [registry];
    this.requests = new SeriesCounter({
      name: PROXY_METRIC.requests,
      help: 'Requests through the proxy, by model, the version that served, API, protocol, status code and split variant.',
      labelNames: REQUEST_LABELS,
      registers,
    });
    this.duration = new SeriesHistogram({
      name: PROXY_METRIC.requestDuration,
      help: 'Request duration seen by the proxy, seconds: from the request received whole (REST, unary gRPC; a slow upload is the client\'s time, not in it) or its first byte (gRPC streams) to the last response byte. Buckets include every SLO latency threshold.',
      labelNames: REQUEST_LABELS,
      buckets: latencyBuckets(extraLatencyThresholdsSeconds),
      registers,
    });
    this.requestSize = new SeriesHistogram({
      name: PROXY_METRIC.requestSize,
      help: 'Request body size, bytes (gRPC: message bytes including the 5-byte frame prefix).',
      labelNames: SIZE_LABELS,
      buckets: [...SIZE_BUCKETS],
      registers,
    });
    this.responseSize = new SeriesHistogram({
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
    this.inFlight = new SeriesGauge({ name: PROXY_METRIC.inFlight, help: 'Requests being proxied now.', labelNames: [LABEL.protocol], registers });
    // Held now, shown from their first move (as prom-client creates a series on its first inc).
    this.#inFlightOf = { rest: this.inFlight.series({ [LABEL.protocol]: 'rest' }), grpc: this.inFlight.series({ [LABEL.protocol]: 'grpc' }) };
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
    const s = this.#seriesOf(o);
    s.requests.inc();
    s.duration.observe(o.durationSeconds);
    s.requestSize.observe(requestBytes);
    s.responseSize.observe(responseBytes);
  }

  /** A request is being proxied (in-flight gauge up). */
  started(protocol: 'rest' | 'grpc'): void {
    this.#inFlightOf[protocol].add(1);
  }

  /** A request is over (in-flight gauge down). */
  ended(protocol: 'rest' | 'grpc'): void {
    this.#inFlightOf[protocol].add(-1);
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
    for (const { labels } of sets.values()) {
      this.requests.remove(labels);
      this.duration.remove(labels);
    }
    const size = new Set<string>();
    for (const l of sets.values()) {
      const key = `${l.labels.api}\u0000${l.labels.protocol}`;
      if (size.has(key)) continue;
      size.add(key);
      const s = { model, version, api: l.labels.api, protocol: l.labels.protocol };
      this.requestSize.remove(s);
      this.responseSize.remove(s);
    }
    byVersion.delete(version);
    if (this.#last?.labels.model === model && this.#last.labels.version === version) this.#last = undefined;
    if (byVersion.size === 0) this.#series.delete(model);
  }

  /** The series of an outcome's label set, looked up once per label set and then kept. */
  #seriesOf(o: RequestOutcome): RequestSeries {
    // The last label set again (steady traffic to one model): six string compares, no lookup.
    const last = this.#last;
    if (last !== undefined) {
      const l = last.labels;
      if (l.model === o.model && l.version === o.version && l.code === o.code && l.api === o.api && l.variant === o.variant && l.protocol === o.protocol) return last;
    }
    return (this.#last = this.#lookUp(o));
  }

  #lookUp(o: RequestOutcome): RequestSeries {
    let byVersion = this.#series.get(o.model);
    if (!byVersion) this.#series.set(o.model, (byVersion = new Map()));
    let sets = byVersion.get(o.version);
    if (!sets) byVersion.set(o.version, (sets = new Map()));
    const key = `${o.api}\u0000${o.protocol}\u0000${o.code}\u0000${o.variant}`;
    let s = sets.get(key);
    if (!s) {
      const labels: RequestLabels = { model: o.model, version: o.version, api: o.api, protocol: o.protocol, code: o.code, variant: o.variant };
      const size = { model: o.model, version: o.version, api: o.api, protocol: o.protocol };
      s = {
        labels,
        requests: this.requests.series(labels),
        duration: this.duration.series(labels),
        requestSize: this.requestSize.series(size),
        responseSize: this.responseSize.series(size),
      };
      sets.set(key, s);
    }
    return s;
  }
}
