// The proxy's observers and telemetry: request metrics, the outcome and body subscribers,
// spans and (when configured) their OTLP export and the access log (an outcome observer,
// so REST and gRPC are both in it). Built once per proxy; the forwarders
// write to it, the gateway's areas subscribe to it.
import type { Registry } from 'prom-client';
import { AccessLog } from './access-log.ts';
import type { ProxyConfig } from './config.ts';
import { ProxyMetrics } from './metrics.ts';
import { Observers } from './observers.ts';
import { createOtlpTracing } from './otlp.ts';
import { Tracing } from './tracing.ts';

export interface Telemetry {
  metrics: ProxyMetrics;
  observers: Observers;
  tracing: Tracing;
  /** Exports the spans still buffered (bounded by otlp.timeout) and flushes the access log; called once the listeners have closed. */
  flush(): Promise<void>;
}

/** `extraThresholdsSeconds`: latency thresholds (the SLO spec's) added to the histogram buckets. */
export function createTelemetry(config: ProxyConfig, registry: Registry, extraThresholdsSeconds: readonly number[] = []): Telemetry {
  const metrics = new ProxyMetrics(registry, [...config.latencyThresholdsSeconds, ...extraThresholdsSeconds]);
  const observers = new Observers(metrics, config.bodies.sampleRate);
  // Exporting only makes sense when spans are made; config.ts warns about otlp without enabled.
  const otlp = config.tracing.enabled && config.tracing.otlp
    ? createOtlpTracing(config.tracing.otlp, (spans) => metrics.dropped.inc({ reason: 'trace_export' }, spans))
    : undefined;
  const tracing = new Tracing(config.tracing.enabled, otlp?.tracer);
  const accessLog = config.accessLog.enabled ? new AccessLog(config.accessLog) : undefined;
  if (accessLog) observers.onOutcome(accessLog.observe);
  return {
    metrics,
    observers,
    tracing,
    flush: async () => {
      await Promise.all([otlp?.shutdown(), accessLog?.close()]);
    },
  };
}
