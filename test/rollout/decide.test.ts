import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/index.ts';
import { decide, initialState, resumeAfterRestart } from '../../rollout/index.ts';
import type { Action, CheckVerdict, Command, DecideInput, RolloutSpec, RolloutState } from '../../rollout/index.ts';
import { analysis, spec } from './helpers.ts';

const CANDIDATE = { canary: '2', stable: '1' };

/**
 * Drives decide like the controller does: each tick whose action is `analyze` is answered
 * with the next verdict; `preRollout` with `preRollout`; `promote` with success.
 */
function run(s: RolloutSpec, verdicts: CheckVerdict[], opts: { preRollout?: boolean[]; start?: RolloutState; clock?: ManualClock } = {}) {
  const clock = opts.clock ?? new ManualClock(1_000_000);
  let state = opts.start ?? initialState(s.model, clock.now());
  const pre = [...(opts.preRollout ?? [])];
  const queue = [...verdicts];
  const actions: Action[] = [];
  const phases: string[] = [];
  const apply = (input: DecideInput) => {
    const d = decide(s, state, input, clock.now());
    state = d.state;
    if (d.action.type !== 'none') actions.push(d.action);
    return d.action;
  };
  for (let i = 0; i < 50 && (queue.length > 0 || state.phase === 'Pending' || state.phase === 'Promoting'); i++) {
    const a = apply({ kind: 'tick', candidate: CANDIDATE });
    if (a.type === 'preRollout') {
      const ok = pre.length ? pre.shift()! : true;
      apply({ kind: 'preRollout', ok, reason: ok ? '' : 'hook answered 500' });
      if (state.phase === 'Failed') break;
    } else if (a.type === 'analyze') {
      const v = queue.shift()!;
      const next = apply({ kind: 'analysis', analysis: analysis(v, clock.now()) });
      if (next.type === 'promote') apply({ kind: 'promoted', ok: true, reason: '' });
    } else if (a.type === 'promote') {
      apply({ kind: 'promoted', ok: true, reason: '' });
    }
    phases.push(`${state.phase}@${state.weight}`);
    if (state.phase === 'Succeeded' || state.phase === 'RolledBack') break;
    clock.advance(s.intervalMs);
  }
  return { state, actions, phases };
}

const weights = (actions: Action[]) => actions.filter((a) => a.type === 'setWeight').map((a) => (a as { weight: number }).weight);

test('a healthy canary is promoted through every step, one step per passing interval', () => {
  const r = run(spec(), ['pass', 'pass', 'pass', 'pass']);
  assert.equal(r.state.phase, 'Succeeded');
  assert.equal(r.state.stable, '2');
  assert.deepEqual(weights(r.actions), [5, 25, 50, 100]);
  assert.deepEqual(r.actions.at(-1), { type: 'promote', stable: '1', canary: '2' });
});

test('stepWeight/maxWeight steps (10, 20, 30) promote after the last one', () => {
  const r = run(spec({ weights: [10, 20, 30] }), ['pass', 'pass', 'pass']);
  assert.deepEqual(weights(r.actions), [10, 20, 30]);
  assert.equal(r.state.phase, 'Succeeded');
});

test('failureThreshold consecutive fails roll back, with weight 0 at once', () => {
  const r = run(spec(), ['pass', 'fail', 'fail']);
  assert.equal(r.state.phase, 'RolledBack');
  assert.equal(r.state.weight, 0);
  assert.equal(r.actions.at(-1)?.type, 'rollback');
  assert.deepEqual(r.state.rolledBack, ['2']);
  assert.match(r.state.reason, /2 consecutive failed checks/);
});

test('a single bad interval followed by good ones does not roll back', () => {
  const r = run(spec(), ['pass', 'fail', 'pass', 'pass', 'pass']);
  assert.equal(r.state.phase, 'Succeeded');
  assert.ok(!r.actions.some((a) => a.type === 'rollback'));
});

test('fails separated by a pass are not consecutive', () => {
  const r = run(spec({ failureThreshold: 2 }), ['fail', 'pass', 'fail', 'pass', 'pass', 'pass']);
  assert.equal(r.state.phase, 'Succeeded');
});

test('a failed check holds the weight: it does not advance', () => {
  const r = run(spec(), ['pass', 'fail']);
  assert.equal(r.state.phase, 'Progressing');
  assert.equal(r.state.weight, 25);
  assert.equal(r.state.failedChecks, 1);
  assert.match(r.state.reason, /1 of 2 before rollback/);
});

test('inconclusive analyses pause: they never promote and never roll back, and say why', () => {
  const r = run(spec(), ['inconclusive', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
  assert.equal(r.state.phase, 'Paused');
  assert.equal(r.state.pausedBy, 'analysis');
  assert.equal(r.state.weight, 5);
  assert.match(r.state.reason, /inconclusive/);
  assert.ok(!r.actions.some((a) => a.type === 'promote' || a.type === 'rollback'));
});

test('an inconclusive between two fails neither resets nor adds to the failure count', () => {
  const r = run(spec({ failureThreshold: 2 }), ['fail', 'inconclusive', 'fail']);
  assert.equal(r.state.phase, 'RolledBack');
  const r2 = run(spec({ failureThreshold: 3 }), ['fail', 'inconclusive', 'fail']);
  assert.equal(r2.state.failedChecks, 2);
  assert.notEqual(r2.state.phase, 'RolledBack');
});

test('after an inconclusive pause, the next passing analysis continues', () => {
  const r = run(spec(), ['inconclusive', 'pass', 'pass', 'pass', 'pass']);
  assert.equal(r.state.phase, 'Succeeded');
});

test('a check runs only once per interval', () => {
  const s = spec();
  const clock = new ManualClock(0);
  let state = initialState('fraud', 0);
  state = decide(s, state, { kind: 'tick', candidate: CANDIDATE }, 0).state;
  state = decide(s, state, { kind: 'preRollout', ok: true, reason: '' }, 0).state;
  const table: Array<[number, Action['type']]> = [[1000, 'none'], [59_999, 'none'], [60_000, 'analyze']];
  for (const [t, want] of table) {
    clock.set(t);
    assert.equal(decide(s, state, { kind: 'tick', candidate: CANDIDATE }, t).action.type, want, `at ${t} ms`);
  }
});

test('a failing pre-rollout webhook blocks the start: Pending, no traffic moved', () => {
  const d = decide(spec(), { ...initialState('fraud', 0), canary: '2', stable: '1' }, { kind: 'preRollout', ok: false, reason: 'hook answered 500' }, 0);
  assert.equal(d.state.phase, 'Pending');
  assert.equal(d.state.weight, 0);
  assert.equal(d.action.type, 'none');
  assert.match(d.state.reason, /start blocked: hook answered 500/);
});

test('failureThreshold pre-rollout failures in a row mark the rollout Failed, with no weight ever set', () => {
  const r = run(spec({ failureThreshold: 2 }), [], { preRollout: [false, false] });
  assert.equal(r.state.phase, 'Failed');
  assert.deepEqual(weights(r.actions), []);
});

test('a pre-rollout failure then success starts the rollout', () => {
  const r = run(spec({ failureThreshold: 3 }), ['pass', 'pass', 'pass', 'pass'], { preRollout: [false, true] });
  assert.equal(r.state.phase, 'Succeeded');
});

test('a rolled-back version is never started again, even after a restart from persisted state', () => {
  const r = run(spec(), ['fail', 'fail']);
  assert.equal(r.state.phase, 'RolledBack');
  const reloaded = JSON.parse(JSON.stringify(r.state)) as RolloutState;
  const d = decide(spec(), reloaded, { kind: 'tick', candidate: CANDIDATE }, 10_000_000);
  assert.equal(d.action.type, 'none');
  assert.equal(d.state.phase, 'RolledBack');
});

test('a new version after a rollback starts a new rollout, keeping the rolled-back list', () => {
  const r = run(spec(), ['fail', 'fail']);
  const d = decide(spec(), r.state, { kind: 'tick', candidate: { canary: '3', stable: '1' } }, 10_000_000);
  assert.equal(d.state.phase, 'Pending');
  assert.equal(d.state.canary, '3');
  assert.deepEqual(d.state.rolledBack, ['2']);
  assert.equal(d.action.type, 'preRollout');
});

test('no candidate: Pending, waiting, nothing done', () => {
  const d = decide(spec(), initialState('fraud', 0), { kind: 'tick', candidate: null }, 0);
  assert.equal(d.state.phase, 'Pending');
  assert.equal(d.action.type, 'none');
});

function progressing(weight = 25): RolloutState {
  return { ...initialState('fraud', 0), phase: 'Progressing', canary: '2', stable: '1', step: 1, weight, lastCheckAtMs: 0, startedAtMs: 0, stepStartedAtMs: 0 };
}

test('operator commands, phase by phase (table)', () => {
  const table: Array<[string, RolloutState, Command, string, Action['type'] | 'rejected']> = [
    ['pause a progressing rollout', progressing(), 'pause', 'Paused', 'none'],
    ['resume an operator pause', { ...progressing(), phase: 'Paused', pausedBy: 'operator' }, 'resume', 'Progressing', 'none'],
    ['resume a running rollout', progressing(), 'resume', 'Progressing', 'rejected'],
    ['promote early', progressing(), 'promote', 'Promoting', 'promote'],
    ['promote before any traffic', { ...initialState('fraud', 0), canary: '2', stable: '1' }, 'promote', 'Pending', 'rejected'],
    ['abort a progressing rollout', progressing(), 'abort', 'RolledBack', 'rollback'],
    ['abort a finished rollout', { ...progressing(), phase: 'Succeeded' }, 'abort', 'Succeeded', 'rejected'],
    ['resume a Failed rollout retries from Pending', { ...initialState('fraud', 0), phase: 'Failed', canary: '2', stable: '1', failedChecks: 2 }, 'resume', 'Pending', 'none'],
    ['promote a rolled-back version', { ...progressing(), phase: 'Paused', rolledBack: ['2'] }, 'promote', 'Paused', 'rejected'],
  ];
  for (const [name, start, command, phase, action] of table) {
    const d = decide(spec(), start, { kind: 'command', command }, 5);
    assert.equal(d.state.phase, phase, name);
    assert.equal(d.rejected !== undefined ? 'rejected' : d.action.type, action, name);
  }
});

test('an operator pause holds the weight while checks pass, but failing checks still roll back', () => {
  const paused = { ...progressing(), phase: 'Paused' as const, pausedBy: 'operator' as const };
  const passed = decide(spec(), paused, { kind: 'analysis', analysis: analysis('pass') }, 60_000);
  assert.equal(passed.state.phase, 'Paused');
  assert.equal(passed.state.weight, 25);
  const once = decide(spec(), paused, { kind: 'analysis', analysis: analysis('fail') }, 60_000);
  const twice = decide(spec(), once.state, { kind: 'analysis', analysis: analysis('fail') }, 120_000);
  assert.equal(twice.state.phase, 'RolledBack');
  assert.equal(twice.action.type, 'rollback');
});

test('an abort remembers the version as rolled back', () => {
  const d = decide(spec(), progressing(), { kind: 'command', command: 'abort' }, 5);
  assert.deepEqual(d.state.rolledBack, ['2']);
  assert.deepEqual(d.action, { type: 'rollback', stable: '1', canary: '2', reason: 'aborted by operator at 25%' });
});

test('a promotion that could not be applied stays Promoting and is retried on the next tick', () => {
  const promoting = { ...progressing(100), phase: 'Promoting' as const, step: 3 };
  const failed = decide(spec(), promoting, { kind: 'promoted', ok: false, reason: 'label move refused' }, 5);
  assert.equal(failed.state.phase, 'Promoting');
  assert.equal(decide(spec(), failed.state, { kind: 'tick', candidate: CANDIDATE }, 6).action.type, 'promote');
});

test('after a restart the next check waits a full fresh interval', () => {
  const s = resumeAfterRestart(progressing(), 500_000);
  assert.equal(s.lastCheckAtMs, 500_000);
  assert.equal(decide(spec(), s, { kind: 'tick', candidate: CANDIDATE }, 500_001).action.type, 'none');
  assert.equal(decide(spec(), s, { kind: 'tick', candidate: CANDIDATE }, 560_000).action.type, 'analyze');
});
