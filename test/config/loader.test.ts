import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, loadConfig } from '../../config/index.ts';
import { ConfigError } from '../../common/index.ts';

const errorsOf = (text: string) => parseConfig(text, 'm.yaml').issues.filter((i) => i.severity === 'error');
const warningsOf = (text: string) => parseConfig(text, 'm.yaml').issues.filter((i) => i.severity === 'warning');

const GOOD = `apiVersion: modelgate/v1
slos:
  - name: fraud-availability
    model: fraud
    sli: {availability: {}}
    objective: 99.9
notify:
  - name: oncall
    webhook: http://127.0.0.1:9099/alerts
`;

test('the example config loads, frozen, with SRE workbook windows and 4xx not counted as bad', () => {
  const config = loadConfig('examples/modelgate.yaml');
  assert.equal(config.apiVersion, 'modelgate/v1');
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.slos[0]!.alerting.windows));
  const hpt = config.slos.find((s) => s.name === 'half-plus-two-availability')!;
  assert.equal(hpt.objective, 0.999);
  assert.equal(hpt.version, undefined);
  assert.deepEqual(hpt.sli, { kind: 'availability', badCodes: ['5..', 'UNKNOWN', 'DEADLINE_EXCEEDED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS'] });
  assert.deepEqual(hpt.alerting.windows.map((w) => w.factor), [14.4, 6, 3, 1]);
  assert.deepEqual(config.warnings, []);
});

test('every problem is reported at once, with line, path and a fix', () => {
  const issues = errorsOf(`apiVersion: modelgate/v1
slos:
  - name: a
    model: fraud
    sli: {availability: {}}
    objective: 100
  - name: b
    model: fraud
    sli: {latncy: {threshold: 250ms}}
    objective: 99
  - name: c
    model: fraud
    sli: {latency: {threshold: 250}}
    objective: "99.9"
    period: 30 days
`);
  const table: [path: string, line: number, pattern: RegExp][] = [
    ['slos[0].objective', 6, /no error budget/],
    ['slos[1].sli.latncy', 9, /did you mean "latency"/],
    ['slos[2].sli.latency.threshold', 13, /needs a unit: write "250s" or "250ms"/],
    ['slos[2].objective', 14, /write objective: 99.9/],
    ['slos[2].period', 15, /duration such as/],
  ];
  assert.equal(issues.length, table.length, JSON.stringify(issues, null, 1));
  for (const [path, line, pattern] of table) {
    const i = issues.find((x) => x.path === path);
    assert.ok(i, `no issue at ${path}`);
    assert.equal(i.line, line, path);
    assert.match(i.message, pattern);
  }
});

test('an objective written as a ratio is a warning that says what was probably meant', () => {
  const [w] = warningsOf(GOOD.replace('objective: 99.9', 'objective: 0.999'));
  assert.equal(w!.path, 'slos[0].objective');
  assert.match(w!.message, /did you mean 99.9\?/);
  assert.equal(w!.line, 6);
});

test('unknown top-level sections are errors with a did-you-mean', () => {
  const [e] = errorsOf(GOOD + 'slo:\n  - {}\n');
  assert.equal(e!.path, 'slo');
  assert.match(e!.message, /did you mean "slos"\?/);
  assert.equal(e!.line, 10);
});

test('a missing or wrong apiVersion says what to write', () => {
  assert.match(errorsOf(GOOD.replace('apiVersion: modelgate/v1\n', ''))[0]!.message, /apiVersion: modelgate\/v1/);
  assert.match(errorsOf(GOOD.replace('modelgate/v1', 'modelgate/v2'))[0]!.message, /must be "modelgate\/v1"/);
});

test('an SLO naming an unknown notification target is an error with a suggestion', () => {
  const [e] = errorsOf(GOOD.replace('objective: 99.9', 'objective: 99.9\n    notify: [oncal]'));
  assert.equal(e!.path, 'slos[0].notify[0]');
  assert.match(e!.message, /did you mean "oncall"/);
});

test('duplicate SLO names, bad codes and impossible windows are reported with their paths', () => {
  const issues = errorsOf(`apiVersion: modelgate/v1
slos:
  - name: a
    model: fraud
    sli: {availability: {badCodes: [5xx, unavailable, 600]}}
    objective: 99.9
  - name: a
    model: fraud
    sli: {availability: {}}
    objective: 99.9
    period: 7d
    alerting:
      windows:
        - {severity: page, long: 5m, short: 1h, factor: 14.4}
        - {severity: ticket, long: 30d, short: 1d, factor: 1}
        - {severity: warn, long: 1h, short: 5m, factor: 2}
`);
  const paths = issues.map((i) => i.path);
  assert.deepEqual(paths.sort(), [
    'slos[0].sli.availability.badCodes[1]',
    'slos[0].sli.availability.badCodes[2]',
    'slos[1].alerting.windows[0].short',
    'slos[1].alerting.windows[1].long',
    'slos[1].alerting.windows[2].severity',
  ]);
  assert.match(issues.find((i) => i.path.endsWith('badCodes[1]'))!.message, /write UNAVAILABLE/);
});

test('YAML syntax errors and duplicate keys carry their line', () => {
  const [dup] = errorsOf('apiVersion: modelgate/v1\nslos: []\nslos: []\n');
  assert.equal(dup!.line, 3);
  assert.match(dup!.message, /unique/i);
});

test('loadConfig throws one ConfigError listing every error with file:line', () => {
  assert.throws(
    () => loadConfig('test/config/fixtures/broken.yaml'),
    (err: unknown) => err instanceof ConfigError && err.issues.length === 2 && /broken\.yaml:5: error: slos\[0\]\.objective/.test(err.message),
  );
});

test('a period scales the default windows; one hour gives windows of seconds', () => {
  const { config, issues } = parseConfig(GOOD.replace('objective: 99.9', 'objective: 99.9\n    period: 1h'));
  assert.deepEqual(issues.map((i) => [i.severity, i.path, i.line]), [['warning', 'slos[0].period', 7]]);
  assert.match(issues[0]!.message, /shortest alert window is 417ms/);
  assert.deepEqual(config!.slos[0]!.alerting.windows.map((w) => [w.longMs, w.shortMs]), [
    [5000, 417],
    [30000, 2500],
    [120000, 10000],
    [360000, 30000],
  ]);
});

test('windows scaled below a few scrape intervals warn in check and say which period or windows to use instead', () => {
  const week = GOOD.replace('objective: 99.9', 'objective: 99.9\n    period: 7d');
  const { issues } = parseConfig(week);
  assert.deepEqual(issues.map((i) => [i.severity, i.path, i.line]), [['warning', 'slos[0].period', 7]]);
  assert.match(issues[0]!.message, /shortest alert window is 1m10s, fewer than 4 scrapes.*use period: 24d or longer/);
  // The windows the warning suggests, pasted in, keep the 7d period without the warning.
  const windows = /alerting: (\{ windows: \[.*\] \})/.exec(issues[0]!.message)![1]!;
  const fixed = parseConfig(week.replace('period: 7d', `period: 7d\n    alerting: ${windows}`));
  assert.ok(fixed.config, JSON.stringify(fixed.issues));
  assert.deepEqual(fixed.issues, []);
  assert.deepEqual(fixed.config.slos[0]!.alerting.windows.map((w) => w.factor), [13.44, 3.5, 1.4, 0.98]);
  assert.deepEqual(parseConfig(GOOD.replace('objective: 99.9', 'objective: 99.9\n    period: 28d')).issues, []);
  const custom = parseConfig(GOOD.replace('objective: 99.9', 'objective: 99.9\n    alerting: {windows: [{severity: page, long: 1h, short: 2m, factor: 14.4}]}'));
  assert.deepEqual(custom.issues.map((i) => i.path), ['slos[0].alerting.windows']);
  assert.match(custom.issues[0]!.message, /make every short window at least 4m, or scrape the proxy at 30s or less/);
});

test('alerting.windows: [] is an SLO without alerts', () => {
  const { config, issues } = parseConfig(GOOD.replace('objective: 99.9', 'objective: 99.9\n    alerting: {windows: []}'));
  assert.ok(config, JSON.stringify(issues));
  assert.deepEqual(issues, []);
  assert.deepEqual(config.slos[0]!.alerting.windows, []);
});
