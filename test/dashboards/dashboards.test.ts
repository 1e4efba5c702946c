import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { METRIC_GROUPS, SLO_RULE } from '../../common/conventions.ts';
import { parse } from 'yaml';
import { spawnSync } from 'node:child_process';
import { buildDashboards, dashboardQueries, expandQuery, generatedFiles, GRAFANA_DASHBOARD_PATH, staleGenerated } from '../../dashboards/index.ts';
import type { Panel } from '../../dashboards/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dashboards = buildDashboards();

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

test('the committed dashboard JSON, provisioning files and docs are what the builder generates', async () => {
  assert.deepEqual(await staleGenerated(ROOT), [], 'run `npm run dashboards` and commit the result');
});

test('there are three dashboards: Overview, On-call and Debug, with distinct uids', () => {
  assert.deepEqual(dashboards.map((d) => d.uid), ['modelgate-overview', 'modelgate-oncall', 'modelgate-debug']);
});

test('every dashboard has a datasource variable and multi-value model and version variables, and no __inputs', () => {
  for (const d of dashboards) {
    const vars = d.templating.list;
    assert.deepEqual(vars.map((v) => v.name), ['datasource', 'model', 'version'], d.uid);
    assert.equal(vars[0]!.type, 'datasource');
    assert.equal(vars[0]!.query, 'prometheus');
    for (const v of vars.slice(1)) {
      assert.equal(v.multi, true);
      assert.equal(v.includeAll, true);
      assert.equal(v.allValue, '.*');
      assert.deepEqual(v.datasource, { type: 'prometheus', uid: '${datasource}' });
    }
    assert.ok(!('__inputs' in d), `${d.uid} must not use __inputs (breaks file provisioning)`);
  }
});

test('every panel and every target queries through the $datasource variable', () => {
  for (const d of dashboards) {
    for (const p of allPanels(d.panels)) {
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `${d.uid} / ${p.title}`);
      assert.ok((p.targets ?? []).length > 0, `${d.uid} / ${p.title} has no query`);
      for (const t of p.targets ?? []) assert.equal(t.datasource.uid, '${datasource}');
    }
  }
});

test('every panel has a description saying what it answers', () => {
  for (const d of dashboards) for (const p of allPanels(d.panels)) if (p.type !== 'row') assert.ok(p.description.length > 20, `${d.uid} / ${p.title}`);
});

test('panel ids are unique and no two panels overlap on the grid', () => {
  for (const d of dashboards) {
    const panels = allPanels(d.panels);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, d.uid);
    for (const a of panels) {
      assert.ok(a.gridPos.x + a.gridPos.w <= 24, `${a.title} is wider than the grid`);
      for (const b of panels) {
        if (a === b) continue;
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
        assert.ok(!overlap, `${d.uid}: "${a.title}" overlaps "${b.title}"`);
      }
    }
  }
});

test('every metric a query names is defined in common/conventions.ts', () => {
  const known = new Set<string>();
  for (const group of METRIC_GROUPS) {
    for (const name of Object.values(group)) for (const suffix of ['', '_bucket', '_sum', '_count']) known.add(name + suffix);
  }
  const queries = dashboardQueries(dashboards);
  assert.ok(queries.length > 40, `only ${queries.length} queries`);
  for (const q of queries) {
    for (const [name] of q.expr.matchAll(/modelgate[a-z0-9_:]*/g)) {
      if (name.startsWith('modelgate:')) assert.ok(Object.values(SLO_RULE).some((r) => name.startsWith(r)), `${q.dashboard} / ${q.title}: ${name}`);
      else assert.ok(known.has(name), `${q.dashboard} / ${q.title}: unknown metric ${name}`);
    }
  }
});

test('the query list covers every panel target, annotation and variable of every dashboard', () => {
  const queries = dashboardQueries(dashboards);
  for (const d of dashboards) {
    const targets = allPanels(d.panels).reduce((n, p) => n + (p.targets?.length ?? 0), 0);
    const annotations = d.annotations.list.filter((a) => a.expr).length;
    assert.equal(queries.filter((q) => q.dashboard === d.uid).length, targets + annotations + 2, d.uid);
  }
});

test('expandQuery replaces every Grafana variable', () => {
  for (const q of dashboardQueries(dashboards)) {
    const e = expandQuery(q.expr, { model: 'fraud', version: '2', rateInterval: '10s' });
    assert.doesNotMatch(e, /\$/, `${q.dashboard} / ${q.title}: ${e}`);
  }
  assert.equal(expandQuery('rate(x{model=~"$model",version=~"$version"}[$__rate_interval])', { model: 'fraud', version: '1|2', rateInterval: '10s' }), 'rate(x{model=~"fraud",version=~"1|2"}[10s])');
});

test('the provisioning files are Grafana apiVersion 1: one default Prometheus datasource and a file provider', () => {
  const files = generatedFiles();
  const ds = parse(files.get('dashboards/provisioning/datasources/modelgate.yaml')!) as { apiVersion: number; datasources: Array<Record<string, unknown>> };
  assert.equal(ds.apiVersion, 1);
  assert.equal(ds.datasources.length, 1);
  assert.equal(ds.datasources[0]!['type'], 'prometheus');
  assert.equal(ds.datasources[0]!['isDefault'], true);
  const dp = parse(files.get('dashboards/provisioning/dashboards/modelgate.yaml')!) as { apiVersion: number; providers: Array<{ type: string; options: { path: string } }> };
  assert.equal(dp.apiVersion, 1);
  assert.equal(dp.providers[0]!.type, 'file');
  assert.equal(dp.providers[0]!.options.path, GRAFANA_DASHBOARD_PATH);
  assert.deepEqual([...files.keys()].filter((k) => k.startsWith('dashboards/generated/')), ['dashboards/generated/overview.json', 'dashboards/generated/oncall.json', 'dashboards/generated/debug.json']);
});

test('the dashboards type-check against Grafana\'s own dashboard schema (@grafana/schema)', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--allowImportingTsExtensions', '--verbatimModuleSyntax', '--skipLibCheck', '--types', 'node',
    join(ROOT, 'test', 'dashboards', 'grafana-schema.check.ts'),
  ], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
