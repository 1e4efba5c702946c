// The proxy process as users run it: the proxy (proxy/), with the SLO engine (slo/), the
// drift recorder (drift/) and the notifier attached, and the evaluation tick that turns
// their windows into verdicts. This is the only place the areas meet; each stays ignorant
// of the others (the proxy does not know SLOs, the SLO maths does not know HTTP).
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../common/clock.ts';
import type { Config } from '../config/index.ts';
import { createProxy, type Proxy, type ProxyConfig } from '../proxy/index.ts';
import { SloEngine, sloLatencyThresholds, startSlos, type AlertNotifier, type SloRuntime } from '../slo/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics, saveBaseline } from '../drift/index.ts';
import { decodeGrpcBodies } from '../drift/grpc-bodies.ts';
import { startFleet, type Fleet } from './fleet.ts';
import { mountStatusPage } from '../proxy/status-page/index.ts';
import { RolloutStore, attachRollouts, driftSource, sloBurnSource, type LabelMover, type RolloutController, type VersionSource } from '../rollout/index.ts';
import { runWhileLeader } from './leader.ts';
import { SplitFollower } from './split-follower.ts';
import { GroundTruth, mountFeedbackRoutes, registerTruthMetrics } from '../truth/index.ts';
import { Mirror, captureWriter, registerCaptureMetrics, type CaptureWriter, type MirrorPlan } from '../shadow/index.ts';

export interface GatewayOptions {
  config: Config;
  /** Replaces parts of the proxy section (e.g. the upstream of `modelgate start`). */
  proxyOverride?: (p: ProxyConfig) => ProxyConfig;
  clock?: Clock;
  registry?: Registry;
  /** Evaluation tick, ms (SLO windows and drift verdicts). Default 5 s. */
  tickMs?: number;
  log?: (msg: string) => void;
  /** Where rollout state (rollouts.json) and the audit log live. Default `.modelgate-state`. */
  stateDir?: string;
  /**
   * Moves the server's `stable` label on promotion and lists AVAILABLE versions. In
   * `modelgate start` the server is in the same process (its ModelManager); without one the
   * proxy's catalog gives the versions and the log says to move the label by hand.
   */
  serverLabels?: LabelMover & VersionSource;
  /** Environment for the replica identity (leader:); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** `admin`: the proxy opens no REST/gRPC listeners (the primary of `proxy.workers` > 1, app/workers.ts). */
  proxyListen?: 'all' | 'admin';
}

export interface Gateway {
  proxy: Proxy;
  slo: SloEngine;
  drift: DriftRecorder | undefined;
  /** Stored predictions and delayed labels (truth: section), when configured. */
  truth: GroundTruth | undefined;
  notifier: AlertNotifier;
  registry: Registry;
  /** Fleet-wide SLO source (sloSource: prometheus) and who acts (leader:); see app/fleet.ts. */
  fleet: Fleet;
  /** The rollout controller while this replica leads and rollouts are configured. */
  rollouts(): RolloutController | undefined;
  /** One evaluation now (also run by the timer). */
  tick(): void;
  /**
   * Graceful stop (SIGTERM): rollouts stop acting, the proxy drains (Proxy#drain: readiness
   * 503, no new connections, in-flight requests finish up to `timeoutMs`, default
   * `proxy.timeouts.drain`), whose outcomes the SLOs still count; then everything closes.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops at once: what is in flight is cut (during a drain, cuts it short). */
  close(): Promise<void>;
}

export const DEFAULT_TICK_MS = 5_000;

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const run = runContext(opts);
  const proxyConfig = opts.proxyOverride ? opts.proxyOverride(run.config.proxy) : run.config.proxy;
  const proxy = await openProxy(run, proxyConfig, opts.proxyListen ?? 'all');
  const fleet = await joinFleet(run, proxy, opts.env ?? process.env);
  const slos = attachSlos(run, proxy, fleet);
  const drift = await attachDrift(run, proxy, slos.engine);
  const truth = attachTruth(run, proxy, slos.engine);
  const capture = attachCapture(run, proxy);
  // The mirror asks the rollout controller (started next) which models are in a shadow step.
  let controller: () => RolloutController | undefined = () => undefined;
  const mirror = attachShadow(run, proxy, proxyConfig, (m) => controller()?.shadowPlan(m));
  const rollouts = startRollouts(run, proxy, fleet, drift, truth, mirror, opts);
  controller = rollouts.controller;
  const adminAudit = auditAdminActions(proxy, opts.stateDir, run.clock, run.log);
  mountReadApis(run.clock, proxy, fleet, slos.engine, drift, rollouts, mirror, truth);
  const tick = evaluationTick(run, fleet, drift, slos.engine);
  const timer = setInterval(tick, run.tickMs);
  timer.unref();

  // Graceful stop: rollouts stop acting, the proxy drains (its outcomes still reach the
  // SLOs), then the SLO runtime and the fleet close.
  let stopping: Promise<void> | undefined;
  const stop = async (drainMs: number | undefined): Promise<void> => {
    clearInterval(timer);
    await rollouts.close();
    // Hand the lease over before draining: another replica acts while this one finishes
    // its requests, instead of after the drain (fleet.close() below is then a no-op for it).
    await fleet.leader.close();
    await proxy.drain(drainMs);
    await Promise.all([capture?.close(), mirror?.close(), adminAudit.flush()]);
    await slos.close();
    await fleet.close();
  };

  return {
    proxy,
    slo: slos.engine,
    drift,
    truth,
    notifier: fleet.notifier ?? slos.notifier,
    registry: run.registry,
    fleet,
    rollouts: () => rollouts.controller(),
    tick,
    drain: (timeoutMs) => (stopping ??= stop(timeoutMs)),
    close: () => {
      // During a drain: cut the proxy's in-flight requests; the drain then finishes.
      if (stopping) void proxy.close();
      return (stopping ??= stop(0));
    },
  };
}

/** What every part of the gateway is built with. */
interface RunContext {
  config: Config;
  clock: Clock;
  registry: Registry;
  log: (msg: string) => void;
  /** The evaluation tick, ms. */
  tickMs: number;
}

function runContext(opts: GatewayOptions): RunContext {
  return {
    config: opts.config,
    clock: opts.clock ?? systemClock,
    registry: opts.registry ?? new Registry(),
    log: opts.log ?? (() => {}),
    tickMs: opts.tickMs ?? DEFAULT_TICK_MS,
  };
}

/** The proxy, with the SLO latency thresholds among its histogram buckets. */
function openProxy(run: RunContext, proxyConfig: ProxyConfig, listen: 'all' | 'admin'): Promise<Proxy> {
  const { config, registry, clock } = run;
  return createProxy({
    config: proxyConfig,
    registry,
    clock,
    latencyThresholdsSeconds: sloLatencyThresholds(config.slos),
    listen,
  });
}

/** The fleet: the SLO source (local or Prometheus) and who acts (leader:). */
async function joinFleet(run: RunContext, proxy: Proxy, env: Readonly<Record<string, string | undefined>>): Promise<Fleet> {
  // A failure from here on must not leave the proxy's listeners open (the process would not exit).
  return startFleet(run.config, { clock: run.clock, env, externalUrl: proxy.adminUrl, log: run.log }).catch(async (e: unknown) => {
    await proxy.close();
    throw e;
  });
}

/** The local SLO runtime, counting every proxied request. */
function attachSlos(run: RunContext, proxy: Proxy, fleet: Fleet): SloRuntime {
  const { config, clock, registry, log } = run;
  // The SLO runtime's own timer is off: the gateway's tick evaluates SLOs and drift together.
  const slos = startSlos(fleet.localConfig(config), {
    clock,
    registry,
    externalUrl: proxy.adminUrl,
    tickMs: 0,
    notifier: { onError: (target, message) => log(`notify ${target}: ${message}`) },
  });
  const slo = slos.engine;
  proxy.onOutcome((o) => slo.record(o));
  return slos;
}

/** The drift recorder on the proxy's sampled bodies, when drift is configured for some model. */
async function attachDrift(run: RunContext, proxy: Proxy, slo: SloEngine): Promise<DriftRecorder | undefined> {
  const { config, clock, registry, log } = run;
  const section = config.drift;
  if (!section || !section.enabled || section.models.length === 0) return undefined;
  const loaded = await loadBaselines(section.baselineDir);
  for (const p of loaded.problems) log(`drift baseline ${p.path}: ${p.message}`);
  const drift = new DriftRecorder(section, {
    clock,
    baselines: loaded.profiles,
    persistBaseline: (profile) => saveBaseline(section.baselineDir, profile),
    grpcDecoder: decodeGrpcBodies,
  });
  // Live baseline capture needs to know which version is stable: the split says so.
  for (const [model, split] of Object.entries(proxy.splits())) drift.setStableVersion(model, split.stable);
  registerDriftMetrics(registry, drift);
  proxy.onBodies((b) => drift.offer(b));
  // The drift SLI: each conclusive closed window is one good or bad event of the model's drift SLOs.
  drift.onWindowClosed((w) => w.drifted !== null && slo.recordWindow({ model: w.model, version: w.version, good: !w.drifted, atMs: w.endMs }));
  return drift;
}

/**
 * Every change made through the admin API (split changes, rollout commands, feedback
 * batches...) goes to the hash-chained audit log with who made it, beside the rollout
 * controller's own lines (one chain: rollout/store.ts shares the file's writer). Only with
 * a state folder (the CLI always has one).
 */
function auditAdminActions(proxy: Proxy, stateDir: string | undefined, clock: Clock, log: (msg: string) => void): { flush(): Promise<void> } {
  if (stateDir === undefined) return { flush: async () => {} };
  const store = new RolloutStore(stateDir);
  // Appends still being written: the stop waits for them, so none is cut off or lands after it.
  const pending = new Set<Promise<void>>();
  proxy.onAdminAction((a) => {
    const text = a.body === undefined ? '' : JSON.stringify(a.body);
    // Small bodies as they were; big ones (feedback batches) by size and item count.
    const body = text.length <= 2048 ? (a.body !== undefined ? { body: a.body } : {}) : { bodyBytes: text.length, ...(Array.isArray(a.body) ? { items: a.body.length } : {}) };
    const write: Promise<void> = store
      .audit({ time: new Date(clock.now()).toISOString(), actor: a.actor, input: 'admin', action: `${a.method} ${a.path}`, status: a.status, ...(a.params['model'] ? { model: a.params['model'] } : {}), ...body })
      .catch((e: unknown) => log(`audit log: cannot append ${a.method} ${a.path}: ${(e as Error).message}`))
      .finally(() => pending.delete(write));
    pending.add(write);
  });
  return { flush: async () => void (await Promise.all([...pending])) };
}

interface Rollouts {
  /** The controller while this replica leads (and rollouts are configured). */
  controller(): RolloutController | undefined;
  /** Stops following the split and acting on rollouts. */
  close(): Promise<void>;
}

/**
 * Rollouts run on the replica that leads (app/leader.ts; every replica when leader: is not
 * configured); the others copy the leader's persisted split (app/split-follower.ts).
 */
function startRollouts(run: RunContext, proxy: Proxy, fleet: Fleet, drift: DriftRecorder | undefined, truth: GroundTruth | undefined, mirror: Mirror | undefined, opts: GatewayOptions): Rollouts {
  const { config, clock, registry, log } = run;
  if (config.rollouts.length === 0) return { controller: () => undefined, close: async () => {} };
  const stateDir = opts.stateDir ?? '.modelgate-state';
  // The rollout's SLO burn check: Prometheus' fleet-wide counts, or local split-routed ones.
  const burn = sloBurnSource(fleet.source ?? splitRoutedSlos(config, proxy, clock));
  let controller: RolloutController | undefined;
  const runner = runWhileLeader(fleet.leader, async () => {
    const attached = await attachRollouts({
      proxy,
      specs: config.rollouts,
      stateDir,
      registry,
      clock,
      tickMs: Math.min(run.tickMs, 1000),
      burn,
      ...(drift ? { drift: driftSource(drift) } : {}),
      ...(truth ? { accuracy: truth } : {}),
      ...(mirror ? { divergence: mirror } : {}),
      ...(opts.serverLabels ? { labels: opts.serverLabels, versions: opts.serverLabels } : {}),
      log: (line) => log(`rollout ${line}`),
    });
    controller = attached.controller;
    return {
      close: async () => {
        controller = undefined;
        await attached.close();
      },
    };
  }, log);
  const follower = new SplitFollower({ stateDir, split: proxy, leadership: fleet.leader, log });
  follower.start();
  return {
    controller: () => controller,
    close: async () => {
      follower.close();
      await runner.close();
    },
  };
}

/** Every accuracy SLO tolerance: buckets of the absolute-error histogram, so the rules have an exact `le`. */
function accuracyTolerances(config: Config): number[] {
  return config.slos.flatMap((s) => (s.sli.kind === 'accuracy' && s.sli.tolerance !== undefined ? [s.sli.tolerance] : []));
}

/**
 * Delayed labels (truth: section): the proxy's sampled bodies feed the prediction store,
 * each labelled row is an event of the model's accuracy SLOs, and the admin API gets
 * POST /api/v1/feedback. GET /api/v1/accuracy answers `{ enabled: false }` without the section.
 */
function attachTruth(run: RunContext, proxy: Proxy, slo: SloEngine): GroundTruth | undefined {
  const section = run.config.truth;
  if (!section || section.models.length === 0) {
    proxy.route('GET', '/api/v1/accuracy', () => ({ status: 200, body: { enabled: false } }), { auth: false });
    return undefined;
  }
  const truth = new GroundTruth(section, { clock: run.clock, grpcDecoder: decodeGrpcBodies, presampled: true });
  registerTruthMetrics(run.registry, truth, { tolerances: accuracyTolerances(run.config) });
  // Its own share of requests (truth.sampleRate), whatever proxy.bodies.sampleRate is.
  const models = new Set(section.models.map((m) => m.model));
  proxy.onBodies((b) => truth.offer(b), { share: (m) => (models.has(m) ? section.sampleRate : 0), maxShare: () => section.sampleRate });
  truth.onLabelled((e) => slo.recordLabelled(e));
  mountFeedbackRoutes((m, p, h, o) => proxy.route(m, p, h, o), truth);
  return truth;
}

/**
 * Capture (capture: section): a sampled share of each model's exchanges, written to
 * rotating JSON Lines files for `modelgate replay`; off the request path, bounded, counted.
 */
function attachCapture(run: RunContext, proxy: Proxy): CaptureWriter | undefined {
  const section = run.config.capture;
  if (!section) return undefined;
  const writer = captureWriter(section, run.clock, registerCaptureMetrics(run.registry));
  const models = section.models ? new Set(section.models) : undefined;
  proxy.onBodies((b) => writer.offer(b), { share: (m) => (models && !models.has(m) ? 0 : section.sample), maxShare: () => section.sample });
  return writer;
}

/**
 * Shadow traffic, when a rollout has a shadow step: the mirror copies its share of the
 * model's split-routed requests to the candidate on its own connections (shadow/mirror.ts)
 * while the controller's plan says the model is in that step; GET /api/v1/shadow shows
 * the comparisons.
 */
function attachShadow(run: RunContext, proxy: Proxy, proxyConfig: ProxyConfig, plan: (model: string) => MirrorPlan | undefined): Mirror | undefined {
  const specs = run.config.rollouts.filter((r) => r.shadow);
  if (specs.length === 0) {
    proxy.route('GET', '/api/v1/shadow', () => ({ status: 200, body: { enabled: false } }), { auth: false });
    return undefined;
  }
  const mirror = new Mirror({
    ...(proxyConfig.rest ? { rest: { upstream: proxyConfig.rest.upstream, tls: proxyConfig.rest.upstreamTls } } : {}),
    ...(proxyConfig.grpc ? { grpc: { upstream: proxyConfig.grpc.upstream, tls: proxyConfig.grpc.upstreamTls } } : {}),
    plan,
    registry: run.registry,
    clock: run.clock,
  });
  // Bodies are copied for the mirror only while some model is in its shadow step.
  const maxShare = Math.max(...specs.map((r) => r.shadow!.share));
  proxy.onBodies((b) => mirror.offer(b), { share: (m) => mirror.share(m), maxShare: () => (specs.some((r) => plan(r.model) !== undefined) ? maxShare : 0) });
  proxy.route('GET', '/api/v1/shadow', () => ({ status: 200, body: { enabled: true, models: mirror.views() } }), { auth: false });
  return mirror;
}

/** The read APIs and the status page; reads are open on the admin port (loopback by default), changes need the token. */
function mountReadApis(clock: Clock, proxy: Proxy, fleet: Fleet, slo: SloEngine, drift: DriftRecorder | undefined, rollouts: Rollouts, mirror: Mirror | undefined, truth: GroundTruth | undefined): void {
  proxy.route('GET', '/api/v1/slos', () => ({ status: 200, body: fleet.snapshot() ?? slo.snapshot() }), { auth: false });
  proxy.route('GET', '/api/v1/fleet', () => ({ status: 200, body: fleet.describe() }), { auth: false });
  mountStatusPage((m, p, h, o) => proxy.route(m, p, h, o), {
    slos: () => fleet.snapshot() ?? slo.snapshot(),
    drift: () => drift?.snapshot(),
    rollouts: () => rollouts.controller()?.snapshot().rollouts,
    shadow: () => mirror?.views(),
    accuracy: () => truth?.scores(),
    predictionStore: () => truth?.snapshot(),
  }, { clock });
  proxy.route('GET', '/api/v1/drift', () => ({ status: 200, body: drift ? drift.snapshot() : { enabled: false } }), { auth: false });
}

/** One evaluation: the fleet source, then drift, then the SLOs. */
function evaluationTick(run: RunContext, fleet: Fleet, drift: DriftRecorder | undefined, slo: SloEngine): () => void {
  const { log } = run;
  return () => {
    fleet.tick();
    // Drift first: the windows it closes now are drift SLI events this SLO evaluation counts.
    try {
      drift?.evaluate();
    } catch (e) {
      log(`drift evaluation failed: ${(e as Error).message}`);
    }
    try {
      slo.evaluate();
    } catch (e) {
      log(`slo evaluation failed: ${(e as Error).message}`);
    }
  };
}

/**
 * The rollout analysis judges split-routed requests only: its local SLO burn check reads an
 * engine that requests pinning a version (outcome.pinned: the client chose the canary) never
 * reach, so a client cannot burn a canary's budget into a rollback. It holds only the SLOs of
 * models under a rollout. The SLOs themselves (alerts, /api/v1/slos) count every request.
 */
function splitRoutedSlos(config: Config, proxy: Proxy, clock: Clock): SloEngine {
  const rolledOut = new Set(config.rollouts.map((r) => r.model));
  const engine = new SloEngine(config.slos.filter((s) => rolledOut.has(s.model)), { clock });
  proxy.onOutcome((o) => {
    if (o.pinned !== true && rolledOut.has(o.model)) engine.record(o);
  });
  return engine;
}
