// Wiring for the process that runs the proxy (app/gateway.ts or a test): one call creates
// the controller, feeds it the proxy's outcomes, mounts the admin routes and starts the
// tick. Everything is passed in; nothing global.
import type { Registry } from 'prom-client';
import type { Clock, RequestOutcome } from '../common/index.ts';
import { RolloutController } from './controller.ts';
import type { AccuracySource, BurnSource, DivergenceSource, DriftSource, LabelMover, SplitActuator, VersionSource } from './ports.ts';
import { mountRolloutRoutes } from './routes.ts';
import type { AdminRouter } from './routes.ts';
import type { RolloutSpec } from './types.ts';

/** The parts of proxy/ `Proxy` used here. */
export interface ProxyLike extends SplitActuator, AdminRouter {
  onOutcome(fn: (o: RequestOutcome) => void): () => void;
  catalog: { available(model: string): string[] };
  /** The admin split routes ask this before a manual change (proxy `Proxy.guardSplits`). */
  guardSplits?(guard: (model: string) => string | undefined): () => void;
}

export interface AttachOptions {
  proxy: ProxyLike;
  specs: readonly RolloutSpec[];
  stateDir: string;
  registry: Registry;
  clock: Clock;
  /** Tick period, ms. A tick is cheap when no check is due; checks run once per interval. */
  tickMs: number;
  /** Default: the proxy catalog's versions (what the upstream reports). */
  versions?: VersionSource;
  labels?: LabelMover;
  burn?: BurnSource;
  drift?: DriftSource;
  /** Labelled accuracy per version (truth/ GroundTruth), for `analysis.accuracy`. */
  accuracy?: AccuracySource;
  /** Shadow traffic (shadow/ Mirror), for the shadow step's `divergence` check. */
  divergence?: DivergenceSource;
  log?: (line: string) => void;
}

export async function attachRollouts(o: AttachOptions): Promise<{ controller: RolloutController; close(): Promise<void> }> {
  const controller = await RolloutController.open({
    specs: o.specs,
    clock: o.clock,
    split: o.proxy,
    registry: o.registry,
    stateDir: o.stateDir,
    // available(), not versions(): a version gone from the upstream is no canary candidate.
    versions: o.versions ?? { availableVersions: (m) => o.proxy.catalog.available(m) },
    ...(o.labels ? { labels: o.labels } : {}),
    ...(o.burn ? { burn: o.burn } : {}),
    ...(o.drift ? { drift: o.drift } : {}),
    ...(o.accuracy ? { accuracy: o.accuracy } : {}),
    ...(o.divergence ? { divergence: o.divergence } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  const unsubscribe = o.proxy.onOutcome(controller.observe);
  // A manual split of a model under an active rollout would fight the controller: refused
  // (409) with the command to use instead.
  const unguard = o.proxy.guardSplits?.((model) => {
    const s = controller.activeRollout(model);
    if (!s) return undefined;
    return `model "${model}" is under an active rollout (${s.phase}, canary ${s.canary} at ${s.weight}%): the rollout controller owns its split; use modelgate rollout pause|resume|promote|abort ${model} (POST /api/v1/rollouts/${model}/COMMAND)`;
  });
  mountRolloutRoutes(o.proxy, controller);
  controller.start(o.tickMs);
  return {
    controller,
    async close() {
      unsubscribe();
      unguard?.();
      await controller.stop();
    },
  };
}
