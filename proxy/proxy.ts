// Composes the proxy from its parts: observers and telemetry (telemetry.ts), the upstream
// clients (upstreams.ts), the catalog and the split table, the request path both forwarders
// share (request-path.ts), the listeners (REST, gRPC, admin: listeners.ts) and the drain
// (drain.ts). `createProxy` is what the CLI, the lead's all-in-one process and the tests
// call; everything it needs is passed in.
import type { Registry } from 'prom-client';
import { ConfigError, systemClock } from '../common/index.ts';
import type { Clock, RequestOutcome } from '../common/index.ts';
import { AdminApi, adminExposureProblem } from './admin.ts';
import type { AdminAction, AdminHandler, RouteOptions } from './admin.ts';
import { ModelCatalog, httpStatusFetcher } from './catalog.ts';
import type { ProxyConfig } from './config.ts';
import { drainer } from './drain.ts';
import { openGuard } from './guard/index.ts';
import { createGrpcServer } from './grpc.ts';
import { openListeners } from './listeners.ts';
import { openListenerTls } from './tls-config.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { BodyObserver, BodySample, BodySubscription, OutcomeObserver } from './observers.ts';
import { buildRequestPath } from './request-path.ts';
import { createRestListener } from './rest.ts';
import type { Split } from './split.ts';
import { mountSplitRoutes } from './split-routes.ts';
import type { SplitGuard } from './split-routes.ts';
import { createSplitTable } from './split-table.ts';
import type { SplitTable } from './split-table.ts';
import { createTelemetry } from './telemetry.ts';
import { openUpstreams } from './upstreams.ts';
import type { Upstreams } from './upstreams.ts';

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
  /**
   * Which listeners this process opens: `all` (default); `admin` for the primary of
   * `proxy.workers` > 1 (no REST/gRPC: its workers forward and send it their outcomes);
   * `data` for such a worker (REST and gRPC, no admin API).
   */
  listen?: 'all' | 'admin' | 'data';
}

export interface Proxy {
  /** `http://127.0.0.1:port` when REST is configured (`https://` with `rest.tls`). */
  restUrl?: string;
  /** `127.0.0.1:port` when gRPC is configured. */
  grpcAddress?: string;
  adminUrl: string;
  /** Subscribes to every finished request; returns an unsubscribe function. */
  onOutcome(fn: OutcomeObserver): () => void;
  /** Subscribes to sampled request/response bodies, delivered off the response path. */
  onBodies(fn: BodyObserver, opts?: BodySubscription): () => void;
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
  /** Subscribes to changes made through the admin API (split changes, rollout commands, feedback...), for the audit log. */
  onAdminAction(fn: (a: AdminAction) => void): () => void;
  /** Models and versions currently on the label allowlist. */
  catalog: ModelCatalog;
  /** Hands outcomes and sampled bodies that other processes (data-plane workers) observed to this proxy's subscribers. */
  ingest(outcomes: readonly RequestOutcome[], bodies: readonly BodySample[]): void;
  /** The largest share of traffic any body subscriber wants (0 with none). */
  bodyShare(): number;
  /** Called after every split change, from any source; returns the unsubscribe. */
  onSplitChange(fn: (model: string, split: Split | undefined) => void): () => void;
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

export async function createProxy(opts: CreateProxyOptions): Promise<Proxy> {
  const { config, registry } = opts;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const listen = opts.listen ?? 'all';
  const adminToken = checkedAdminToken(config, opts.env ?? process.env);
  /** `draining`: readiness answers 503 and REST responses close their connection. */
  const lifecycle = { draining: false };

  const telemetry = createTelemetry(config, registry, opts.latencyThresholdsSeconds);
  const upstreams = openUpstreams(config);
  const catalog = createCatalog(config, clock, telemetry.metrics, upstreams);
  const splits = createSplitTable(config.splits, catalog, telemetry.metrics);
  const guard = await openGuard({ config: config.guard, registry, clock, env: opts.env ?? process.env, modelLabel: (m) => catalog.modelLabel(m, false) }).catch(async (err: unknown) => {
    await upstreams.close();
    throw err;
  });
  const path = buildRequestPath({ config, clock, random, telemetry, catalog, splits, guard });
  const admin = createAdmin(config, registry, adminToken, catalog, splits, lifecycle);

  const { pool, native, slots } = upstreams;
  const tls = await openListenerTls({ rest: config.rest?.tls, grpc: config.grpc?.tls }, (listener, outcome) => telemetry.metrics.tlsReloads.inc({ entrypoint: listener, outcome })).catch(async (err: unknown) => {
    await upstreams.close();
    await path.close();
    throw err;
  });
  const listeners = await openListeners(config, {
    rest: listen !== 'admin' && config.rest && pool ? createRestListener({ ...path.deps, pool, native, slots, lifecycle }, tls.rest) : undefined,
    grpc: listen !== 'admin' && upstreams.grpc ? createGrpcServer(path.deps, upstreams.grpc, tls.grpc) : undefined,
    admin: listen === 'data' ? undefined : admin.server,
  }).catch(async (err: unknown) => {
    tls.close();
    await upstreams.close();
    await path.close();
    throw err;
  });
  const stopPolling = pollUpstreamStatus(config, catalog, upstreams);
  const { drain, close } = drainer({
    lifecycle,
    listeners,
    stopBackground: stopPolling,
    after: [upstreams.close, path.close, async () => tls.close()],
    defaultTimeoutMs: config.timeouts.drainMs,
  });

  return {
    ...(listeners.restUrl !== undefined ? { restUrl: listeners.restUrl } : {}),
    ...(listeners.grpcAddress !== undefined ? { grpcAddress: listeners.grpcAddress } : {}),
    adminUrl: listeners.adminUrl,
    onOutcome: (fn) => telemetry.observers.onOutcome(fn),
    onBodies: (fn, o) => telemetry.observers.onBodies(fn, o),
    setSplit: splits.set,
    getSplit: splits.get,
    splits: splits.all,
    guardSplits: splits.guard,
    route: (method, p, handler, o) => admin.route(method, p, handler, o),
    onAdminAction: (fn) => admin.onAction(fn),
    catalog,
    ingest: (outcomes, bodies) => {
      for (const o of outcomes) telemetry.observers.emitOutcome(o);
      if (bodies.length) telemetry.observers.deliverBodies(bodies);
    },
    bodyShare: () => telemetry.observers.maxShare(),
    onSplitChange: (fn) => splits.onChange(fn),
    drain,
    close,
  };
}

/** The admin token (config or environment); refuses to start when the admin API would be exposed without one. */
function checkedAdminToken(config: ProxyConfig, env: Record<string, string | undefined>): string | undefined {
  const token = config.admin.token ?? env[config.admin.tokenEnv];
  const exposure = adminExposureProblem(config.admin.host, token, config.admin.readOnly, config.admin.tokenEnv);
  if (exposure) throw new ConfigError('proxy.admin', [{ severity: 'error', path: 'proxy.admin.host', message: exposure }]);
  return token;
}

/** The admin API with the proxy's own routes: splits and readiness. */
function createAdmin(config: ProxyConfig, registry: Registry, token: string | undefined, catalog: ModelCatalog, splits: SplitTable, lifecycle: { draining: boolean }): AdminApi {
  const admin = new AdminApi({ registry, token, readOnly: config.admin.readOnly });
  mountSplitRoutes(admin, {
    getSplit: splits.get,
    setSplit: splits.set,
    splits: splits.all,
    servedVersions: (m) => catalog.servedVersions(m),
    guards: splits.guards,
  });
  // Readiness: 503 from the moment a drain starts, so load balancers stop sending here.
  const health = () => (lifecycle.draining ? { status: 503, body: { status: 'draining' } } : { body: { status: 'ok' } });
  admin.route('GET', '/healthz', health);
  admin.route('GET', '/readyz', health);
  return admin;
}

/** The label allowlist and version resolution; asks the REST upstream's status API when there is one. */
function createCatalog(config: ProxyConfig, clock: Clock, metrics: ProxyMetrics, upstreams: Upstreams): ModelCatalog {
  const { statusGet } = upstreams;
  return new ModelCatalog({
    clock,
    maxModels: config.labels.maxModels,
    maxVersionsPerModel: config.labels.maxVersionsPerModel,
    goneVersionGraceMs: config.labels.goneVersionGraceMs,
    onVersionGone: (model, version) => metrics.removeVersion(model, version),
    ...(statusGet ? { fetchStatus: httpStatusFetcher(statusGet, config.labels.statusApi) } : {}),
  });
}

/** Polls the REST upstream's status API for the versions it serves; returns the stop. */
function pollUpstreamStatus(config: ProxyConfig, catalog: ModelCatalog, upstreams: Upstreams): () => void {
  if (!upstreams.pool || config.labels.statusApi === 'none') return () => undefined;
  const poll = setInterval(() => void catalog.pollAll(), config.labels.statusPollMs).unref();
  void catalog.pollAll();
  return () => clearInterval(poll);
}
