// The proxy's own OpenTelemetry SDK, built only when `proxy.tracing.otlp` is configured.
// Nothing is registered globally (no trace.setGlobalTracerProvider): the tracer is handed to
// `Tracing`, so an embedding process or a test can run several proxies, each exporting
// to its own collector, and the rest of the process keeps the no-op API.
import type { Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { OtlpConfig } from './config.ts';

export interface OtlpTracing {
  tracer: Tracer;
  /** Exports what is still queued, then stops; never rejects (a down collector only loses spans). */
  shutdown(): Promise<void>;
}

// Semantic conventions: the resource attribute every backend groups services by.
const SERVICE_NAME = 'service.name';

/** ExportResultCode.SUCCESS of @opentelemetry/core (0); anything else lost the batch. */
const EXPORT_SUCCESS = 0;

/** Passes batches to the real exporter and reports how many spans a failed export lost. */
class CountingExporter implements SpanExporter {
  constructor(
    readonly inner: SpanExporter,
    readonly onLost: (spans: number) => void,
  ) {}
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== EXPORT_SUCCESS) this.onLost(spans.length);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

/** `onLost` is told how many spans each failed export lost (the proxy counts them as dropped telemetry). */
export function createOtlpTracing(cfg: OtlpConfig, onLost: (spans: number) => void = () => {}): OtlpTracing {
  // The HTTP exporter sends OTLP/JSON (Content-Type application/json) and retries refused
  // connections and 429/502/503/504 with backoff until `timeoutMillis` runs out.
  const exporter = new CountingExporter(new OTLPTraceExporter({ url: cfg.url, headers: { ...cfg.headers }, timeoutMillis: cfg.timeoutMs }), onLost);
  // The batch processor keeps span.end() on the request path to an array push: exports run
  // on its timer, and past its queue limit (2048 spans by default) spans are dropped rather
  // than held, so a slow or down collector costs memory up to that cap and nothing else.
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [SERVICE_NAME]: cfg.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { exportTimeoutMillis: cfg.timeoutMs })],
  });
  return {
    tracer: provider.getTracer('modelgate-proxy'),
    async shutdown() {
      try {
        await provider.shutdown();
      } catch {
        // Export errors are already reported through the OTel diag logger; closing the
        // proxy must not fail because the collector did.
      }
    },
  };
}
