// Assembles the inference server: model manager, REST surface, metrics; start and drain.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../common/clock.ts';
import { flushedCloser, trackResponse } from '../common/flushed-close.ts';
import { ReloadableTls, type ReloadableTlsOptions } from '../common/tls.ts';
import { SERVER_LIMIT_DEFAULTS, type ServerConfig } from './config.ts';
import { ServerMetrics } from './metrics.ts';
import { ModelManager } from './models/manager.ts';
import type { ModelConfig, RunnerFactory } from './models/types.ts';
import { createRestHandler } from './rest/http.ts';
import { reclaimAfterLargeBodies } from './rest/reclaim.ts';
import { batchingRunnerFactory } from './batching/factory.ts';
import { startGrpcServer, type GrpcServer } from './grpc/server.ts';
import { DEFAULT_JSON_LIMITS } from './tensor/json.ts';
import { runWarmup } from './warmup.ts';

export const SERVER_VERSION = '0.1.0';

export interface StartOptions extends Partial<Omit<ServerConfig, 'models'>> {
  models: ModelConfig[];
  clock?: Clock;
  registry?: Registry;
  /** How versions run; default: dynamic batching for models whose config has `batching`. */
  runnerFactory?: RunnerFactory;
  /** Skip warmup (tests of the load path only). */
  warmup?: boolean;
  log?: (msg: string) => void;
  /** Collect Node process metrics into the registry (on for the CLI, off in tests by default). */
  processMetrics?: boolean;
}

export interface RunningServer {
  restUrl: string;
  restPort: number;
  /** 'host:port' of the gRPC server; undefined when gRPC is off (grpcPort -1 or not given). */
  grpcAddress?: string;
  grpcPort?: number;
  manager: ModelManager;
  registry: Registry;
  metrics: ServerMetrics;
  /** Readiness goes false at once; in-flight requests finish; then everything closes. */
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const registry = opts.registry ?? new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'modelgate_server_' });
  const metrics = new ServerMetrics(registry);
  const manager = new ModelManager(opts.models, {
    clock: opts.clock ?? systemClock,
    metrics,
    pollMs: opts.pollMs ?? 1000,
    runtime: { intraOpThreads: opts.intraOpThreads ?? 0 },
    warmup: opts.warmup === false ? undefined : (_m, _v, dir, loaded) => runWarmup(dir, loaded),
    runnerFactory: opts.runnerFactory ?? batchingRunnerFactory(metrics),
    maxLoadRetries: opts.maxLoadRetries,
    retryBaseMs: opts.retryBaseMs,
    log: opts.log,
  });
  let draining = false;
  let started = false;
  const handler = createRestHandler({
    manager,
    metrics,
    registry,
    isReady: () => started && !draining && manager.allReady(),
    options: {
      bodyLimitBytes: opts.bodyLimitBytes ?? SERVER_LIMIT_DEFAULTS.max_body_bytes,
      modelBodyLimits: new Map(opts.models.flatMap((m) => (m.maxBodyBytes !== undefined ? [[m.name, m.maxBodyBytes] as const] : []))),
      bodyReadTimeoutMs: opts.bodyReadTimeoutMs ?? SERVER_LIMIT_DEFAULTS.body_read_timeout_ms,
      maxLargeBodies: opts.maxLargeBodies ?? SERVER_LIMIT_DEFAULTS.max_large_bodies,
      afterLargeBodies: reclaimAfterLargeBodies(),
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      json: DEFAULT_JSON_LIMITS,
      serverName: 'modelgate',
      serverVersion: SERVER_VERSION,
    },
  });
  const tls = opts.tls ? await ReloadableTls.open(opts.tls, tlsEvents(opts.log)) : undefined;
  const serverOptions = { keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 300_000 };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
    trackResponse(req, res);
    handler(req, res);
  };
  // node:https's server is a node:http server over TLS (same events and close methods).
  const http: Server = tls ? (createHttpsServer({ ...serverOptions, ...tls.serverOptions() }, onRequest) as unknown as Server) : createServer(serverOptions, onRequest);
  if (tls) tls.attach(http as unknown as HttpsServer);
  const closeWhenFlushed = flushedCloser(http);
  // Listen first, so probes answer while models load (the server is up in well under 2 s).
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.restPort ?? 8501, opts.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  // gRPC is off unless a port is given (the CLI passes --port, default 8500; tests pass 0).
  let grpcServer: GrpcServer | undefined;
  if (opts.grpcPort !== undefined && opts.grpcPort >= 0) {
    try {
      grpcServer = await startGrpcServer({
        manager, metrics, host: opts.host ?? '127.0.0.1', port: opts.grpcPort,
        maxMessageBytes: opts.grpcMaxMessageBytes,
        maxTensorElements: opts.maxTensorElements || undefined,
        idleTimeoutMs: opts.grpcIdleTimeoutMs ?? SERVER_LIMIT_DEFAULTS.grpc_idle_timeout_seconds * 1000,
        messageReadTimeoutMs: opts.bodyReadTimeoutMs ?? SERVER_LIMIT_DEFAULTS.body_read_timeout_ms,
        isReady: () => started && !draining && manager.allReady(),
        serverName: 'modelgate', serverVersion: SERVER_VERSION,
      });
    } catch (e) {
      http.close();
      tls?.close();
      throw e;
    }
  }
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  try {
    await manager.start();
  } catch (e) {
    http.close();
    tls?.close();
    await grpcServer?.close(0);
    throw e;
  }
  started = true;

  let closing: Promise<void> | undefined;
  const drain = (timeoutMs = opts.drainTimeoutMs ?? 30_000): Promise<void> => {
    if (closing) return closing;
    draining = true;
    // gRPC health goes NOT_SERVING before anything drains (load balancers stop sending).
    grpcServer?.stopAccepting();
    closing = (async () => {
      // http.close() closes idle connections through closeWhenFlushed (see flushedCloser).
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      closeWhenFlushed();
      const timer = setTimeout(() => http.closeAllConnections(), timeoutMs);
      timer.unref();
      await Promise.all([closed, grpcServer?.close(timeoutMs)]);
      clearTimeout(timer);
      tls?.close();
      await manager.close();
    })();
    return closing;
  };
  return {
    restUrl: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    restPort: port,
    grpcAddress: grpcServer?.address,
    grpcPort: grpcServer?.port,
    manager,
    registry,
    metrics,
    drain,
    close: () => drain(0),
  };
}

/** Certificate reloads are logged: a failed one keeps the previous certificate serving. */
function tlsEvents(log: ((msg: string) => void) | undefined): ReloadableTlsOptions {
  return {
    onReload: (serial) => log?.(`TLS certificate reloaded (serial ${serial})`),
    onError: (err) => log?.(`TLS reload failed, still serving the previous certificate: ${err.message}`),
  };
}
