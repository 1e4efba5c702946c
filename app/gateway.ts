// The proxy process as users run it: the proxy (proxy/), with the SLO engine (slo/), the
// drift recorder (drift/) and the notifier attached, and the evaluation tick that turns
// their windows into verdicts. This is the only place the areas meet; each stays ignorant
// of the others (the proxy does not know SLOs, the SLO maths does not know HTTP).
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../common/clock.ts';
import type { Config } from '../config/index.ts';
import { createProxy, type Proxy, type ProxyConfig } from '../proxy/index.ts';
import { SloEngine, sloLatencyThresholds, startSlos, type AlertNotifier } from '../slo/index.ts';
import { DriftRecorder, loadBaselines, registerDriftMetrics, saveBaseline } from '../drift/index.ts';
import { decodeGrpcBodies } from '../drift/grpc-bodies.ts';
import { startFleet, type Fleet } from './fleet.ts';
import { mountStatusPage } from '../proxy/status-page/index.ts';
import { attachRollouts, driftSource, sloBurnSource, type LabelMover, type RolloutController, type VersionSource } from '../rollout/index.ts';
import { runWhileLeader } from './leader.ts';
import { SplitFollower } from './split-follower.ts';

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
}

export interface Gateway {
  proxy: Proxy;
  slo: SloEngine;
  drift: DriftRecorder | undefined;
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
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const registry = opts.registry ?? new Registry();
  const log = opts.log ?? (() => {});
  const proxyConfig = opts.proxyOverride ? opts.proxyOverride(config.proxy) : config.proxy;

  const proxy = await createProxy({
    config: proxyConfig,
    registry,
    clock,
    latencyThresholdsSeconds: sloLatencyThresholds(config.slos),
  });

  // A failure from here on must not leave the proxy's listeners open (the process would not exit).
  const fleet = await startFleet(config, { clock, env: opts.env ?? process.env, externalUrl: proxy.adminUrl, log }).catch(async (e: unknown) => {
    await proxy.close();
    throw e;
  });
  // The SLO runtime's own timer is off: the gateway's tick evaluates SLOs and drift together.
  const slos = startSlos(fleet.localConfig(config), {
    clock,
    registry,
    externalUrl: proxy.adminUrl,
    tickMs: 0,
    notifier: { onError: (target, message) => log(`notify ${target}: ${message}`) },
  });
  const slo = slos.engine;
  const notifier = fleet.notifier ?? slos.notifier;
  proxy.onOutcome((o) => slo.record(o));

  let drift: DriftRecorder | undefined;
  if (config.drift && config.drift.enabled && config.drift.models.length > 0) {
    const loaded = await loadBaselines(config.drift.baselineDir);
    for (const p of loaded.problems) log(`drift baseline ${p.path}: ${p.message}`);
    drift = new DriftRecorder(config.drift, {
      clock,
      baselines: loaded.profiles,
      persistBaseline: (profile) => saveBaseline(config.drift!.baselineDir, profile),
      grpcDecoder: decodeGrpcBodies,
    });
    // Live baseline capture needs to know which version is stable: the split says so.
    for (const [model, split] of Object.entries(proxy.splits())) drift.setStableVersion(model, split.stable);
    registerDriftMetrics(registry, drift);
    const d = drift;
    proxy.onBodies((b) => d.offer(b));
    // The drift SLI: each conclusive closed window is one good or bad event of the model's drift SLOs.
    d.onWindowClosed((w) => w.drifted !== null && slo.recordWindow({ model: w.model, version: w.version, good: !w.drifted, atMs: w.endMs }));
  }

  // Reads are open on the admin port (loopback by default); changes need the token.
  proxy.route('GET', '/api/v1/slos', () => ({ status: 200, body: fleet.snapshot() ?? slo.snapshot() }), { auth: false });
  proxy.route('GET', '/api/v1/fleet', () => ({ status: 200, body: fleet.describe() }), { auth: false });
  // Rollouts run on the replica that leads (app/leader.ts; every replica when leader: is
  // not configured); the others copy the leader's persisted split (app/split-follower.ts).
  let controller: RolloutController | undefined;
  let rolloutRunner: { close(): Promise<void> } | undefined;
  let follower: SplitFollower | undefined;
  if (config.rollouts.length > 0) {
    const stateDir = opts.stateDir ?? '.modelgate-state';
    // The rollout's SLO burn check: Prometheus' fleet-wide counts, or local split-routed ones.
    const burn = sloBurnSource(fleet.source ?? splitRoutedSlos(config, proxy, clock));
    const driftFrom = drift;
    rolloutRunner = runWhileLeader(fleet.leader, async () => {
      const attached = await attachRollouts({
        proxy,
        specs: config.rollouts,
        stateDir,
        registry,
        clock,
        tickMs: Math.min(opts.tickMs ?? DEFAULT_TICK_MS, 1000),
        burn,
        ...(driftFrom ? { drift: driftSource(driftFrom) } : {}),
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
    follower = new SplitFollower({ stateDir, split: proxy, leadership: fleet.leader, log });
    follower.start();
  }

  mountStatusPage((m, p, h, o) => proxy.route(m, p, h, o), {
    slos: () => fleet.snapshot() ?? slo.snapshot(),
    drift: () => drift?.snapshot(),
    rollouts: () => controller?.snapshot().rollouts,
  }, { clock });
  proxy.route('GET', '/api/v1/drift', () => ({ status: 200, body: drift ? drift.snapshot() : { enabled: false } }), { auth: false });

  const tick = () => {
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
  const timer = setInterval(tick, opts.tickMs ?? DEFAULT_TICK_MS);
  timer.unref();

  let stopping: Promise<void> | undefined;
  const stop = async (drainMs: number | undefined): Promise<void> => {
    clearInterval(timer);
    follower?.close();
    await rolloutRunner?.close();
    // Hand the lease over before draining: another replica acts while this one finishes
    // its requests, instead of after the drain (fleet.close() below is then a no-op for it).
    await fleet.leader.close();
    await proxy.drain(drainMs);
    await slos.close();
    await fleet.close();
  };

  return {
    proxy,
    slo,
    drift,
    notifier,
    registry,
    fleet,
    rollouts: () => controller,
    tick,
    drain: (timeoutMs) => (stopping ??= stop(timeoutMs)),
    close: () => {
      // During a drain: cut the proxy's in-flight requests; the drain then finishes.
      if (stopping) void proxy.close();
      return (stopping ??= stop(0));
    },
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
