import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitOnSignal, holdSignals } from '../../cli/lifecycle.ts';

// process.emit runs the listeners a real signal would run, without signalling the test runner.
const signal = (s: NodeJS.Signals) => (process.emit as (e: string, s: string) => boolean)(s, s);

test('a SIGTERM that arrives while a command is still starting is kept, and the drain runs as soon as it is up', async () => {
  const before = process.listenerCount('SIGTERM');
  const held = holdSignals('[t]');
  signal('SIGTERM');
  let drained = false;
  const code = await exitOnSignal('[t]', 1, async () => void (drained = true), async () => undefined, held());
  assert.equal(code, 0);
  assert.equal(drained, true);
  assert.equal(process.listenerCount('SIGTERM'), before, 'every listener is taken off again');
});

test('with no signal while starting, the drain waits for one', async () => {
  const held = holdSignals('[t]');
  let drained = false;
  const exited = exitOnSignal('[t]', 1, async () => void (drained = true), async () => undefined, held());
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(drained, false);
  signal('SIGINT');
  assert.equal(await exited, 0);
  assert.equal(drained, true);
});
