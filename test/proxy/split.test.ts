import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from '../../common/index.ts';
import { fnv1a, readSplit, route } from '../../proxy/index.ts';
import type { Split } from '../../proxy/index.ts';
import { seeded } from './helpers.ts';

const split: Split = { stable: '1', canary: '2', weight: 20 };

test('FNV-1a matches the reference test vectors', () => {
  // draft-eastlake-fnv test vectors for FNV-1a 32-bit.
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

const ROUTES: Array<[string, { version?: string; label?: string }, Split | undefined, { version?: string; variant: string; pinned: boolean }]> = [
  ['an explicit version passes untouched and is pinned by the client', { version: '7' }, split, { version: '7', variant: 'direct', pinned: true }],
  ['labels/canary resolves to the canary, pinned by the client', { label: 'canary' }, split, { version: '2', variant: 'canary', pinned: true }],
  ['labels/stable resolves to stable, pinned by the client', { label: 'stable' }, split, { version: '1', variant: 'stable', pinned: true }],
  ['another label passes untouched', { label: 'beta' }, split, { variant: 'direct', pinned: true }],
  ['no split: nothing is pinned', {}, undefined, { variant: 'direct', pinned: false }],
  ['no split: a named version is not counted as pinned (there is no split to bypass)', { version: '7' }, undefined, { version: '7', variant: 'direct', pinned: false }],
  ['weight 0 pins stable', {}, { stable: '1', canary: '2', weight: 0 }, { version: '1', variant: 'stable', pinned: false }],
  ['weight 100 pins canary', {}, { stable: '1', canary: '2', weight: 100 }, { version: '2', variant: 'canary', pinned: false }],
  ['no canary pins stable', {}, { stable: '1', weight: 0 }, { version: '1', variant: 'stable', pinned: false }],
];
for (const [name, named, s, want] of ROUTES) {
  test(name, () => assert.deepEqual(route('fraud', s, named, undefined, Math.random), want));
}

test('a 20% split sends 20% of 20,000 requests to the canary, within 4 standard deviations', () => {
  const random = seeded(42);
  let canary = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (route('fraud', split, {}, undefined, random).variant === 'canary') canary++;
  const sd = Math.sqrt(n * 0.2 * 0.8); // binomial
  assert.ok(Math.abs(canary - n * 0.2) < 4 * sd, `canary=${canary}`);
});

test('sticky keys spread 20% of 20,000 users to the canary, and each user keeps one variant', () => {
  let canary = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const a = route('fraud', split, {}, `user-${i}`, Math.random).variant;
    const b = route('fraud', split, {}, `user-${i}`, Math.random).variant;
    assert.equal(a, b);
    if (a === 'canary') canary++;
  }
  assert.ok(Math.abs(canary - n * 0.2) < 4 * Math.sqrt(n * 0.2 * 0.8), `canary=${canary}`);
});

test('raising the weight only moves sticky users from stable to canary', () => {
  for (let i = 0; i < 5000; i++) {
    const at10 = route('fraud', { ...split, weight: 10 }, {}, `u${i}`, Math.random).variant;
    const at30 = route('fraud', { ...split, weight: 30 }, {}, `u${i}`, Math.random).variant;
    if (at10 === 'canary') assert.equal(at30, 'canary');
  }
});

test('a split validates versions, weight range, and says when a weight looks like a fraction', () => {
  const issues = new Issues();
  assert.deepEqual(readSplit({ stable: 1, canary: '2', weight: 10, stickyHeader: 'X-User' }, 's', issues), { stable: '1', canary: '2', weight: 10, stickyHeader: 'x-user' });
  assert.equal(issues.list.length, 0);
  const bad = new Issues();
  readSplit({ canary: '2', weight: 120, colour: 'red' }, 'splits.fraud', bad);
  assert.deepEqual(bad.errors.map((i) => i.path).sort(), ['splits.fraud.colour', 'splits.fraud.stable', 'splits.fraud.weight']);
  const noCanary = new Issues();
  readSplit({ stable: '1', weight: 5 }, 'x', noCanary);
  assert.match(noCanary.errors[0]!.message, /needs a canary/);
  const frac = new Issues();
  readSplit({ stable: '1', canary: '2', weight: 0.1 }, 'x', frac);
  assert.match(frac.warnings[0]!.message, /percentage/);
});
