// The proxy's per-request recording done the plain way: prom-client metrics fed a label
// object per call, and regex / Buffer#toString tracing, so bench/recorder.ts can run it
// against the proxy's own in one process (same machine state, alternating rounds). Only what the benchmark drives: ProxyMetrics.observe / drop on prom-client
// Counter and Histogram with a label object per call, and Tracing.start with a regex
// traceparent parser, Buffer#toString('hex') ids and isSpanContextValid on every span.
import { randomFillSync } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, isSpanContextValid } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { LABEL, PROXY_METRIC, SIZE_BUCKETS, latencyBuckets } from '../../common/index.ts';
import type { RequestOutcome } from '../../common/index.ts';
import { formatTraceparent, type RequestTrace, type TraceParent } from '../../proxy/tracing.ts';

const REQUEST_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol, LABEL.code, LABEL.variant] as const;
const SIZE_LABELS = [LABEL.model, LABEL.version, LABEL.api, LABEL.protocol] as const;
type RequestLabels = Record<(typeof REQUEST_LABELS)[number], string>;

/** Same names, help, buckets and label order as proxy/metrics.ts, so expositions compare byte for byte. */
function configs(registry: Registry, extra: readonly number[], help: (name: string) => string) {
  const registers = [registry];
  return {
    requests: { name: PROXY_METRIC.requests, help: help(PROXY_METRIC.requests), labelNames: REQUEST_LABELS, registers },
    duration: { name: PROXY_METRIC.requestDuration, help: help(PROXY_METRIC.requestDuration), labelNames: REQUEST_LABELS, buckets: latencyBuckets(extra), registers },
    requestSize: { name: PROXY_METRIC.requestSize, help: help(PROXY_METRIC.requestSize), labelNames: SIZE_LABELS, buckets: [...SIZE_BUCKETS], registers },
    responseSize: { name: PROXY_METRIC.responseSize, help: help(PROXY_METRIC.responseSize), labelNames: SIZE_LABELS, buckets: [...SIZE_BUCKETS], registers },
  };
}

/** ProxyMetrics.observe on prom-client: four calls, each validating and hashing a label object. */
export class PromClientMetrics {
  readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  readonly duration: Histogram<(typeof REQUEST_LABELS)[number]>;
  readonly requestSize: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly responseSize: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly #series = new Map<string, Map<string, Map<string, RequestLabels>>>();

  constructor(registry: Registry, extra: readonly number[], help: (name: string) => string) {
    const c = configs(registry, extra, help);
    this.requests = new Counter(c.requests);
    this.duration = new Histogram(c.duration);
    this.requestSize = new Histogram(c.requestSize);
    this.responseSize = new Histogram(c.responseSize);
  }

  observe(o: RequestOutcome, requestBytes: number, responseBytes: number): void {
    const labels: RequestLabels = { model: o.model, version: o.version, api: o.api, protocol: o.protocol, code: o.code, variant: o.variant };
    this.requests.inc(labels);
    this.duration.observe(labels, o.durationSeconds);
    const size = { model: o.model, version: o.version, api: o.api, protocol: o.protocol };
    this.requestSize.observe(size, requestBytes);
    this.responseSize.observe(size, responseBytes);
    let byVersion = this.#series.get(labels.model);
    if (!byVersion) this.#series.set(labels.model, (byVersion = new Map()));
    let sets = byVersion.get(labels.version);
    if (!sets) byVersion.set(labels.version, (sets = new Map()));
    const key = `${labels.api}\u0000${labels.protocol}\u0000${labels.code}\u0000${labels.variant}`;
    if (!sets.has(key)) sets.set(key, labels);
  }

  drop(): void {}
}

/**
 * The idea of caching prom-client's children: `labels(...)` once per label set. prom-client
 * 15's children still validate and hash the label object on every inc/observe
 * (lib/counter.js labels → inc.bind; lib/histogram.js labels → observe closure), so this
 * saves only the label objects.
 */
export class PromClientChildrenMetrics {
  readonly #c: ReturnType<typeof configs>;
  readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  readonly duration: Histogram<(typeof REQUEST_LABELS)[number]>;
  readonly requestSize: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly responseSize: Histogram<(typeof SIZE_LABELS)[number]>;
  readonly #children = new Map<string, { inc: () => void; duration: (v: number) => void; req: (v: number) => void; resp: (v: number) => void }>();

  constructor(registry: Registry, extra: readonly number[], help: (name: string) => string) {
    this.#c = configs(registry, extra, help);
    this.requests = new Counter(this.#c.requests);
    this.duration = new Histogram(this.#c.duration);
    this.requestSize = new Histogram(this.#c.requestSize);
    this.responseSize = new Histogram(this.#c.responseSize);
  }

  observe(o: RequestOutcome, requestBytes: number, responseBytes: number): void {
    const key = `${o.model}\u0000${o.version}\u0000${o.api}\u0000${o.protocol}\u0000${o.code}\u0000${o.variant}`;
    let ch = this.#children.get(key);
    if (!ch) {
      const c = this.requests.labels(o.model, o.version, o.api, o.protocol, o.code, o.variant);
      const d = this.duration.labels(o.model, o.version, o.api, o.protocol, o.code, o.variant);
      const q = this.requestSize.labels(o.model, o.version, o.api, o.protocol);
      const r = this.responseSize.labels(o.model, o.version, o.api, o.protocol);
      ch = { inc: () => c.inc(), duration: (v) => d.observe(v), req: (v) => q.observe(v), resp: (v) => r.observe(v) };
      this.#children.set(key, ch);
    }
    ch.inc();
    ch.duration(o.durationSeconds);
    ch.req(requestBytes);
    ch.resp(responseBytes);
  }

  drop(): void {}
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The traceparent parser with a capturing regex (test/proxy/tracing.test.ts checks the proxy's against the same regex). */
export function regexParseTraceparent(header: string | undefined): TraceParent | undefined {
  if (!header) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest === '-')) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId: traceId!, spanId: spanId!, flags: parseInt(flags!, 16) };
}

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;
function randomHex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

/** Tracing.start with the capturing regex, Buffer#toString('hex') ids and isSpanContextValid on every span. */
export class RegexTracing {
  readonly #tracer: Tracer = trace.getTracer('modelgate-proxy');
  start(name: string, incoming: string | undefined): RequestTrace | undefined {
    const parent = regexParseTraceparent(incoming);
    const ctx = parent
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true })
      : ROOT_CONTEXT;
    const span: Span = this.#tracer.startSpan(name, { kind: SpanKind.SERVER }, ctx);
    const sc = span.spanContext();
    const own = isSpanContextValid(sc) && sc.spanId !== parent?.spanId;
    const traceparent = formatTraceparent(
      own
        ? { traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags }
        : { traceId: parent?.traceId ?? randomHex(16), spanId: randomHex(8), flags: parent?.flags ?? TraceFlags.NONE },
    );
    return {
      traceparent,
      end(attrs) {
        if (!span.isRecording()) return;
        span.setAttributes({ 'modelgate.model': attrs.model, 'modelgate.version': attrs.version, 'modelgate.variant': attrs.variant, 'modelgate.code': attrs.code });
        if (attrs.error) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  }
}
