// The internal rollout model: the frozen spec (from `rollouts:` in modelgate.yaml, see
// config.ts), the state `decide` moves between phases, and the analysis record. Nothing
// here sees YAML, sockets or clocks.
import type { ShadowStepSpec } from '../shadow/index.ts';

/**
 * The phases of one rollout, in the order a healthy one passes through them:
 *
 * - `Pending`: a canary version is known (or awaited) but gets no traffic yet. The
 *   pre-rollout webhooks run here; a failing one keeps the rollout Pending (retried every
 *   interval) and after `failureThreshold` consecutive failures the rollout is `Failed`.
 * - `Progressing`: the canary takes the current step's weight. Every `interval` the
 *   analysis runs: a pass advances one step, a fail counts towards `failureThreshold`.
 * - `Paused`: advancement stops. Either an operator paused it (only `resume` continues;
 *   failing checks still roll back, because pausing must not keep a bad version in
 *   traffic), or the last analysis was inconclusive (no traffic, no data, a source down;
 *   the next conclusive analysis continues). The state's `reason` says which and why.
 * - `Promoting`: the last step passed (or an operator promoted): the `stable` label is
 *   being moved to the canary and the split set to 100/0. Retried until it succeeds.
 * - `Succeeded`: the canary is the new stable version. Terminal.
 * - `RolledBack`: `failureThreshold` consecutive checks failed (or an operator aborted):
 *   the canary weight was set to 0 at once and the version is never promoted again.
 *   Terminal for this version.
 * - `Failed`: the rollout could not start (pre-rollout webhooks kept failing). No traffic
 *   was moved. Terminal; `resume` retries from Pending.
 */
export const PHASES = ['Pending', 'Progressing', 'Paused', 'Promoting', 'Succeeded', 'RolledBack', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

export const TERMINAL_PHASES: readonly Phase[] = ['Succeeded', 'RolledBack', 'Failed'];

export type CheckVerdict = 'pass' | 'fail' | 'inconclusive';

/** One check of one analysis, with the numbers it was decided on. */
export interface Check {
  name: string;
  verdict: CheckVerdict;
  reason: string;
  values: Record<string, number | string | boolean | null>;
}

export interface Analysis {
  verdict: CheckVerdict;
  /** When the analysis ran (ms). */
  atMs: number;
  /** Length of the traffic window it looked at (ms). */
  windowMs: number;
  checks: Check[];
  /** Checks that were not run and why (no SLO covers the model, no drift source). */
  notes: string[];
}

export type WebhookType = 'pre-rollout' | 'promote' | 'rollback';
export const WEBHOOK_TYPES: readonly WebhookType[] = ['pre-rollout', 'promote', 'rollback'];

export interface WebhookSpec {
  name: string;
  type: WebhookType;
  url: string;
  timeoutMs: number;
  /** Extra fields sent as the payload's `metadata` (Flagger's webhook `metadata`). */
  metadata: Readonly<Record<string, string>>;
}

export interface RolloutSpec {
  model: string;
  /** A fixed canary version, or `newest`: the highest AVAILABLE version above stable. */
  canary: { kind: 'version'; version: string } | { kind: 'newest' };
  /** The stable version, when not taken from the current split. */
  stable?: string;
  /** Canary weights (percent) of the steps, ascending; promotion follows the last one. */
  weights: readonly number[];
  intervalMs: number;
  /** Canary requests an interval needs before its analysis can pass. */
  minRequests: number;
  /** Consecutive failed checks that roll back. */
  failureThreshold: number;
  analysis: AnalysisSpec;
  webhooks: readonly WebhookSpec[];
  /**
   * A first step in which the canary takes no traffic: a share of stable's requests is
   * mirrored to it and the answers compared (shadow/mirror.ts); the `divergence` check
   * decides it. The steps of `weights` follow.
   */
  shadow?: ShadowStepSpec;
}

/** The weights of the steps, a shadow step first (weight 0). */
export function stepWeights(spec: RolloutSpec): readonly number[] {
  return spec.shadow ? [0, ...spec.weights] : spec.weights;
}

/** Whether the rollout is in its shadow step (mirroring, no canary traffic). */
export function inShadowStep(spec: RolloutSpec, s: RolloutState): boolean {
  return spec.shadow !== undefined && s.step === 0 && (s.phase === 'Progressing' || s.phase === 'Paused');
}

export interface AnalysisSpec {
  slo: { enabled: boolean; maxBurnRate: number; windowMs: number | undefined; minEvents: number };
  errors: { enabled: boolean; maxIncrease: number };
  latency: { enabled: boolean; maxP99Ratio: number; alpha: number; tolerance: number; minDeltaSeconds: number; minSamples: number };
  drift: { enabled: boolean };
  /** Labelled accuracy, canary vs stable (truth/): one-sided two-proportion z-test; off unless configured. */
  accuracy: { enabled: boolean; minLabels: number; alpha: number; maxDecrease: number };
}

export type PausedBy = 'operator' | 'analysis';

/** The state of a model's current (or last) rollout. Plain JSON: it is persisted as is. */
export interface RolloutState {
  model: string;
  phase: Phase;
  canary: string | null;
  stable: string | null;
  /** Index into the spec's weights; -1 before the first step. */
  step: number;
  /** The canary's current weight (percent of unpinned traffic). */
  weight: number;
  /** Consecutive failed checks (pre-rollout webhooks while Pending, analyses after). */
  failedChecks: number;
  pausedBy: PausedBy | null;
  /** Why the rollout is where it is, in words. */
  reason: string;
  startedAtMs: number | null;
  stepStartedAtMs: number | null;
  lastCheckAtMs: number | null;
  updatedAtMs: number;
  /** Versions of this model that were rolled back: never promoted again. */
  rolledBack: string[];
  lastAnalysis: Analysis | null;
}

export type Command = 'pause' | 'resume' | 'promote' | 'abort';
export const COMMANDS: readonly Command[] = ['pause', 'resume', 'promote', 'abort'];

/** What `decide` looks at besides the state. */
export type DecideInput =
  /** Time passed. `candidate` is the canary/stable pair the controller resolved, if any. */
  | { kind: 'tick'; candidate: { canary: string; stable: string } | null }
  | { kind: 'analysis'; analysis: Analysis }
  | { kind: 'preRollout'; ok: boolean; reason: string }
  /** Result of applying a `promote` action. */
  | { kind: 'promoted'; ok: boolean; reason: string }
  | { kind: 'command'; command: Command };

/** What the controller must do after a decision. */
export type Action =
  | { type: 'none' }
  /** Gather verdicts for the window since the last check and call decide with them. */
  | { type: 'analyze' }
  /** Run the pre-rollout webhooks and call decide with the result. */
  | { type: 'preRollout' }
  | { type: 'setWeight'; stable: string; canary: string; weight: number }
  /** Move the `stable` label to the canary and route 100% to it. */
  | { type: 'promote'; stable: string; canary: string }
  /** Canary weight to 0 at once. */
  | { type: 'rollback'; stable: string; canary: string; reason: string };

/** The actions that act on the world (rollout/effects.ts EFFECTS); the others gather inputs. */
export type EffectAction = Extract<Action, { type: 'setWeight' | 'promote' | 'rollback' }>;

export interface Decision {
  state: RolloutState;
  action: Action;
  /** Set when a command is not allowed in the current phase (the state is unchanged). */
  rejected?: string;
}
