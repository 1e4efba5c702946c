// `proxy.workers: N` (N > 1): the proxy's data plane in N node:cluster worker processes that
// share the REST and gRPC listen sockets; everything stateful stays in the primary.
//
// Primary: the gateway as in one process (admin API, SLO engine, drift, rollouts, truth,
// shadow, capture), its proxy opened with `listen: 'admin'` (no REST/gRPC listeners). It
// forks the workers, sends each the current split table and the body share its subscribers
// want, forwards every split change, ingests the outcomes and body samples the workers send,
// and answers /metrics with its own series plus every worker's, summed.
// Worker: the proxy with `listen: 'data'` only; its outcomes and sampled bodies are batched
// and sent to the primary every BATCH_MS or BATCH_ITEMS, never one message per request.
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { PROXY_METRIC } from '../common/index.ts';
import type { RequestOutcome } from '../common/index.ts';
import { createProxy, workerRestartsCounter } from '../proxy/index.ts';
import type { BodySample, Proxy, ProxyConfig, Split } from '../proxy/index.ts';
import { startGateway } from './gateway.ts';
import { OutcomeColumnsWriter, readOutcomeColumns } from './outcome-batch.ts';
import type { OutcomeColumns } from './outcome-batch.ts';
import type { Gateway, GatewayOptions } from './gateway.ts';

/** A worker flushes what it observed at least this often... */
const BATCH_MS = 25;
/** ...or as soon as this many outcomes are waiting. */
const BATCH_ITEMS = 256;
/** How often the primary re-reads its body subscribers' share and tells the workers when it moved. */
const SHARE_REFRESH_MS = 500;
/** A worker that has not answered a metrics request by then is left out of that scrape. */
const METRICS_TIMEOUT_MS = 2_000;
/** More deaths than RESTART_LIMIT within RESTART_WINDOW_MS stop the restarts. */
const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 30_000;
/** Series only the primary sets authoritatively (the workers' copies follow it). */
const PRIMARY_ONLY = new Set<string>([PROXY_METRIC.splitWeight]);

type ToWorker =
  | { t: 'splits'; splits: Record<string, Split> }
  | { t: 'split'; model: string; split: Split | null }
  | { t: 'share'; share: number }
  | { t: 'metrics'; id: number }
  | { t: 'drain'; timeoutMs: number };

type FromWorker =
  | { t: 'ready'; restUrl?: string; grpcAddress?: string }
  | { t: 'observed'; outcomes: OutcomeColumns; bodies: BodySample[] }
  | { t: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { t: 'drained' };

export interface ProxyCluster {
  gateway: Gateway;
  restUrl?: string;
  grpcAddress?: string;
  /** Workers drain (in-flight requests finish, their last outcomes arrive), then the gateway drains. */
  drain(): Promise<void>;
  /** Cuts what is in flight in every worker, then closes the gateway. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  workers: number;
  /** The gateway as `modelgate proxy --config` starts it; its registry becomes the merged one. */
  gateway: Omit<GatewayOptions, 'registry' | 'proxyListen'>;
  log: (msg: string) => void;
}

/** In the primary: the gateway without data listeners, and `workers` forked data planes. */
export async function startProxyCluster(opts: ClusterOptions): Promise<ProxyCluster> {
  const { log } = opts;
  // The kernel spreads connections over the workers' shared sockets: the primary relays
  // no handles (round-robin would cost the primary a hop per connection).
  if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ serialization: 'advanced' });

  const workers = new Map<Worker, { ready: boolean; drained: boolean }>();
  const registry = new ClusterRegistry(() => [...workers].filter(([, s]) => s.ready).map(([w]) => w));
  collectDefaultMetrics({ register: registry, prefix: 'modelgate_proxy_' });
  const restarts = workerRestartsCounter(registry);
  const override = opts.gateway.proxyOverride;
  const gateway = await startGateway({
    ...opts.gateway,
    registry,
    proxyListen: 'admin',
    // Each worker writes its own access-log lines; the primary would repeat them.
    proxyOverride: (p) => {
      const c = override ? override(p) : p;
      return { ...c, accessLog: { ...c.accessLog, enabled: false } };
    },
  });
  const { proxy } = gateway;
  let share = proxy.bodyShare();
  let stopping = false;
  const deaths: number[] = [];
  let addresses: { restUrl?: string; grpcAddress?: string } = {};
  let firstReady: (() => void) | undefined;
  let readyCount = 0;
  const allReady = new Promise<void>((resolve) => (firstReady = resolve));
  let failed: ((e: Error) => void) | undefined;
  const startFailed = new Promise<never>((_, reject) => (failed = reject));

  const send = (w: Worker, m: ToWorker): void => {
    if (w.isConnected()) w.send(m);
  };
  const broadcast = (m: ToWorker): void => {
    for (const [w, s] of workers) if (s.ready) send(w, m);
  };
  const fork = (): void => {
    const w = cluster.fork();
    workers.set(w, { ready: false, drained: false });
    // A send to a worker that has just died fails with EPIPE on this emitter; its 'exit' handles the death.
    w.on('error', () => undefined);
    w.on('message', (m: FromWorker) => {
      const state = workers.get(w);
      if (!state) return;
      if (m.t === 'observed') ingest(m.outcomes, m.bodies);
      else if (m.t === 'metrics') registry.answer(m.id, m.metrics);
      else if (m.t === 'drained') state.drained = true;
      else if (m.t === 'ready') {
        state.ready = true;
        addresses = { ...(m.restUrl ? { restUrl: m.restUrl } : {}), ...(m.grpcAddress ? { grpcAddress: m.grpcAddress } : {}) };
        send(w, { t: 'splits', splits: proxy.splits() });
        send(w, { t: 'share', share });
        if (++readyCount === opts.workers) firstReady?.();
      }
    });
    w.on('exit', (code, signal) => {
      const state = workers.get(w);
      workers.delete(w);
      registry.forget(w);
      if (stopping) return;
      if (!state?.ready && readyCount < opts.workers) {
        failed?.(new Error(`a proxy worker process exited before it listened (${signal ?? `exit code ${code}`}); its error is above`));
        return;
      }
      const now = Date.now();
      deaths.push(now);
      while (deaths.length && deaths[0]! < now - RESTART_WINDOW_MS) deaths.shift();
      if (deaths.length > RESTART_LIMIT) {
        log(`worker ${w.process.pid} died (${signal ?? `exit code ${code}`}); ${deaths.length} deaths within ${RESTART_WINDOW_MS / 1000} s: not restarting any more, ${workers.size} of ${opts.workers} workers left (fix the cause and restart modelgate)`);
        return;
      }
      log(`worker ${w.process.pid} died (${signal ?? `exit code ${code}`}); starting another`);
      restarts.inc({ reason: signal ? 'killed' : 'exited' });
      fork();
    });
  };

  const ingest = (outcomes: OutcomeColumns, bodies: BodySample[]): void => {
    let read: RequestOutcome[];
    try {
      read = readOutcomeColumns(outcomes);
    } catch (err) {
      // Cannot happen between processes of one build; if it does, say so rather than miscount.
      log(`a worker's outcome batch could not be read, ${outcomes.n} outcomes lost: ${(err as Error).message}`);
      read = [];
    }
    proxy.ingest(read, bodies.map(asBuffers));
  };
  const unsubscribe = proxy.onSplitChange((model, split) => broadcast({ t: 'split', model, split: split ?? null }));
  const refresh = setInterval(() => {
    const s = proxy.bodyShare();
    if (s !== share) broadcast({ t: 'share', share: (share = s) });
  }, SHARE_REFRESH_MS).unref();

  const stopWorkers = async (timeoutMs: number): Promise<void> => {
    stopping = true;
    clearInterval(refresh);
    unsubscribe();
    const exits = [...workers.keys()].map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      send(w, { t: 'drain', timeoutMs });
    }));
    await Promise.all(exits);
  };

  for (let i = 0; i < opts.workers; i++) fork();
  try {
    await Promise.race([allReady, startFailed]);
  } catch (err) {
    await stopWorkers(0);
    await gateway.close();
    throw err;
  }
  log(`${opts.workers} worker processes forward REST/gRPC; this process (pid ${process.pid}) keeps the admin API, SLOs, drift and rollouts`);

  let draining: Promise<void> | undefined;
  return {
    gateway,
    ...addresses,
    drain: () => (draining ??= (async () => {
      await stopWorkers(gatewayDrainMs(opts));
      await gateway.drain();
    })()),
    close: async () => {
      for (const w of workers.keys()) w.process.kill('SIGKILL');
      stopping = true;
      await gateway.close();
    },
  };
}

function gatewayDrainMs(opts: ClusterOptions): number {
  const p = opts.gateway.config.proxy;
  return (opts.gateway.proxyOverride ? opts.gateway.proxyOverride(p) : p).timeouts.drainMs;
}

/** In a worker: the proxy's data plane, reporting to the primary; returns when the primary says drain (or is gone). */
export async function runProxyWorker(proxyConfig: ProxyConfig, latencyThresholdsSeconds: readonly number[]): Promise<number> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'modelgate_proxy_' });
  const proxy = await createProxy({
    config: proxyConfig,
    registry,
    latencyThresholdsSeconds,
    listen: 'data',
  });
  const send = (m: FromWorker): Promise<void> => new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
  const batch = reportBatches(proxy, (outcomes, bodies) => void send({ t: 'observed', outcomes, bodies }));
  // A terminal's Ctrl-C reaches the whole process group: the primary decides when to drain.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = async (timeoutMs: number): Promise<void> => {
      if (done) return;
      done = true;
      await proxy.drain(timeoutMs);
      batch.flush();
      await send({ t: 'drained' });
      process.disconnect?.();
      resolve(0);
    };
    process.on('message', (m: ToWorker) => {
      if (m.t === 'splits') {
        for (const model of Object.keys(proxy.splits())) if (!(model in m.splits)) proxy.setSplit(model, undefined);
        for (const [model, split] of Object.entries(m.splits)) applySplit(proxy, model, split);
      } else if (m.t === 'split') applySplit(proxy, m.model, m.split ?? undefined);
      else if (m.t === 'share') batch.share = m.share;
      else if (m.t === 'metrics') void registry.getMetricsAsJSON().then((metrics) => send({ t: 'metrics', id: m.id, metrics }));
      else if (m.t === 'drain') void finish(m.timeoutMs);
    });
    // The primary is gone: nobody takes this worker's outcomes any more.
    process.on('disconnect', () => void finish(0));
    void send({ t: 'ready', ...(proxy.restUrl ? { restUrl: proxy.restUrl } : {}), ...(proxy.grpcAddress ? { grpcAddress: proxy.grpcAddress } : {}) });
  });
}

function applySplit(proxy: Proxy, model: string, split: Split | undefined): void {
  try {
    proxy.setSplit(model, split);
  } catch {
    // The primary validated it; a worker cannot refuse what the primary routes.
  }
}

interface Batcher {
  share: number;
  flush(): void;
}

/** Collects the worker's outcomes and bodies (at the primary's share) and hands them on in batches. */
function reportBatches(proxy: Proxy, ship: (outcomes: OutcomeColumns, bodies: BodySample[]) => void): Batcher {
  const outcomes = new OutcomeColumnsWriter(BATCH_ITEMS);
  let bodies: BodySample[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (outcomes.length === 0 && bodies.length === 0) return;
    const b = bodies;
    bodies = [];
    ship(outcomes.take(), b);
  };
  const queued = (): void => {
    if (outcomes.length + bodies.length >= BATCH_ITEMS) flush();
    else timer ??= setTimeout(flush, BATCH_MS);
  };
  const batcher: Batcher = { share: 0, flush };
  proxy.onOutcome((o) => {
    outcomes.push(o);
    queued();
  });
  // Every sample under the largest share any primary subscriber wants; the primary then
  // gives each subscriber its own share by the sample's draw.
  proxy.onBodies((b) => {
    bodies.push(b);
    queued();
  }, { share: () => batcher.share, maxShare: () => batcher.share });
  return batcher;
}

/** Structured clone turns Buffers into Uint8Arrays. */
function asBuffers(b: BodySample): BodySample {
  const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));
  return { ...b, requestBody: buf(b.requestBody), responseBody: buf(b.responseBody) };
}

/**
 * The primary's registry: its exposition is its own series plus every ready worker's,
 * summed per series by prom-client's aggregator (counters and histograms add up; the split
 * weight is the primary's).
 */
class ClusterRegistry extends Registry {
  readonly #workers: () => Worker[];
  readonly #pending = new Map<number, { want: number; got: MetricObjectWithValues<MetricValue<string>>[][]; done: () => void }>();
  #next = 0;

  constructor(workers: () => Worker[]) {
    super();
    this.#workers = workers;
  }

  override async metrics(): Promise<string> {
    const own = await this.getMetricsAsJSON();
    const ws = this.#workers();
    const id = ++this.#next;
    const got: MetricObjectWithValues<MetricValue<string>>[][] = [];
    await new Promise<void>((resolve) => {
      if (ws.length === 0) return resolve();
      const timer = setTimeout(resolve, METRICS_TIMEOUT_MS);
      this.#pending.set(id, { want: ws.length, got, done: () => (clearTimeout(timer), resolve()) });
      for (const w of ws) if (w.isConnected()) w.send({ t: 'metrics', id } satisfies ToWorker);
    });
    this.#pending.delete(id);
    const fromWorkers = got.map((list) => list.filter((m) => !PRIMARY_ONLY.has(m.name)));
    return AggregatorRegistry.aggregate([own, ...fromWorkers]).metrics();
  }

  answer(id: number, metrics: MetricObjectWithValues<MetricValue<string>>[]): void {
    const p = this.#pending.get(id);
    if (!p) return;
    p.got.push(metrics);
    if (p.got.length >= p.want) p.done();
  }

  /** A worker that died: a pending scrape stops waiting for it. */
  forget(_w: Worker): void {
    for (const p of this.#pending.values()) if (--p.want <= p.got.length) p.done();
  }
}
