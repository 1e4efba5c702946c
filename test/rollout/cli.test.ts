import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../cli/args.ts';
import { describe as describeRollout, run } from '../../cli/commands/rollout.ts';
import type { RolloutView } from '../../rollout/index.ts';

// The CLI against a running proxy is exercised in e2e.test.ts; these are the local paths.

test('usage mistakes are usage errors that say what to type (table)', async () => {
  const table: Array<[string[], RegExp]> = [
    [[], /a subcommand is needed/],
    [['pause'], /pause needs a MODEL/],
    [['explode', 'fraud'], /unknown subcommand "explode"; one of status, pause, resume, promote, abort/],
    [['status', 'fraud', 'extra'], /unexpected arguments: extra/],
    [['status', '--nope'], /unknown flag --nope/],
  ];
  for (const [argv, message] of table) {
    await assert.rejects(run(argv, { out: () => {}, err: () => {}, env: {} }), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));
  }
});

test('an admin API that is not there is reported with its address, exit code 1', async () => {
  const err: string[] = [];
  // Port 1 on loopback: nothing listens there.
  const code = await run(['status', '--admin_url', 'http://127.0.0.1:1'], { out: () => {}, err: (l) => err.push(l), env: {} });
  assert.equal(code, 1);
  assert.match(err.join('\n'), /cannot reach the admin API at http:\/\/127\.0\.0\.1:1/);
});

test('status text shows the phase, the current step in brackets, failed checks and each check', () => {
  const v: RolloutView = {
    model: 'fraud', phase: 'Progressing', canary: '2', stable: '1', step: 1, steps: [5, 25, 50, 100], weight: 25,
    failedChecks: 1, failureThreshold: 2, pausedBy: null, reason: 'check failed (1 of 2 before rollback)',
    startedAt: null, lastCheckAt: null, updatedAt: '2026-11-25T12:00:00.000Z', interval: 60_000, rolledBack: [],
    lastAnalysis: { verdict: 'fail', atMs: 0, windowMs: 60_000, notes: [], checks: [{ name: 'error-ratio', verdict: 'fail', reason: 'canary 30% vs 0%', values: {} }] },
    history: [{ canary: '1', stable: '0', phase: 'Succeeded', reason: '', startedAt: null, endedAt: '' }],
  };
  const text = describeRollout(v);
  assert.match(text, /fraud: Progressing\s+canary 2 at 25%\s+stable 1/);
  assert.match(text, /steps 5 → \[25\] → 50 → 100\s+interval 1m\s+failed checks 1\/2/);
  assert.match(text, /fail\s+error-ratio\s+canary 30% vs 0%/);
  assert.match(text, /history: 1:Succeeded/);
});
