// Past one machine, as the gateway wires it (docs/fleet.md). With `sloSource: prometheus`
// every replica evaluates the fleet-wide SLO statuses from Prometheus; with `leader:` only
// one replica acts on them. This module keeps the gateway's part to a few lines:
//
//   const fleet = await startFleet(config, { clock, env, externalUrl, log });
//   startSlos(fleet.localConfig(config), ...)   // local notifications off in fleet mode
//   GET /api/v1/slos → fleet.snapshot() ?? engine.snapshot()
//   tick: fleet.tick()                             shutdown: await fleet.close()
//
// What it decides:
// - statuses, /api/v1/slos and the rollout's burn readings come from the fleet source;
// - alert notifications come from the fleet source's transitions and are sent by the
//   leader only (every replica sees the same transitions; one notification per fleet).
//   The local engine keeps running for this replica's own gauges, without notifying;
// - the rollout controller runs on the leader only: runWhileLeader(fleet.leader, ...).
import type { Clock } from '../common/index.ts';
import { AlertNotifier, PrometheusSloSource } from '../slo/index.ts';
import type { NotifyTarget, Slo, SloSnapshot, SloSourceConfig } from '../slo/index.ts';
import type { Leadership } from './leader.ts';
import type { LeaderConfig } from './leader-config.ts';
import { startLeadership } from './leadership.ts';

export interface FleetConfig {
  slos: readonly Slo[];
  notify: readonly NotifyTarget[];
  sloSource: SloSourceConfig;
  leader: LeaderConfig;
}

export interface FleetOptions {
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
  externalUrl?: string;
  log?: (line: string) => void;
}

export interface FleetDescription {
  source: 'local' | 'prometheus';
  prometheus: { url: string; ok: boolean; evaluatedAt: string | null; problems: Record<string, string> } | null;
  leader: { acts: boolean; detail: string };
}

export interface Fleet {
  /** The fleet-wide source when `sloSource: prometheus`, else undefined (local engine only). */
  source: PrometheusSloSource | undefined;
  leader: Leadership;
  /** The notifier for fleet transitions (leader only), when the source is Prometheus. */
  notifier: AlertNotifier | undefined;
  /** The section values the local SLO runtime should get: no notify targets in fleet mode. */
  localConfig<C extends { notify: readonly NotifyTarget[] }>(config: C): C;
  /** The fleet source's last evaluation for /api/v1/slos, or undefined in local mode. */
  snapshot(): SloSnapshot | undefined;
  /** For `GET /api/v1/fleet`: which source, how its last evaluation went, who acts. */
  describe(): FleetDescription;
  /** Starts an evaluation (does not wait for Prometheus; failures become inconclusive). */
  tick(): void;
  close(): Promise<void>;
}

export async function startFleet(config: FleetConfig, opts: FleetOptions): Promise<Fleet> {
  const log = opts.log ?? (() => {});
  const leader = await startLeadership(config.leader, { clock: opts.clock, env: opts.env, log });
  const src = config.sloSource;
  if (src.kind === 'local') {
    return {
      source: undefined,
      leader,
      notifier: undefined,
      localConfig: (c) => c,
      snapshot: () => undefined,
      describe: () => ({ source: 'local', prometheus: null, leader: { acts: leader.isLeader(), detail: leader.describe() } }),
      tick: () => {},
      close: () => leader.close(),
    };
  }
  const notifier = new AlertNotifier({
    targets: config.notify,
    clock: opts.clock,
    ...(opts.externalUrl ? { externalUrl: opts.externalUrl } : {}),
    onError: (target, message) => log(`notify ${target}: ${message}`),
  });
  const source = new PrometheusSloSource(config.slos, {
    url: src.url,
    clock: opts.clock,
    timeoutMs: src.timeoutMs,
    alignMs: src.alignMs,
    offsetMs: src.offsetMs,
    maxReadingAgeMs: src.maxAgeMs,
    // Every replica sees the same transition; only the one that acts sends it.
    onTransition: (t) => {
      if (leader.isLeader()) notifier.notify(t);
    },
  });
  let lastProblem = '';
  // A first evaluation now, so /api/v1/slos has fleet statuses before the first tick.
  void source.evaluate();
  return {
    source,
    leader,
    notifier,
    localConfig: (c) => ({ ...c, notify: [] }),
    snapshot: () => source.snapshot(),
    describe() {
      const h = source.health();
      return {
        source: 'prometheus',
        prometheus: { url: src.url, ok: h.ok, evaluatedAt: h.evaluatedAt ? new Date(h.evaluatedAt).toISOString() : null, problems: h.problems },
        leader: { acts: leader.isLeader(), detail: leader.describe() },
      };
    },
    tick() {
      void source.evaluate().then(() => {
        // Log a source problem once when it starts, not every tick.
        const problem = Object.entries(source.health().problems).map(([slo, why]) => `${slo}: ${why}`).join('; ');
        if (problem && problem !== lastProblem) log(`slo source prometheus: verdicts inconclusive: ${problem}`);
        lastProblem = problem;
      });
    },
    async close() {
      await source.close();
      await notifier.close();
      await leader.close();
    },
  };
}
