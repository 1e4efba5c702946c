// Rollout metrics in an injected prom-client Registry (names from common/conventions.ts).
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { LABEL, ROLLOUT_METRIC } from '../common/index.ts';
import { PHASES } from './types.ts';
import type { RolloutState } from './types.ts';

export class RolloutMetrics {
  readonly phase: Gauge<string>;
  readonly weight: Gauge<string>;
  readonly rollbacks: Counter<string>;
  readonly promotions: Counter<string>;
  readonly stateInvalid: Gauge<string>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.phase = new Gauge({
      name: ROLLOUT_METRIC.phase,
      // One series per phase with value 1 for the current one (kube-state-metrics' style for
      // enum states), so `modelgate_rollout_phase{phase="RolledBack"} == 1` is an alert.
      help: 'Current phase of the model\'s rollout: 1 for the current phase, 0 for the others.',
      labelNames: [LABEL.model, LABEL.phase],
      registers,
    });
    this.weight = new Gauge({ name: ROLLOUT_METRIC.weight, help: 'Percent of unpinned traffic the rollout sends to the canary.', labelNames: [LABEL.model], registers });
    this.rollbacks = new Counter({ name: ROLLOUT_METRIC.rollbacks, help: 'Rollouts rolled back (automatically or by abort).', labelNames: [LABEL.model], registers });
    this.promotions = new Counter({ name: ROLLOUT_METRIC.promotions, help: 'Canary versions promoted to stable.', labelNames: [LABEL.model], registers });
    this.stateInvalid = new Gauge({
      name: ROLLOUT_METRIC.stateInvalid,
      help: '1 while the model\'s persisted rollout state was invalid (moved aside to rollouts.json.corrupt-<time>): the controller does nothing for it until `modelgate rollout reset MODEL`.',
      labelNames: [LABEL.model],
      registers,
    });
  }

  /** Creates the counters' series at 0 so `increase()` sees the first event. */
  init(model: string): void {
    this.rollbacks.inc({ model }, 0);
    this.promotions.inc({ model }, 0);
  }

  blocked(model: string, on: boolean): void {
    this.stateInvalid.set({ model }, on ? 1 : 0);
  }

  update(s: RolloutState): void {
    for (const p of PHASES) this.phase.set({ model: s.model, phase: p }, p === s.phase ? 1 : 0);
    this.weight.set({ model: s.model }, s.weight);
  }
}
