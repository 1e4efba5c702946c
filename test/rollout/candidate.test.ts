import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, resolveCandidate } from '../../rollout/index.ts';
import type { RolloutState } from '../../rollout/index.ts';
import { spec } from './helpers.ts';

const pending = initialState('fraud', 0);
const succeeded: RolloutState = { ...pending, phase: 'Succeeded', canary: '2', stable: '2' };

test('which canary and stable a rollout looks at (table)', () => {
  const table: Array<[string, Parameters<typeof resolveCandidate>, ReturnType<typeof resolveCandidate>]> = [
    ['newest above the split\'s stable', [spec(), pending, '1', ['1', '2', '3']], { canary: '3', stable: '1' }],
    ['versions order numerically, not as text', [spec(), pending, '9', ['9', '10']], { canary: '10', stable: '9' }],
    ['nothing newer than stable: no candidate', [spec(), pending, '3', ['1', '2', '3']], null],
    ['no split: stable is the next lower version', [spec(), pending, undefined, ['4', '7']], { canary: '7', stable: '4' }],
    ['no split, spec names stable', [spec({ stable: '1' }), pending, undefined, ['1', '2', '3']], { canary: '3', stable: '1' }],
    ['a fixed canary that is not available yet', [spec({ canary: { kind: 'version', version: '5' } }), pending, '1', ['1', '2']], null],
    ['a fixed canary with unknown availability', [spec({ canary: { kind: 'version', version: '5' } }), pending, '1', undefined], { canary: '5', stable: '1' }],
    ['newest with unknown availability', [spec(), pending, '1', undefined], null],
    ['after a promotion without a split, the promoted version is stable', [spec(), succeeded, undefined, ['1', '2', '3']], { canary: '3', stable: '2' }],
    ['only one version', [spec(), pending, undefined, ['1']], null],
  ];
  for (const [name, args, want] of table) assert.deepEqual(resolveCandidate(...args), want, name);
});
