// One span per proxied request, and W3C Trace Context propagation to the upstream.
// With no OpenTelemetry SDK registered the API is a no-op and its propagator injects
// nothing, so traceparent handling is done here (W3C Trace Context, §3.2 traceparent):
// an incoming trace is continued with a new parent-id, otherwise a new trace is started;
// either way the upstream receives a traceparent. When an SDK is registered its span ids
// are used, so the upstream's spans nest under the proxy's.
import { trace, ROOT_CONTEXT, INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, isSpanContextValid } from '@opentelemetry/api';
import type { Span, SpanContext, Tracer } from '@opentelemetry/api';
import { randomHex, randomTraceparent } from './random-ids.ts';

export interface TraceParent {
  traceId: string;
  spanId: string;
  flags: number;
}

// §3.2.2: version "ff" is invalid; all-zero trace-id and parent-id are invalid. The shape
// is tested without capture groups (no match array, no substrings but the three kept).
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (!header) return undefined;
  const h = header.trim();
  if (!TRACEPARENT.test(h)) return undefined;
  const version = h.slice(0, 2);
  // §3.2.4: a version-00 header must be exactly 55 characters; later versions may extend it
  // (after the flags: the end, or a dash).
  if (version === 'ff' || (version === '00' && h.length > 55)) return undefined;
  const traceId = h.slice(3, 35);
  const spanId = h.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: parseInt(h.slice(53, 55), 16) };
}

export function formatTraceparent(t: TraceParent): string {
  return `00-${t.traceId}-${t.spanId}-${(t.flags & 0xff).toString(16).padStart(2, '0')}`;
}

export interface RequestTrace {
  /** The traceparent to send upstream. */
  traceparent: string;
  end(attrs: { model: string; version: string; variant: string; code: string; error: boolean }): void;
}

export class Tracing {
  readonly #tracer: Tracer;
  readonly #enabled: boolean;

  /** `tracer`: the proxy's own SDK tracer when OTLP export is configured (see otlp.ts); else the global API's. */
  constructor(enabled: boolean, tracer: Tracer = trace.getTracer('modelgate-proxy')) {
    this.#enabled = enabled;
    this.#tracer = tracer;
  }

  start(name: string, incoming: string | undefined): RequestTrace | undefined {
    if (!this.#enabled) return undefined;
    const parent = parseTraceparent(incoming);
    const remote: SpanContext | undefined = parent && { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true };
    const ctx = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const span: Span = this.#tracer.startSpan(name, { kind: SpanKind.SERVER }, ctx);
    const sc = span.spanContext();
    // A real SDK span has its own id; the no-op span only echoes the parent (or is invalid).
    // The no-op's two answers are known objects, so the id checks run only for SDK spans.
    const own = sc !== INVALID_SPAN_CONTEXT && sc !== remote && isSpanContextValid(sc) && sc.spanId !== parent?.spanId;
    const traceparent =
      own ? formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags })
      : parent ? formatTraceparent({ traceId: parent.traceId, spanId: randomHex(8), flags: parent.flags })
      : randomTraceparent();
    return {
      traceparent,
      end(attrs) {
        if (!span.isRecording()) return;
        span.setAttributes({
          'modelgate.model': attrs.model,
          'modelgate.version': attrs.version,
          'modelgate.variant': attrs.variant,
          'modelgate.code': attrs.code,
        });
        if (attrs.error) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  }
}
