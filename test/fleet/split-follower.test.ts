// Followers set the leader's split on their own proxy from the persisted rollout state
// (a real proxy, a real state file written by the rollout area's RolloutStore).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Issues } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';
import type { Proxy } from '../../proxy/index.ts';
import { RolloutStore, STATE_FILE, STATE_FORMAT, initialState } from '../../rollout/index.ts';
import type { RolloutState, SplitValue } from '../../rollout/index.ts';
import { SplitFollower, followerSplit } from '../../app/split-follower.ts';
import { staticLeadership } from '../../app/leader.ts';

const T0 = 1_700_000_000_000;
const state = (o: Partial<RolloutState>): RolloutState => ({ ...initialState('fraud', T0), stable: '1', canary: '2', ...o });

const TABLE: Array<{ name: string; s: RolloutState; current?: SplitValue; want: SplitValue | undefined }> = [
  { name: 'progressing: the state\'s weight', s: state({ phase: 'Progressing', step: 1, weight: 25 }), current: { stable: '1', weight: 0 }, want: { stable: '1', canary: '2', weight: 25 } },
  { name: 'progressing, already applied: nothing', s: state({ phase: 'Progressing', step: 1, weight: 25 }), current: { stable: '1', canary: '2', weight: 25 }, want: undefined },
  { name: 'paused keeps its weight', s: state({ phase: 'Paused', step: 0, weight: 5 }), want: { stable: '1', canary: '2', weight: 5 } },
  { name: 'progressing before the first step: nothing', s: state({ phase: 'Progressing', step: -1, weight: 0 }), want: undefined },
  { name: 'rolled back: all on stable', s: state({ phase: 'RolledBack', step: 2, weight: 0 }), current: { stable: '1', canary: '2', weight: 50 }, want: { stable: '1', weight: 0 } },
  { name: 'rolled back, already all on stable: nothing', s: state({ phase: 'RolledBack', weight: 0 }), current: { stable: '1', weight: 0 }, want: undefined },
  { name: 'succeeded: all on the new stable', s: state({ phase: 'Succeeded', stable: '2', canary: '2', weight: 0 }), current: { stable: '1', canary: '2', weight: 100 }, want: { stable: '2', weight: 0 } },
  { name: 'pending: nothing', s: state({ phase: 'Pending' }), want: undefined },
  { name: 'promoting: nothing (the leader is moving labels)', s: state({ phase: 'Promoting', step: 3, weight: 100 }), want: undefined },
  { name: 'no rollout yet: nothing', s: initialState('fraud', T0), want: undefined },
];
for (const row of TABLE) {
  test(`a follower's split for a persisted state: ${row.name}`, () => {
    assert.deepEqual(followerSplit(row.s, row.current), row.want);
  });
}

describe('the split follower on a real proxy', () => {
  let dir: string;
  let proxy: Proxy;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-follow-'));
    const issues = new Issues();
    const config = readProxyConfig({ rest: { host: '127.0.0.1', port: 0, upstream: 'http://127.0.0.1:9' }, admin: { port: 0 }, splits: { fraud: { stable: '1', weight: 0 } } }, 'proxy', issues);
    assert.ok(issues.ok, JSON.stringify(issues.errors));
    proxy = await createProxy({ config, registry: new Registry(), env: {} });
  });
  after(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  const save = (s: RolloutState) => new RolloutStore(dir).save({ format: STATE_FORMAT, savedAt: new Date(T0).toISOString(), models: { fraud: { state: s, history: [], baseline: null } } });

  test('a follower takes the leader\'s weight, then its rollback', async () => {
    const follower = new SplitFollower({ stateDir: dir, split: proxy, leadership: staticLeadership(false) });
    await save(state({ phase: 'Progressing', step: 1, weight: 25 }));
    assert.deepEqual(await follower.sync(), ['fraud']);
    assert.deepEqual({ ...proxy.getSplit('fraud') }, { stable: '1', canary: '2', weight: 25 });
    assert.deepEqual(await follower.sync(), [], 'nothing to change the second time');
    await save(state({ phase: 'RolledBack', step: 1, weight: 0, rolledBack: ['2'] }));
    await follower.sync();
    assert.equal(proxy.getSplit('fraud')?.weight, 0);
    assert.equal(proxy.getSplit('fraud')?.stable, '1');
  });

  test('the leader leaves its split to its own controller', async () => {
    proxy.setSplit('fraud', { stable: '1', weight: 0 });
    await save(state({ phase: 'Progressing', step: 2, weight: 50 }));
    const leader = new SplitFollower({ stateDir: dir, split: proxy, leadership: staticLeadership(true) });
    assert.deepEqual(await leader.sync(), []);
    assert.equal(proxy.getSplit('fraud')?.weight, 0);
  });

  test('an unreadable state file is logged once and changes nothing', async () => {
    const lines: string[] = [];
    proxy.setSplit('fraud', { stable: '1', weight: 0 });
    await writeFile(join(dir, STATE_FILE), '{ not json');
    const follower = new SplitFollower({ stateDir: dir, split: proxy, leadership: staticLeadership(false), log: (l) => lines.push(l) });
    assert.deepEqual(await follower.sync(), []);
    assert.deepEqual(await follower.sync(), []);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.equal(proxy.getSplit('fraud')?.weight, 0);
  });
});
