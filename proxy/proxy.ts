// Composes the proxy: REST and/or gRPC listeners, the admin API, the catalog (allowlist and
// version resolution), metrics, tracing and observers. `createProxy` is what the CLI, the
// lead's all-in-one process and the tests call; everything it needs is passed in.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Http2Server, Http2Session } from 'node:http2';
import { Pool } from 'undici';
import { H1Upstream } from './h1-upstream.ts';
import { FairShare } from './fair-share.ts';
import type { Registry } from 'prom-client';
import { ConfigError, Issues, systemClock } from '../common/index.ts';
import type { Clock } from '../common/index.ts';
import { AdminApi, adminExposureProblem } from './admin.ts';
import { mountSplitRoutes } from './split-routes.ts';
import type { SplitGuard } from './split-routes.ts';
import type { AdminHandler, RouteOptions } from './admin.ts';
import { ModelCatalog, httpStatusFetcher } from './catalog.ts';
import type { ProxyConfig } from './config.ts';
import { ProxyErrors } from './errors.ts';
import { createGrpcServer, UpstreamSession } from './grpc.ts';
import { ProxyMetrics } from './metrics.ts';
import { Observers } from './observers.ts';
import type { BodyObserver, OutcomeObserver } from './observers.ts';
import { Recorder } from './recorder.ts';
import { createRestServer } from './rest.ts';
import { readSplit } from './split.ts';
import type { Split } from './split.ts';
import { createOtlpTracing } from './otlp.ts';
import { Tracing } from './tracing.ts';

export interface CreateProxyOptions {
  config: ProxyConfig;
  registry: Registry;
  clock?: Clock;
  /** Random source for the split and body sampling (tests pass a seeded one). */
  random?: () => number;
  /** Environment for the admin token (default process.env). */
  env?: Record<string, string | undefined>;
  /** Extra latency thresholds, seconds (the SLO spec's), added to the histogram buckets. */
  latencyThresholdsSeconds?: readonly number[];
}

export interface Proxy {
  /** `http://127.0.0.1:port` when REST is configured. */
  restUrl?: string;
  /** `127.0.0.1:port` when gRPC is configured. */
  grpcAddress?: string;
  adminUrl: string;
  /** Subscribes to every finished request; returns an unsubscribe function. */
  onOutcome(fn: OutcomeObserver): () => void;
  /** Subscribes to sampled request/response bodies, delivered off the response path. */
  onBodies(fn: BodyObserver): () => void;
  /** Sets (or with `undefined`, removes) a model's split. Throws PRX_ERR_INVALID_ARGUMENT for a bad split. */
  setSplit(model: string, split: Split | undefined): void;
  getSplit(model: string): Split | undefined;
  /** All current splits. */
  splits(): Record<string, Split>;
  /**
   * Registers a guard the admin split routes consult before a manual change (the rollout
   * controller refuses changes to a model it is rolling out). Returns its removal.
   */
  guardSplits(guard: SplitGuard): () => void;
  /** Mounts a route on the admin API (routes under /api/ need the bearer token). */
  route(method: string, path: string, handler: AdminHandler, opts?: RouteOptions): void;
  /** Models and versions currently on the label allowlist. */
  catalog: ModelCatalog;
  /**
   * Graceful shutdown: readiness (`/healthz`, `/readyz`) goes 503 at once, the REST and gRPC
   * listeners stop accepting, requests in flight finish (responses say `connection: close`,
   * gRPC sessions get GOAWAY), idle keep-alive connections close; whatever is still open
   * after `timeoutMs` (default `timeouts.drain`) is cut. Then the admin API and the upstream
   * clients close. Calling it again returns the same promise.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Like drain(0): cuts what is in flight; during a drain, cuts it short. */
  close(): Promise<void>;
}

/** Which listener could not be opened, for a message that names the setting to change. */
export type ListenerName = 'rest' | 'grpc' | 'admin';

/** A listener could not bind (port taken, no permission, no such address). */
export class ListenError extends Error {
  readonly listener: ListenerName;
  readonly host: string;
  readonly port: number;
  readonly code: string;
  constructor(listener: ListenerName, host: string, port: number, cause: NodeJS.ErrnoException) {
    const why = cause.code === 'EADDRINUSE' ? 'is already in use' : cause.code === 'EACCES' ? 'needs privileges this process does not have' : `cannot be opened (${cause.message})`;
    super(`the proxy's ${listener === 'rest' ? 'REST' : listener === 'grpc' ? 'gRPC' : 'admin'} port ${host}:${port} ${why}`, { cause });
    this.name = 'ListenError';
    this.listener = listener;
    this.host = host;
    this.port = port;
    this.code = cause.code ?? 'EUNKNOWN';
  }
}

async function listen(server: Server | Http2Server, name: ListenerName, host: string, port: number): Promise<AddressInfo> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    throw new ListenError(name, host, port, err as NodeJS.ErrnoException);
  }
  return server.address() as AddressInfo;
}

const hostForUrl = (a: AddressInfo) => (a.family === 'IPv6' ? `[${a.address}]` : a.address);

export async function createProxy(opts: CreateProxyOptions): Promise<Proxy> {
  const { config, registry } = opts;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const env = opts.env ?? process.env;

  const metrics = new ProxyMetrics(registry, [...config.latencyThresholdsSeconds, ...(opts.latencyThresholdsSeconds ?? [])]);
  const observers = new Observers(metrics);
  // Exporting only makes sense when spans are made; config.ts warns about otlp without enabled.
  const otlp = config.tracing.enabled && config.tracing.otlp
    ? createOtlpTracing(config.tracing.otlp, (spans) => metrics.dropped.inc({ reason: 'trace_export' }, spans))
    : undefined;
  const tracing = new Tracing(config.tracing.enabled, otlp?.tracer);

  // Keep-alive pool to the REST upstream, `limits.upstreamConnections` connections, shared
  // fairly between models (fair-share.ts): a slow model cannot hold them all.
  const connections = config.limits.upstreamConnections;
  const slots = new FairShare(connections, config.limits.modelConnections);
  const lifecycle = { draining: false };
  const pool = config.rest
    ? new Pool(config.rest.upstream, { connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: Math.min(config.timeouts.upstreamMs, 10_000) } })
    : undefined;

  // The native HTTP/1.1 client for bodiless and small gathered requests (rest.ts decides per
  // request); same bounds as the pool above.
  const native = config.rest?.client === 'native'
    ? new H1Upstream({ origin: config.rest.upstream, connections, connectTimeoutMs: Math.min(config.timeouts.upstreamMs, 10_000), bodyTimeoutMs: config.timeouts.upstreamMs, idleTimeoutMs: 30_000 })
    : undefined;

  const statusGet = async (path: string) => {
    const r = await pool!.request({ path, method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
    const text = await r.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: r.statusCode, body };
  };
  const catalog = new ModelCatalog({
    clock,
    maxModels: config.labels.maxModels,
    maxVersionsPerModel: config.labels.maxVersionsPerModel,
    goneVersionGraceMs: config.labels.goneVersionGraceMs,
    onVersionGone: (model, version) => metrics.removeVersion(model, version),
    ...(pool ? { fetchStatus: httpStatusFetcher(statusGet, config.labels.statusApi) } : {}),
  });

  const splitTable = new Map<string, Split>();
  const setSplit = (model: string, split: Split | undefined) => {
    if (split === undefined) {
      splitTable.delete(model);
      metrics.splitWeight.remove({ model });
      return;
    }
    const issues = new Issues();
    const checked = readSplit(split, `splits.${model}`, issues);
    if (!checked || !issues.ok) {
      throw ProxyErrors.PRX_ERR_INVALID_ARGUMENT(issues.errors.map((i) => `${i.path}: ${i.message}`).join('; ') || 'invalid split');
    }
    // Operator-named versions are trusted label values.
    catalog.admit(model);
    catalog.admitVersion(model, checked.stable);
    if (checked.canary !== undefined) catalog.admitVersion(model, checked.canary);
    splitTable.set(model, Object.freeze(checked));
    metrics.splitWeight.set({ model }, checked.canary === undefined ? 0 : checked.weight);
  };
  for (const [model, split] of Object.entries(config.splits)) setSplit(model, split);
  const getSplit = (model: string) => splitTable.get(model);

  const recorder = new Recorder({ clock, catalog, metrics, observers });
  const deps = { config, metrics, observers, recorder, tracing, getSplit, random };

  const adminToken = config.admin.token ?? env[config.admin.tokenEnv];
  const exposure = adminExposureProblem(config.admin.host, adminToken, config.admin.readOnly, config.admin.tokenEnv);
  if (exposure) throw new ConfigError('proxy.admin', [{ severity: 'error', path: 'proxy.admin.host', message: exposure }]);
  const admin = new AdminApi({ registry, token: adminToken, readOnly: config.admin.readOnly });
  const splitGuards: SplitGuard[] = [];
  mountSplitRoutes(admin, {
    getSplit,
    setSplit,
    splits: () => Object.fromEntries(splitTable),
    servedVersions: (m) => catalog.servedVersions(m),
    guards: () => splitGuards,
  });
  // Readiness: 503 from the moment a drain starts, so load balancers stop sending here.
  const health = () => (lifecycle.draining ? { status: 503, body: { status: 'draining' } } : { body: { status: 'ok' } });
  admin.route('GET', '/healthz', health);
  admin.route('GET', '/readyz', health);

  let restServer: Server | undefined;
  let grpcServer: Http2Server | undefined;
  let upstreamSession: UpstreamSession | undefined;
  const grpcSessions = new Set<Http2Session>();
  const result: Partial<Proxy> = {};
  const servers: Array<Server | Http2Server> = [];
  try {
    if (config.rest && pool) {
      restServer = createRestServer({ ...deps, pool, native, slots, lifecycle });
      servers.push(restServer);
      const a = await listen(restServer, 'rest', config.rest.host, config.rest.port);
      result.restUrl = `http://${hostForUrl(a)}:${a.port}`;
    }
    if (config.grpc) {
      upstreamSession = new UpstreamSession(config.grpc.upstream);
      grpcServer = createGrpcServer(deps, upstreamSession);
      grpcServer.on('session', (s) => {
        grpcSessions.add(s);
        s.on('close', () => grpcSessions.delete(s));
      });
      servers.push(grpcServer);
      const a = await listen(grpcServer, 'grpc', config.grpc.host, config.grpc.port);
      result.grpcAddress = `${hostForUrl(a)}:${a.port}`;
    }
    servers.push(admin.server);
    const a = await listen(admin.server, 'admin', config.admin.host, config.admin.port);
    result.adminUrl = `http://${hostForUrl(a)}:${a.port}`;
  } catch (err) {
    for (const s of servers) if (s.listening) s.close();
    upstreamSession?.close();
    native?.close();
    await pool?.destroy();
    await otlp?.shutdown();
    throw err;
  }

  const poll = pool && config.labels.statusApi !== 'none'
    ? setInterval(() => void catalog.pollAll(), config.labels.statusPollMs).unref()
    : undefined;
  if (poll) void catalog.pollAll();

  const closed = (s: Server | Http2Server | undefined): Promise<void> =>
    s?.listening ? new Promise((resolve) => s.close(() => resolve())) : Promise.resolve();
  let closing: Promise<void> | undefined;
  /** Ends the drain's wait early (close() during a drain). */
  let cutShort: (() => void) | undefined;
  const drain = (timeoutMs: number = config.timeouts.drainMs): Promise<void> => {
    closing ??= (async () => {
      lifecycle.draining = true;
      if (poll) clearInterval(poll);
      // Stop accepting; the close callbacks fire once every connection / session is gone.
      const forwarding = Promise.all([closed(restServer), closed(grpcServer)]);
      // GOAWAY: no new streams on these sessions, the open ones run to their end.
      for (const s of grpcSessions) if (!s.closed && !s.destroyed) s.close();
      // Idle keep-alive connections close now, busy ones once their response has been
      // flushed (rest.ts trackConnections; close() above did the same).
      restServer?.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([forwarding, new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        cutShort = resolve;
      })]);
      clearTimeout(timer);
      // Past the drain timeout: cut what is left.
      restServer?.closeAllConnections();
      for (const s of grpcSessions) s.destroy();
      await forwarding;
      const adminClosed = closed(admin.server);
      admin.server.closeAllConnections();
      await adminClosed;
      upstreamSession?.close();
      native?.close();
      await pool?.destroy();
      // After the servers: every span has ended, so the flush exports all of them (bounded by
      // otlp.timeout when the collector is down).
      await otlp?.shutdown();
    })();
    return closing;
  };

  return {
    ...result,
    adminUrl: result.adminUrl!,
    onOutcome: (fn) => observers.onOutcome(fn),
    onBodies: (fn) => observers.onBodies(fn),
    setSplit,
    getSplit,
    splits: () => Object.fromEntries(splitTable),
    guardSplits: (g) => {
      splitGuards.push(g);
      return () => {
        const k = splitGuards.indexOf(g);
        if (k !== -1) splitGuards.splice(k, 1);
      };
    },
    route: (method, path, handler, o) => admin.route(method, path, handler, o),
    catalog,
    drain,
    close: () => {
      cutShort?.();
      return drain(0);
    },
  };
}
