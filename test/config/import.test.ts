import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../config/index.ts';

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

test('values that pass import but fail validation point at the source SLO document', () => {
  const text = read('openslo.yaml').replace('objectives: [{displayName: good, target: 0.999}]', 'objectives: [{displayName: good, target: 1}]');
  const [e] = parseConfig(text, 'openslo.yaml').issues.filter((i) => i.severity === 'error');
  assert.equal(e!.path, 'docs[2] (as slos[0].objective)');
  assert.equal(e!.line, 15);
  assert.match(e!.message, /no error budget/);
});
