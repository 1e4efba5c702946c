// The rollout decision as a pure function: (spec, state, input, now) → (state, action).
// No I/O, no clock: the controller (controller.ts) gathers inputs and applies actions.
// The phases are documented one by one in types.ts (PHASES) and README.md.
//
// Rules, each tested in test/rollout/decide.test.ts:
// - a check runs once per `interval`; a pass advances one step, the pass after the last
//   step promotes;
// - a fail counts; only `failureThreshold` CONSECUTIVE fails roll back (a pass resets the
//   count, an inconclusive leaves it), so a single blip never rolls back (Flagger's
//   failedChecks, pkg/controller/scheduler.go, with our default above its 1);
// - inconclusive pauses: it never promotes and never rolls back, and `reason` says why
//   (Argo Rollouts pauses on Inconclusive runs, docs/features/analysis.md);
// - a rolled-back version is remembered and never started or promoted again;
// - operator commands: pause, resume, promote, abort.
import type { Action, Analysis, Command, Decision, DecideInput, RolloutSpec, RolloutState } from './types.ts';
import { TERMINAL_PHASES, inShadowStep, stepWeights } from './types.ts';

const NONE: Action = { type: 'none' };

/** The state of a model that has never had a rollout. */
export function initialState(model: string, now: number): RolloutState {
  return {
    model,
    phase: 'Pending',
    canary: null,
    stable: null,
    step: -1,
    weight: 0,
    failedChecks: 0,
    pausedBy: null,
    reason: 'waiting for a canary version',
    startedAtMs: null,
    stepStartedAtMs: null,
    lastCheckAtMs: null,
    updatedAtMs: now,
    rolledBack: [],
    lastAnalysis: null,
  };
}

export function decide(spec: RolloutSpec, state: RolloutState, input: DecideInput, now: number): Decision {
  switch (input.kind) {
    case 'tick':
      return onTick(spec, state, input.candidate, now);
    case 'preRollout':
      return onPreRollout(spec, state, input.ok, input.reason, now);
    case 'analysis':
      return onAnalysis(spec, state, input.analysis, now);
    case 'promoted':
      return onPromoted(state, input.ok, input.reason, now);
    case 'command':
      return onCommand(state, input.command, now);
  }
}

const due = (spec: RolloutSpec, s: RolloutState, now: number) => s.lastCheckAtMs === null || now - s.lastCheckAtMs >= spec.intervalMs;

function onTick(spec: RolloutSpec, s: RolloutState, candidate: { canary: string; stable: string } | null, now: number): Decision {
  const terminal = TERMINAL_PHASES.includes(s.phase);
  // A new version after a finished rollout starts a new one (Pending, fresh counters).
  if (terminal && candidate && candidate.canary !== s.canary && candidate.canary !== candidate.stable && !s.rolledBack.includes(candidate.canary)) {
    const next: RolloutState = {
      ...initialState(s.model, now),
      rolledBack: s.rolledBack,
      canary: candidate.canary,
      stable: candidate.stable,
      reason: `new canary version ${candidate.canary}; running pre-rollout checks`,
    };
    return { state: next, action: { type: 'preRollout' } };
  }
  if (terminal) return { state: s, action: NONE };

  if (s.phase === 'Promoting') return { state: s, action: promoteAction(s) };

  if (s.step < 0) {
    // Pending (or paused before the first step): pick up the candidate.
    if (s.phase === 'Paused') return { state: s, action: NONE };
    if (!candidate) {
      const reason = 'waiting for a canary version';
      return { state: s.reason === reason ? s : { ...s, reason, updatedAtMs: now }, action: NONE };
    }
    if (s.rolledBack.includes(candidate.canary)) {
      const reason = `version ${candidate.canary} was rolled back and is never promoted again; publish a new version`;
      return { state: s.reason === reason ? s : { ...s, canary: null, reason, updatedAtMs: now }, action: NONE };
    }
    if (candidate.canary === candidate.stable) {
      const reason = `canary ${candidate.canary} is already stable; nothing to roll out`;
      return { state: s.reason === reason ? s : { ...s, reason, updatedAtMs: now }, action: NONE };
    }
    const changed = s.canary !== candidate.canary || s.stable !== candidate.stable;
    const base = changed ? { ...s, canary: candidate.canary, stable: candidate.stable, failedChecks: 0, lastCheckAtMs: null, updatedAtMs: now } : s;
    return due(spec, base, now) ? { state: base, action: { type: 'preRollout' } } : { state: base, action: NONE };
  }
  // The shadow step is judged only once it has lasted its duration.
  if (spec.shadow && inShadowStep(spec, s) && s.stepStartedAtMs !== null && now - s.stepStartedAtMs < spec.shadow.durationMs) return { state: s, action: NONE };
  return due(spec, s, now) ? { state: s, action: { type: 'analyze' } } : { state: s, action: NONE };
}

/** Where step `step` stands, in words. */
function stepReason(spec: RolloutSpec, canary: string, step: number): string {
  const weights = stepWeights(spec);
  if (spec.shadow && step === 0) {
    return `shadow step: canary ${canary} gets no client traffic; ${round(spec.shadow.share * 100)}% of requests are mirrored to it and the answers compared (at least ${Math.round(spec.shadow.durationMs / 1000)}s and ${spec.shadow.minRequests} requests)`;
  }
  const offset = spec.shadow ? 1 : 0;
  return `step ${step + 1 - offset} of ${weights.length - offset}: canary ${canary} at ${weights[step]}%`;
}

const round = (x: number) => Math.round(x * 100) / 100;

function onPreRollout(spec: RolloutSpec, s: RolloutState, ok: boolean, reason: string, now: number): Decision {
  if (s.phase !== 'Pending' || s.canary === null || s.stable === null) return { state: s, action: NONE };
  if (ok) {
    const weight = stepWeights(spec)[0]!;
    const next: RolloutState = {
      ...s,
      phase: 'Progressing',
      step: 0,
      weight,
      failedChecks: 0,
      reason: stepReason(spec, s.canary, 0),
      startedAtMs: now,
      stepStartedAtMs: now,
      lastCheckAtMs: now,
      updatedAtMs: now,
    };
    return { state: next, action: { type: 'setWeight', stable: s.stable, canary: s.canary, weight } };
  }
  const failed = s.failedChecks + 1;
  if (failed >= spec.failureThreshold) {
    return {
      state: { ...s, phase: 'Failed', failedChecks: failed, lastCheckAtMs: now, updatedAtMs: now, reason: `pre-rollout webhooks failed ${failed} times in a row: ${reason}` },
      action: NONE,
    };
  }
  return {
    state: { ...s, failedChecks: failed, lastCheckAtMs: now, updatedAtMs: now, reason: `pre-rollout webhooks failed (${failed} of ${spec.failureThreshold}); start blocked: ${reason}` },
    action: NONE,
  };
}

function summary(a: Analysis, verdict: 'fail' | 'inconclusive'): string {
  return a.checks.filter((c) => c.verdict === verdict).map((c) => `${c.name}: ${c.reason}`).join('; ');
}

function onAnalysis(spec: RolloutSpec, s: RolloutState, a: Analysis, now: number): Decision {
  if ((s.phase !== 'Progressing' && s.phase !== 'Paused') || s.step < 0 || s.canary === null || s.stable === null) return { state: s, action: NONE };
  const byOperator = s.pausedBy === 'operator';
  const base = { ...s, lastCheckAtMs: now, updatedAtMs: now, lastAnalysis: a };

  if (a.verdict === 'fail') {
    const failed = s.failedChecks + 1;
    if (failed >= spec.failureThreshold) {
      const reason = `rolled back after ${failed} consecutive failed checks: ${summary(a, 'fail')}`;
      return {
        state: { ...base, phase: 'RolledBack', weight: 0, failedChecks: failed, pausedBy: null, reason, rolledBack: addOnce(s.rolledBack, s.canary) },
        action: { type: 'rollback', stable: s.stable, canary: s.canary, reason },
      };
    }
    return {
      state: {
        ...base,
        failedChecks: failed,
        // A fail is evidence, so an analysis pause ends; an operator pause stays.
        phase: byOperator ? 'Paused' : 'Progressing',
        pausedBy: byOperator ? 'operator' : null,
        reason: `check failed (${failed} of ${spec.failureThreshold} before rollback), holding at ${s.weight}%: ${summary(a, 'fail')}`,
      },
      action: NONE,
    };
  }

  if (a.verdict === 'inconclusive') {
    return {
      state: {
        ...base,
        phase: 'Paused',
        pausedBy: byOperator ? 'operator' : 'analysis',
        reason: `${byOperator ? 'paused by operator; ' : 'paused: '}analysis inconclusive, holding at ${s.weight}%: ${summary(a, 'inconclusive')}`,
      },
      action: NONE,
    };
  }

  // pass
  if (byOperator) {
    return { state: { ...base, failedChecks: 0, reason: `paused by operator at ${s.weight}%; last check passed` }, action: NONE };
  }
  const weights = stepWeights(spec);
  if (s.step >= weights.length - 1) {
    return {
      state: { ...base, phase: 'Promoting', pausedBy: null, failedChecks: 0, reason: `every step passed; promoting ${s.canary} to stable` },
      action: promoteAction(s),
    };
  }
  const step = s.step + 1;
  const weight = weights[step]!;
  return {
    state: { ...base, phase: 'Progressing', pausedBy: null, failedChecks: 0, step, weight, stepStartedAtMs: now, reason: stepReason(spec, s.canary, step) },
    action: { type: 'setWeight', stable: s.stable, canary: s.canary, weight },
  };
}

function promoteAction(s: RolloutState): Action {
  return s.canary !== null && s.stable !== null ? { type: 'promote', stable: s.stable, canary: s.canary } : NONE;
}

function onPromoted(s: RolloutState, ok: boolean, reason: string, now: number): Decision {
  if (s.phase !== 'Promoting' || s.canary === null) return { state: s, action: NONE };
  if (!ok) return { state: { ...s, reason: `promotion not applied yet, retrying: ${reason}`, updatedAtMs: now }, action: NONE };
  return {
    state: { ...s, phase: 'Succeeded', stable: s.canary, weight: 0, step: s.step, reason: `promoted: ${s.canary} is stable${reason ? ` (${reason})` : ''}`, updatedAtMs: now },
    action: NONE,
  };
}

function reject(s: RolloutState, why: string): Decision {
  return { state: s, action: NONE, rejected: why };
}

function onCommand(s: RolloutState, command: Command, now: number): Decision {
  switch (command) {
    case 'pause': {
      if (s.phase !== 'Pending' && s.phase !== 'Progressing' && s.phase !== 'Paused') return reject(s, `cannot pause a rollout that is ${s.phase}`);
      return { state: { ...s, phase: 'Paused', pausedBy: 'operator', reason: `paused by operator at ${s.weight}%`, updatedAtMs: now }, action: NONE };
    }
    case 'resume': {
      if (s.phase === 'Failed') {
        return { state: { ...s, phase: 'Pending', failedChecks: 0, lastCheckAtMs: null, reason: 'resumed by operator; retrying pre-rollout checks', updatedAtMs: now }, action: NONE };
      }
      if (s.phase !== 'Paused') return reject(s, `cannot resume a rollout that is ${s.phase}; only Paused or Failed rollouts resume`);
      // A fresh interval: the next check looks only at traffic after the resume.
      return {
        state: { ...s, phase: s.step < 0 ? 'Pending' : 'Progressing', pausedBy: null, lastCheckAtMs: s.step < 0 ? null : now, reason: `resumed by operator at ${s.weight}%`, updatedAtMs: now },
        action: NONE,
      };
    }
    case 'promote': {
      if (s.canary === null || s.stable === null || s.step < 0) return reject(s, 'cannot promote: the rollout has not started (no canary traffic yet)');
      if (s.rolledBack.includes(s.canary)) return reject(s, `cannot promote ${s.canary}: it was rolled back`);
      if (s.phase !== 'Progressing' && s.phase !== 'Paused') return reject(s, `cannot promote a rollout that is ${s.phase}`);
      const next: RolloutState = { ...s, phase: 'Promoting', pausedBy: null, reason: `promoted by operator at ${s.weight}%`, updatedAtMs: now };
      return { state: next, action: promoteAction(next) };
    }
    case 'abort': {
      if (TERMINAL_PHASES.includes(s.phase)) return reject(s, `nothing to abort: the rollout is ${s.phase}`);
      if (s.canary === null || s.stable === null) return reject(s, 'nothing to abort: no canary version yet');
      const reason = `aborted by operator at ${s.weight}%`;
      return {
        state: { ...s, phase: 'RolledBack', weight: 0, pausedBy: null, reason, rolledBack: addOnce(s.rolledBack, s.canary), updatedAtMs: now },
        action: { type: 'rollback', stable: s.stable, canary: s.canary, reason },
      };
    }
  }
}

/**
 * After a restart: the traffic gathered before it is gone, so the next check must cover a
 * full fresh interval. Phases and counters are kept as persisted.
 */
export function resumeAfterRestart(s: RolloutState, now: number): RolloutState {
  if (s.step < 0 || TERMINAL_PHASES.includes(s.phase)) return s;
  return { ...s, lastCheckAtMs: now, updatedAtMs: now };
}

function addOnce(list: readonly string[], v: string): string[] {
  return list.includes(v) ? [...list] : [...list, v];
}
