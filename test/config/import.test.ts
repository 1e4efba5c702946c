import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../config/index.ts';
import { sloRuleGroup } from '../../slo/rules.ts';

const DAY = 86_400_000;
const read = (f: string) => readFileSync(`test/config/fixtures/${f}`, 'utf8');

test('a Sloth spec maps where it can and says why the rest cannot', () => {
  const { config, issues } = parseConfig(read('sloth.yaml'), 'sloth.yaml');
  assert.equal(config, undefined);
  const errors = issues.filter((i) => i.severity === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.path, 'slos[2].sli.events');
  assert.equal(errors[0]!.line, 26);
  assert.match(errors[0]!.message, /cannot evaluate in-process.*modelgate\/availability/);
});

test('the mappable part of a Sloth spec becomes modelgate SLOs named service-slo', () => {
  const text = read('sloth.yaml').split('  - name: "raw-query"')[0]!;
  const { config, issues } = parseConfig(text, 'sloth.yaml');
  assert.ok(config, JSON.stringify(issues));
  assert.equal(config.format, 'sloth prometheus/v1');
  const [a, l] = config.slos;
  assert.equal(a!.name, 'fraud-availability');
  assert.deepEqual(a!.sli, { kind: 'availability', badCodes: ['5..', 'UNAVAILABLE'] });
  assert.deepEqual(a!.alerting.labels, { team: 'fraud' });
  assert.deepEqual(a!.alerting.windows.map((w) => w.severity), ['page', 'page'], 'ticket_alert disabled');
  assert.equal(l!.version, '2');
  assert.deepEqual(l!.sli, { kind: 'latency', thresholdSeconds: 0.05 });
  const warned = issues.filter((i) => i.severity === 'warning').map((i) => i.path);
  assert.ok(warned.includes('slos[0].alerting.name'));
  assert.ok(warned.includes('slos[0].alerting.page_alert'));
});

test('OpenSLO v1 SLO documents map, with inline indicators and references to SLI documents', () => {
  const { config, issues } = parseConfig(read('openslo.yaml'), 'openslo.yaml');
  assert.ok(config, JSON.stringify(issues));
  assert.equal(config.format, 'openslo/v1');
  const [a, l] = config.slos;
  assert.deepEqual([a!.name, a!.objective, a!.periodMs, a!.sli.kind], ['fraud-availability', 0.999, 28 * DAY, 'availability']);
  assert.deepEqual([l!.name, l!.objective, l!.periodMs, l!.sli], ['fraud-latency', 0.99, 7 * DAY, { kind: 'latency', thresholdSeconds: 0.05 }]);
  const warnings = issues.filter((i) => i.severity === 'warning');
  assert.deepEqual(warnings.map((w) => [w.path, w.line]), [
    ['docs[0].kind', 2],
    ['docs[3].spec.alertPolicies', 40],
    // 7d scales the workbook's 5m window to 1m10s: too few scrapes for the Prometheus rules.
    ['docs[3].spec.timeWindow[0].duration (as slos[1].period)', 37],
  ]);
});

test('OpenSLO features without a meaning here are errors that say what to write instead', () => {
  const text = read('openslo.yaml')
    .replace('[{duration: 28d, isRolling: true}]', '[{duration: 1M, calendar: {startTime: "2024-01-01 00:00:00", timeZone: UTC}}]')
    .replace('budgetingMethod: Occurrences\n  objectives: [{targetPercent: 99}]', 'budgetingMethod: Timeslices\n  objectives: [{targetPercent: 99}, {targetPercent: 95}]')
    .replace('type: modelgate\n      spec: {model: fraud, sli: latency, threshold: 50ms}', 'type: Prometheus\n      spec: {query: "x"}');
  const errors = parseConfig(text, 'openslo.yaml').issues.filter((i) => i.severity === 'error');
  const table: [string, RegExp][] = [
    ['docs[2].spec.timeWindow[0]', /calendar windows do not map/],
    ['docs[1].spec', /Prometheus are queries for other backends.*type: modelgate/],
    ['docs[3].spec.budgetingMethod', /Occurrences/],
    ['docs[3].spec.objectives', /exactly one objective/],
  ];
  assert.equal(errors.length, table.length, JSON.stringify(errors, null, 1));
  for (const [path, re] of table) assert.match(errors.find((e) => e.path === path)?.message ?? `(no issue at ${path})`, re);
});

test('values that pass import but fail validation point at the field of the source SLO document', () => {
  const text = read('openslo.yaml').replace('objectives: [{displayName: good, target: 0.999}]', 'objectives: [{displayName: good, target: 1}]');
  const [e] = parseConfig(text, 'openslo.yaml').issues.filter((i) => i.severity === 'error');
  assert.equal(e!.path, 'docs[2].spec.objectives[0] (as slos[0].objective)');
  assert.equal(e!.line, 29);
  assert.match(e!.message, /no error budget/);
});

test('errors found validating a single-document OpenSLO file name the field they come from', () => {
  const text = read('openslo-threshold.yaml').replace('target: 0.99', 'target: 1').replace('duration: 28d', 'duration: 10s');
  const errors = parseConfig(text, 'openslo-threshold.yaml').issues.filter((i) => i.severity === 'error');
  assert.deepEqual(errors.map((e) => [e.path, e.line]), [
    ['spec.objectives[0] (as slos[0].objective)', 20],
    ['spec.timeWindow[0].duration (as slos[0].period)', 16],
  ]);
});

test('a Sloth file with several specs between "---" imports every spec, each issue pointing into its own document', () => {
  const { config, issues } = parseConfig(read('sloth-multifile.yaml'), 'sloth-multifile.yaml');
  assert.ok(config, JSON.stringify(issues));
  assert.equal(config.format, 'sloth prometheus/v1');
  assert.deepEqual(config.slos.map((s) => [s.name, s.model]), [
    ['fraud-requests-availability', 'fraud'],
    ['ranker-requests-latency', 'ranker'],
  ]);
  assert.deepEqual(issues.map((i) => [i.severity, i.path, i.line]), [
    ['warning', 'docs[0].slos[0].alerting.name', 18],
    ['warning', 'docs[0].slos[0].alerting.page_alert', 22],
  ]);
});

test('Sloth alerting.labels are merged with the spec and SLO labels, alerting.labels winning, as on Sloth\'s alerts', () => {
  const { config } = parseConfig(read('sloth-multifile.yaml'), 'sloth-multifile.yaml');
  // Sloth's generated alert for this spec: owner and tier inherited from the recording
  // rules (tier from the SLO), category and owner from alerting.labels (rule labels win).
  assert.deepEqual(config!.slos[0]!.alerting.labels, { owner: 'oncall', tier: '1', category: 'availability' });
  assert.deepEqual(config!.slos[1]!.alerting.labels, { owner: 'ranker-team' });
});

test('a Sloth SLO with page and ticket alerts both disabled has no alerts but still gets its recording rules', () => {
  const { config } = parseConfig(read('sloth-multifile.yaml'), 'sloth-multifile.yaml');
  const slo = config!.slos[1]!;
  assert.deepEqual(slo.alerting.windows, []);
  const group = sloRuleGroup(slo);
  assert.equal(group.rules.filter((r) => 'alert' in r).length, 0, 'no alerting rules');
  const records = group.rules.filter((r) => 'record' in r).map((r) => (r as { record: string }).record);
  for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d']) assert.ok(records.some((r) => r.endsWith(`ratio_rate${w}`) || r.endsWith(`:increase${w}`) || r.endsWith(w)), `no recording rule for ${w}: ${records.join(', ')}`);
});

test('an OpenSLO thresholdMetric objective\'s op and value are the latency threshold', () => {
  const { config, issues } = parseConfig(read('openslo-threshold.yaml'), 'openslo-threshold.yaml');
  assert.ok(config, JSON.stringify(issues));
  assert.deepEqual(issues, []);
  assert.deepEqual([config.slos[0]!.sli, config.slos[0]!.objective], [{ kind: 'latency', thresholdSeconds: 0.25 }, 0.99]);
});

test('OpenSLO op and value that modelgate cannot honour are refused with the reason', () => {
  const base = read('openslo-threshold.yaml');
  const cases: Array<[string, string, RegExp]> = [
    [base.replace('op: lte', 'op: gt'), 'spec.objectives[0].op', /slower than the value as good.*op: lte/],
    [base.replace('value: 0.25', 'value: "250ms"'), 'spec.objectives[0].value', /duration in seconds/],
    [base.replace('{model: fraud, sli: latency}', '{model: fraud, sli: latency, threshold: 100ms}'), 'spec.objectives[0].value', /disagrees.*100ms/],
    [base.replace('sli: latency}', 'sli: availability}'), 'spec.objectives[0]', /availability SLI counts good and bad requests/],
    [base.replace('      op: lte\n', ''), 'spec.objectives[0]', /needs both op and value/],
    [
      base.replace(
        'thresholdMetric:\n        metricSource:\n          type: modelgate\n          spec: {model: fraud, sli: latency}',
        'ratioMetric:\n        good: {metricSource: {type: modelgate, spec: {model: fraud}}}\n        total: {metricSource: {type: modelgate, spec: {model: fraud}}}',
      ),
      'spec.objectives[0]',
      /ratio of good to total requests.*remove op and value/,
    ],
  ];
  for (const [text, path, re] of cases) {
    assert.notEqual(text, base);
    const { config, issues } = parseConfig(text, 'openslo-threshold.yaml');
    assert.equal(config, undefined, path);
    const errors = issues.filter((i) => i.severity === 'error');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.path, path);
    assert.match(errors[0]!.message, re);
  }
  const [gt] = parseConfig(base.replace('op: lte', 'op: gt'), 'openslo-threshold.yaml').issues;
  assert.deepEqual([gt!.path, gt!.line], ['spec.objectives[0].op', 21], 'a single-document file: paths from its top, with the line');
  const lt = parseConfig(base.replace('op: lte', 'op: lt'), 'openslo-threshold.yaml');
  assert.ok(lt.config);
  assert.match(lt.issues.find((i) => i.path === 'spec.objectives[0].op')?.message ?? '', /lt is counted as lte/);
});

test('SLO files of formats modelgate does not import say so and how to convert them', () => {
  const table: Array<[string, string[], RegExp]> = [
    ['sloth-k8s.yaml', [''], /^format Sloth Kubernetes \(sloth\.slok\.dev\/v1 PrometheusServiceLevel\) is not supported; convert it with: .*version: "prometheus\/v1"/],
    ['sloth-windows-7d.yaml', [''], /^format Sloth AlertWindows is not supported.*convert it with: period: 7d and alerting: \{ windows: \[\{severity: page, long: 1h, short: 5m, factor: 13\.44\}, \{severity: page, long: 6h, short: 30m, factor: 3\.5\}, \{severity: ticket, long: 1d, short: 2h, factor: 1\.4\}, \{severity: ticket, long: 3d, short: 6h, factor: 0\.98\}\] \}/],
    ['openslo-v1alpha.yaml', [''], /^format OpenSLO v1alpha is not supported; convert it to openslo\/v1 with: .*timeWindow \[\{duration: 28d/],
    ['pyrra.yaml', ['docs[0]', 'docs[1]'], /^format Pyrra \(pyrra\.dev\/v1alpha1 ServiceLevelObjective\) is not supported; convert it with: a modelgate\/v1 SLO \{ name: fraud-(errors|latency), model: MODEL, objective: (99\.9|99), period: (2w|4w), sli: \{ (availability: \{\}|latency: \{ threshold: 250ms \}) \} \}/],
  ];
  for (const [file, paths, re] of table) {
    const { config, issues } = parseConfig(read(file), file);
    assert.equal(config, undefined, file);
    assert.deepEqual(issues.map((i) => i.path), paths, file);
    for (const i of issues) {
      assert.equal(i.severity, 'error');
      assert.match(i.message, re, file);
      assert.doesNotMatch(i.message, /unknown top-level section/);
    }
  }
});
