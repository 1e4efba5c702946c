// The rule for tests that need an external program: fail under CI, skip loudly elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needBinaries, which } from './programs.ts';

const MISSING = 'modelgate-no-such-program';

function withCi<T>(value: string | undefined, fn: () => T): T {
  const before = process.env['CI'];
  if (value === undefined) delete process.env['CI'];
  else process.env['CI'] = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env['CI'];
    else process.env['CI'] = before;
  }
}

test('a missing program fails the suite when CI=true', () => {
  assert.throws(() => withCi('true', () => needBinaries(['sh', MISSING])), new RegExp(`CI=true and missing ${MISSING}`));
});

test('a missing program skips the suite locally, saying what to install', () => {
  const skip = withCi(undefined, () => needBinaries([MISSING]));
  assert.equal(typeof skip, 'string');
  assert.match(String(skip), new RegExp(MISSING));
});

test('present programs do not skip', () => {
  assert.ok(which('sh'));
  assert.equal(withCi('true', () => needBinaries(['sh'])), false);
});
