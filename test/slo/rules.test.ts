import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../config/index.ts';
import { rulesFile } from '../../slo/rules-yaml.ts';
import { errorRatioExpr, leMatcher, sloRuleGroup } from '../../slo/rules.ts';
import { havePromtool, promtool } from './promtool.ts';
import { availabilitySlo, HOUR } from './helpers.ts';

const EXAMPLE = 'examples/modelgate.yaml';
const RULES = 'alerts/modelgate-rules.yaml';

test('the committed rules are what the example config generates (regenerate with modelgate rules)', () => {
  const expected = rulesFile(loadConfig(EXAMPLE).slos, EXAMPLE);
  assert.equal(readFileSync(RULES, 'utf8'), expected, `stale: run node bin/modelgate.js rules ${EXAMPLE} -o ${RULES}`);
});

test('promtool check rules accepts the generated rules', (t) => {
  if (!havePromtool(t)) return;
  const r = promtool(['check', 'rules', RULES]);
  assert.equal(r.status, 0, r.output);
});

test('promtool test rules: outage pages within 5m, 2x burn tickets only, healthy and low traffic stay quiet, alerts resolve', (t) => {
  if (!havePromtool(t)) return;
  const r = promtool(['test', 'rules', 'modelgate-rules.test.yaml'], 'alerts');
  assert.equal(r.status, 0, r.output);
});

test('latency error ratios count requests above the threshold bucket; whole-second thresholds accept "1" and "1.0"', () => {
  assert.equal(leMatcher(0.25), 'le="0.25"');
  // PromQL string "1(\\.0)?" is the regex 1(\.0)?
  assert.equal(leMatcher(1), 'le=~"1(\\\\.0)?"');
  const expr = errorRatioExpr(availabilitySlo({ sli: { kind: 'latency', thresholdSeconds: 0.05 } }), 5 * 60_000);
  assert.match(expr, /modelgate_request_duration_seconds_count\{model="fraud",api=~"predict\|classify\|regress\|infer"\}\[5m\]/);
  assert.match(expr, /modelgate_request_duration_seconds_bucket\{[^}]*le="0.05"\}\[5m\]/);
});

test('a pinned version, names with quotes and short demo periods produce valid selectors and a group interval', () => {
  const group = sloRuleGroup(availabilitySlo({ model: 'we"ird', version: '2', periodMs: HOUR, alerting: { ...availabilitySlo({ periodMs: HOUR }).alerting } }));
  assert.equal(group.interval, '1s');
  const first = group.rules[0]!;
  assert.ok('record' in first);
  assert.match(first.expr, /model="we\\"ird",version="2"/);
});
