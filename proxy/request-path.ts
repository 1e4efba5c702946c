// What every forwarded request passes through, built once per proxy and handed to both
// forwarders (rest.ts and grpc.ts), so REST and gRPC always share the same components.
//
// Adding a component to the request path (e.g. admission, an access log): give it a field
// on ForwardDeps, build it in buildRequestPath from the config and the parts passed in, use
// it in rest.ts and grpc.ts; if it holds something to flush at shutdown, flush it in close()
// (the drain calls it after the listeners and the upstream clients have closed, so every
// request has been recorded by then).
import type { Clock } from '../common/index.ts';
import type { ModelCatalog } from './catalog.ts';
import type { Guard } from './guard/index.ts';
import type { ProxyConfig } from './config.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Observers } from './observers.ts';
import { Recorder } from './recorder.ts';
import type { Split } from './split.ts';
import type { SplitTable } from './split-table.ts';
import type { Telemetry } from './telemetry.ts';
import type { Tracing } from './tracing.ts';

/** What both forwarders (rest.ts, grpc.ts) are built from. */
export interface ForwardDeps {
  config: ProxyConfig;
  metrics: ProxyMetrics;
  observers: Observers;
  recorder: Recorder;
  tracing: Tracing;
  getSplit: (model: string) => Split | undefined;
  random: () => number;
  /** The admission stage (proxy/guard): absent when nothing is configured (no auth, no limits). */
  guard?: Guard | undefined;
}

/** Everything the request path's components may be built from. */
export interface RequestPathParts {
  config: ProxyConfig;
  clock: Clock;
  random: () => number;
  telemetry: Telemetry;
  catalog: ModelCatalog;
  splits: SplitTable;
  /** The admission stage, built (and its JWKS file read) by openGuard before the listeners open. */
  guard?: Guard | undefined;
}

export interface RequestPath {
  deps: ForwardDeps;
  /** Flushes what the components hold (buffered spans); after the listeners have closed. */
  close(): Promise<void>;
}

export function buildRequestPath(parts: RequestPathParts): RequestPath {
  const { config, clock, random, telemetry, catalog, splits } = parts;
  const { metrics, observers, tracing } = telemetry;
  const recorder = new Recorder({ clock, catalog, metrics, observers });
  const deps: ForwardDeps = { config, metrics, observers, recorder, tracing, getSplit: splits.get, random, guard: parts.guard };
  return {
    deps,
    close: () => telemetry.flush(),
  };
}
