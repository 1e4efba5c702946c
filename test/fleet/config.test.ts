// The sloSource: and leader: sections, through the real loader (paths, fixes, defaults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from '../../common/index.ts';
import { parseConfig } from '../../config/index.ts';
import { validateSloSource } from '../../slo/index.ts';
import { validateLeader } from '../../app/leader-config.ts';

const run = <T>(fn: (raw: unknown, path: string, issues: Issues) => T, raw: unknown) => {
  const issues = new Issues();
  const value = fn(raw, 'x', issues);
  return { value, errors: issues.errors.map((i) => `${i.path}: ${i.message}`), warnings: issues.warnings.map((i) => `${i.path}: ${i.message}`) };
};

const SOURCE_TABLE: Array<{ raw: unknown; kind?: 'local' | 'prometheus'; error?: RegExp; warning?: RegExp }> = [
  { raw: undefined, kind: 'local' },
  { raw: 'local', kind: 'local' },
  { raw: { local: {} }, kind: 'local' },
  { raw: { prometheus: { url: 'http://prometheus:9090' } }, kind: 'prometheus' },
  { raw: { prometheus: { url: 'https://p.example/prom', timeout: '2s', align: '5s', offset: '2m', maxAge: '30s' } }, kind: 'prometheus', warning: /x\.prometheus\.offset: an offset of 2m delays every verdict/ },
  { raw: 'prometheus', error: /^x: the prometheus source needs its URL/ },
  { raw: { prometheus: {} }, error: /^x\.prometheus\.url: is required/ },
  { raw: { prometheus: { url: 'prometheus:9090' } }, error: /^x\.prometheus\.url: must be an http:\/\/ or https:\/\/ URL/ },
  { raw: { prometheus: { url: 'http://p:9090/api/v1/query' } }, error: /give the base URL only; .*try http:\/\/p:9090\)/ },
  { raw: { prometheus: { url: 'http://p:9090', timeout: 5 } }, error: /^x\.prometheus\.timeout: needs a unit: write "5s"/ },
  { raw: { prometheus: { url: 'http://p:9090', align: '0s' } }, error: /^x\.prometheus\.align: must be longer than 0/ },
  { raw: { prometheus: { url: 'http://p:9090', tiemout: '1s' } }, error: /^x\.prometheus\.tiemout: unknown field/ },
  { raw: { prometheus: { url: 'http://p:9090' }, local: {} }, error: /^x: choose one source/ },
  { raw: { prom: {} }, error: /^x\.prom: unknown field "prom"/ },
  { raw: 42, error: /^x: must be "local" or a mapping/ },
];

for (const row of SOURCE_TABLE) {
  test(`sloSource ${JSON.stringify(row.raw)} → ${row.kind ?? row.error}`, () => {
    const r = run(validateSloSource, row.raw);
    if (row.error) assert.ok(r.errors.some((e) => row.error!.test(e)), r.errors.join('\n') || '(no errors)');
    else {
      assert.deepEqual(r.errors, []);
      assert.equal(r.value.kind, row.kind);
    }
    if (row.warning) assert.ok(r.warnings.some((w) => row.warning!.test(w)), r.warnings.join('\n'));
  });
}

const LEADER_TABLE: Array<{ raw: unknown; value?: object; error?: RegExp }> = [
  { raw: undefined, value: { mode: 'single', controller: undefined, identity: undefined } },
  { raw: { mode: 'single', controller: 'modelgate-0' }, value: { mode: 'single', controller: 'modelgate-0', identity: undefined } },
  { raw: { mode: 'lease', lease: { file: '/shared/l.lease' } }, value: { mode: 'lease', file: '/shared/l.lease', kubernetes: undefined, ttlMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000, identity: undefined } },
  { raw: { mode: 'lease', lease: { file: '/shared/l.lease', ttl: '30s' }, identity: 'a' }, value: { mode: 'lease', file: '/shared/l.lease', kubernetes: undefined, ttlMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 10_000, identity: 'a' } },
  { raw: { mode: 'lease' }, error: /^x\.lease: is required with mode: lease/ },
  { raw: { mode: 'lease', lease: { file: '/l', ttl: '1s' } }, error: /^x\.lease\.ttl: must be at least 3s/ },
  { raw: { mode: 'lease', lease: { file: '/l' }, controller: 'a' }, error: /^x\.controller: only used with mode: single/ },
  { raw: { mode: 'single', lease: { file: '/l' } }, error: /^x\.lease: only used with mode: lease/ },
  { raw: { mode: 'raft' }, error: /^x\.mode: must be "single" .* or "lease"/ },
  { raw: { mode: 'single', controler: 'a' }, error: /^x\.controler: unknown field "controler"; did you mean "controller"\?$/ },
  { raw: { mode: 'single', owner: 'a' }, error: /^x\.owner: unknown field "owner"; known fields: mode, controller/ },
];

for (const row of LEADER_TABLE) {
  test(`leader ${JSON.stringify(row.raw)} → ${row.value ? JSON.stringify(row.value) : row.error}`, () => {
    const r = run(validateLeader, row.raw);
    if (row.error) assert.ok(r.errors.some((e) => row.error!.test(e)), r.errors.join('\n') || '(no errors)');
    else {
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.value, row.value);
    }
  });
}

test('modelgate.yaml with both sections loads through the real loader, and a mistake names its line', () => {
  const ok = parseConfig('apiVersion: modelgate/v1\nsloSource:\n  prometheus: { url: http://prometheus:9090 }\nleader: { mode: single, controller: modelgate-0 }\n', 'm.yaml');
  assert.ok(ok.config, JSON.stringify(ok.issues));
  assert.equal(ok.config.sloSource.kind, 'prometheus');
  assert.equal(ok.config.leader.mode, 'single');
  const bad = parseConfig('apiVersion: modelgate/v1\nsloSource:\n  prometheus:\n    url: ftp://x\n', 'm.yaml');
  assert.equal(bad.config, undefined);
  const issue = bad.issues.find((i) => i.path === 'sloSource.prometheus.url');
  assert.ok(issue, JSON.stringify(bad.issues));
  assert.equal(issue.line, 4);
});

test('the Prometheus source without a named controller or a lease warns that every replica would act', () => {
  const warned = parseConfig('apiVersion: modelgate/v1\nsloSource:\n  prometheus: { url: http://prometheus:9090 }\n', 'm.yaml');
  assert.ok(warned.config);
  assert.ok(warned.issues.some((i) => i.severity === 'warning' && i.path === 'leader' && /every replica acts/.test(i.message)), JSON.stringify(warned.issues));
  for (const leader of ['leader: { mode: single, controller: modelgate-0 }', 'leader: { mode: lease, lease: { file: /shared/l.lease } }']) {
    const quiet = parseConfig(`apiVersion: modelgate/v1\nsloSource:\n  prometheus: { url: http://prometheus:9090 }\n${leader}\n`, 'm.yaml');
    assert.deepEqual(quiet.issues.filter((i) => i.path === 'leader'), [], leader);
  }
  const local = parseConfig('apiVersion: modelgate/v1\nslos: []\n', 'm.yaml');
  assert.deepEqual(local.issues.filter((i) => i.path === 'leader'), []);
});
