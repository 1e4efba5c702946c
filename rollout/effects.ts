// What each rollout decision does outside the state file, in one table, and the one rule
// for the order in which the controller (controller.ts) carries a decision out.
//
// THE ORDERING RULE. Every decision goes through the same four steps:
//   1. persist intent: the decided state and, when the decision acts on the world, its
//      effect (`pending` in the model's record), in one atomic write of rollouts.json;
//   2. actuate: the effect's steps from EFFECTS, in table order. Every step is idempotent
//      (set a split, point a label at a version). Webhooks come last and run only once the
//      traffic steps (split, label) have succeeded;
//   3. persist result: the state after the effect (a promotion becomes Succeeded) with
//      `pending` cleared. When a traffic step failed, `pending` stays and every tick re-runs
//      the effect from step 2 before it decides anything new;
//   4. audit: the decision's line, then the effect's line (what each step did).
// A decision without an effect (pause, resume, hold, an inconclusive or failed check, a
// pre-rollout failure, a new canary) has nothing in 2, so 1 and 3 are the same write.
//
// Why this order: after a crash at any point a restart converges. Crash before 1: the
// decision never happened, and the restart applies the split of the state before it. Crash
// after 1: the persisted state already says where the rollout is (RolledBack, Promoting, the
// new step) and names the unfinished effect; the restart applies the split that state
// implies at once (controller.ts #restore) and its first tick re-runs the effect from step 2.
// So no split keeps a rolled-back version while the state says healthy, and no promotion is
// half done and forgotten. Consequences: webhooks are delivered at least once (a crash after
// they were called and before 3 calls them again); audit lines at most once (a crash before
// 4 loses the lines of that decision; the re-run writes its own line, marked `rerun`).
//
// The one step that runs before its intent is durable: when rollouts.json cannot be written,
// a rollback still sets the split to 100% stable (`runsWithoutIntent`). It only takes traffic
// off a version already judged bad, and a restart from the older state is still consistent
// (the rollout resumes at its step and is judged again). Nothing else moves traffic, labels
// or calls webhooks until its intent is on disk.
import type { EffectAction } from './types.ts';
import type { SplitValue } from './ports.ts';

export type EffectStep = 'split' | 'label' | 'hooks';

export interface EffectSpec {
  /** The decisions that lead to it, in words (docs and the audit). */
  decisions: string;
  /** Actuation steps, in order (step 2 of the rule). */
  steps: readonly EffectStep[];
  /** Steps that run even when the intent could not be written (see the rule above). */
  runsWithoutIntent: readonly EffectStep[];
}

/**
 * The effect of each decision. Decisions not listed (pause, resume, hold, inconclusive,
 * pre-rollout failure, Failed, a new canary, reset) change only the state and the audit log.
 */
export const EFFECTS: Readonly<Record<EffectAction['type'], EffectSpec>> = {
  /** Start (step 1 after the pre-rollout hooks passed) and every later step. */
  setWeight: { decisions: 'start, advance a step', steps: ['split'], runsWithoutIntent: [] },
  /** The last step passed or an operator promoted. Its result is the Succeeded state ("complete"). */
  promote: { decisions: 'promote, complete', steps: ['label', 'split', 'hooks'], runsWithoutIntent: [] },
  /** failureThreshold failed checks in a row, or an operator abort. */
  rollback: { decisions: 'roll back, abort', steps: ['split', 'label', 'hooks'], runsWithoutIntent: ['split'] },
};

/** The split an effect sets. */
export function splitOf(a: EffectAction): SplitValue {
  switch (a.type) {
    case 'setWeight':
      return { stable: a.stable, canary: a.canary, weight: a.weight };
    case 'promote':
      return { stable: a.canary, weight: 0 };
    case 'rollback':
      return { stable: a.stable, weight: 0 };
  }
}

/**
 * The version the `stable` label must name after the effect, or undefined when the label is
 * not touched. A rollback moves it back only when the rollout had reached Promoting: the
 * label may already have moved to the canary then.
 */
export function labelOf(a: EffectAction, labelBack: boolean): string | undefined {
  if (a.type === 'promote') return a.canary;
  if (a.type === 'rollback' && labelBack) return a.stable;
  return undefined;
}

export function isEffect(a: { type: string }): a is EffectAction {
  return a.type === 'setWeight' || a.type === 'promote' || a.type === 'rollback';
}
