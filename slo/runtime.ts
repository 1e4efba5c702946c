// Wires the SLO pieces the way the proxy runs them: one engine, its gauges, a notifier fed
// by the engine's transitions, and an evaluation tick. Timers and sockets live here, at the
// edge; the engine stays pure. The proxy calls:
//   const slos = startSlos(config, { clock: systemClock, registry, externalUrl });
//   onResponse: slos.engine.record(outcome)      GET /api/v1/slos: slos.engine.snapshot()
//   shutdown:   await slos.close()
import type { Registry } from 'prom-client';
import type { Clock } from '../common/index.ts';
import { SloEngine } from './engine.ts';
import type { SloStatus } from './status.ts';
import { registerSloMetrics } from './metrics.ts';
import type { Slo } from './definitions.ts';
import type { NotifyTarget } from './notify/config.ts';
import { AlertNotifier, type NotifierOptions } from './notify/notifier.ts';

/** How often the tick evaluates by default: well under the shortest default window (5m). */
export const DEFAULT_TICK_MS = 5000;

export interface SloRuntimeOptions {
  clock: Clock;
  /** Registers the SLO gauges when given. */
  registry?: Registry;
  externalUrl?: string;
  /** Evaluation interval; 0 disables the timer (call tick() yourself, as tests do). */
  tickMs?: number;
  notifier?: Partial<Pick<NotifierOptions, 'retry' | 'maxQueue' | 'resendMs' | 'onError'>>;
}

export interface SloRuntime {
  engine: SloEngine;
  notifier: AlertNotifier;
  /** Evaluates now; transitions go to the notifier. */
  tick(): SloStatus[];
  close(): Promise<void>;
}

export function startSlos(config: { slos: readonly Slo[]; notify: readonly NotifyTarget[] }, options: SloRuntimeOptions): SloRuntime {
  const notifier = new AlertNotifier({ targets: config.notify, clock: options.clock, ...options.notifier, ...(options.externalUrl ? { externalUrl: options.externalUrl } : {}) });
  const engine = new SloEngine(config.slos, { clock: options.clock, onTransition: (t) => notifier.notify(t) });
  if (options.registry) registerSloMetrics(options.registry, engine);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const timer = tickMs > 0 ? setInterval(() => engine.evaluate(), tickMs) : undefined;
  timer?.unref();
  return {
    engine,
    notifier,
    tick: () => engine.evaluate(),
    async close() {
      if (timer) clearInterval(timer);
      await notifier.close();
    },
  };
}
