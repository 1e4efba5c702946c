import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, OVERFLOW_LABEL_VALUE } from '../../common/index.ts';
import { ModelCatalog, compareVersions, parseTfStatus } from '../../proxy/index.ts';

function catalog(status: Record<string, string[]>, gone: string[] = [], clock = new ManualClock(0)) {
  const c = new ModelCatalog({
    clock,
    maxModels: 2,
    maxVersionsPerModel: 3,
    goneVersionGraceMs: 60_000,
    fetchStatus: async (m) => (status[m] ? status[m]!.map((version) => ({ version, state: 'AVAILABLE' })) : null),
    onVersionGone: (m, v) => gone.push(`${m}/${v}`),
  });
  return { c, clock };
}

test('versions order numerically, not as text', () => {
  assert.deepEqual(['10', '9', '100', '2'].sort(compareVersions), ['2', '9', '10', '100']);
});

test('a model is admitted on a successful answer only, up to the cap; the rest overflow', () => {
  const { c } = catalog({});
  assert.equal(c.modelLabel('a', false), OVERFLOW_LABEL_VALUE);
  assert.equal(c.modelLabel('a', true), 'a');
  assert.equal(c.modelLabel('a', false), 'a');
  assert.equal(c.modelLabel('b', true), 'b');
  assert.equal(c.modelLabel('c', true), OVERFLOW_LABEL_VALUE);
});

test('versions are capped per model the same way', () => {
  const { c } = catalog({});
  c.admit('m');
  assert.deepEqual(['1', '2', '3', '4'].map((v) => c.versionLabel('m', v, true)), ['1', '2', '3', OVERFLOW_LABEL_VALUE]);
  assert.equal(c.versionLabel('m', '9', false), OVERFLOW_LABEL_VALUE);
});

test('the latest AVAILABLE version comes from the status', async () => {
  const { c } = catalog({ m: ['2', '10'] });
  c.admit('m');
  assert.ok(c.needsStatus('m'));
  await c.refresh('m');
  assert.equal(c.latest('m'), '10');
  assert.deepEqual(c.versions('m').sort(), ['10', '2']);
});

test('a version gone from the status is dropped only after the grace period', async () => {
  const status: Record<string, string[]> = { m: ['1', '2'] };
  const gone: string[] = [];
  const { c, clock } = catalog(status, gone);
  c.admit('m');
  await c.pollAll();
  status['m'] = ['2'];
  await c.pollAll();
  assert.deepEqual(c.available('m'), ['2']);
  assert.deepEqual(c.versions('m').sort(), ['1', '2']);
  clock.advance(59_999);
  c.sweep();
  assert.deepEqual(gone, []);
  clock.advance(1);
  c.sweep();
  assert.deepEqual(gone, ['m/1']);
  assert.deepEqual(c.versions('m'), ['2']);
});

test('a version that comes back within the grace period is kept', async () => {
  const status: Record<string, string[]> = { m: ['1'] };
  const gone: string[] = [];
  const { c, clock } = catalog(status, gone);
  c.admit('m');
  await c.pollAll();
  status['m'] = [];
  await c.pollAll();
  clock.advance(30_000);
  status['m'] = ['1'];
  await c.pollAll();
  clock.advance(60_000);
  c.sweep();
  assert.deepEqual(gone, []);
});

test('TF Serving status JSON keeps versions with their state', () => {
  assert.deepEqual(parseTfStatus({ model_version_status: [{ version: '1', state: 'AVAILABLE' }, { version: 2, state: 'LOADING' }, { bad: 1 }] }), [
    { version: '1', state: 'AVAILABLE' },
    { version: '2', state: 'LOADING' },
  ]);
  assert.deepEqual(parseTfStatus('nope'), []);
});

test('a status endpoint that errors is asked once per poll, not once per request', async () => {
  let calls = 0;
  const c = new ModelCatalog({
    clock: new ManualClock(0), maxModels: 5, maxVersionsPerModel: 5, goneVersionGraceMs: 1000,
    fetchStatus: async () => {
      calls++;
      throw new Error('500');
    },
  });
  c.admit('m');
  await c.refresh('m');
  assert.equal(c.needsStatus('m'), false);
  assert.equal(calls, 1);
});
