// Limits of modelgate.yaml: durations that must be positive, SLO periods that make sense,
// and YAML that expands without bound. Each is a file:line error that says how to fix it,
// never a stack trace and never a config that breaks every request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/index.ts';
import { parseDuration } from '../../common/duration.ts';
import { Issues, readDuration } from '../../common/validate.ts';

const BIN = new URL('../../bin/modelgate.js', import.meta.url).pathname;

const PROXY = `apiVersion: modelgate/v1
proxy:
  rest: { host: 127.0.0.1, port: 0, upstream: "http://127.0.0.1:8501" }
  timeouts:
    upstream: 0s
`;

function errors(text: string): Array<[string, number | undefined, string]> {
  const r = parseConfig(text, 'modelgate.yaml');
  return r.issues.filter((i) => i.severity === 'error').map((i) => [i.path, i.line, i.message]);
}

test('timeouts.upstream: 0s is refused at its line, saying what to write instead', () => {
  const found = errors(PROXY);
  assert.equal(found.length, 1, JSON.stringify(found));
  const [path, line, message] = found[0]!;
  assert.equal(path, 'proxy.timeouts.upstream');
  assert.equal(line, 5);
  assert.match(message, /must be longer than 0/);
  assert.match(message, /leave it out for the default \d+s/);
});

test('every duration that must be positive refuses zero, written with or without a unit', () => {
  const zeroes: Array<[string, string]> = [
    ['0s', 'must be longer than 0'],
    ['0ms', 'must be longer than 0'],
    ['0h0m', 'must be longer than 0'],
    ['0', 'must be longer than 0, with a unit'],
  ];
  for (const [text, message] of zeroes) {
    const issues = new Issues();
    const ms = readDuration({ timeout: text === '0' ? 0 : text }, 'timeout', 'x', issues, { default: 5000 });
    assert.equal(ms, 5000, `${text} falls back to the default while the error is reported`);
    assert.equal(issues.errors.length, 1, text);
    assert.match(issues.errors[0]!.message, new RegExp(message), text);
  }
  const yaml = `apiVersion: modelgate/v1
slos:
  - name: lat
    model: m
    objective: 99
    sli: { latency: { threshold: 0ms } }
  - name: win
    model: m
    objective: 99
    sli: { availability: {} }
    alerting: { windows: [{ severity: page, long: 0m, short: 0s, factor: 14.4 }] }
`;
  const paths = errors(yaml).map(([p]) => p);
  assert.deepEqual(paths, ['slos[0].sli.latency.threshold', 'slos[1].alerting.windows[0].long', 'slos[1].alerting.windows[0].short']);
});

test('durations where zero means something still accept it', () => {
  const issues = new Issues();
  assert.equal(readDuration({ offset: '0s' }, 'offset', 'x', issues, { default: 0, allowZero: true }), 0);
  assert.ok(issues.ok, JSON.stringify(issues.list));
  const r = parseConfig(`apiVersion: modelgate/v1
sloSource:
  prometheus: { url: "http://127.0.0.1:9090", offset: 0s }
`);
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
});

test('SLO periods shorter than an hour or longer than a year are refused, with the usual values named', () => {
  const slo = (period: string) => `apiVersion: modelgate/v1
slos:
  - name: a
    model: m
    objective: 99.9
    sli: { availability: {} }
    period: ${period}
`;
  for (const period of ['1m', '59m', '366d', '100y']) {
    const found = errors(slo(period));
    assert.equal(found.length, 1, `${period}: ${JSON.stringify(found)}`);
    const [path, line, message] = found[0]!;
    assert.equal(path, 'slos[0].period', period);
    assert.equal(line, 7, period);
    assert.match(message, /28d or 30d is usual/, period);
  }
  assert.equal(errors(slo('1m'))[0]![2], '1m is too short for an SLO period: its page windows would be 83ms/7ms; use at least 1h (28d or 30d is usual; leave it out for 30d)');
  assert.match(errors(slo('100y'))[0]![2], /^36500d is too long for an SLO period: use at most 1y \(365d\)/);
  for (const period of ['1h', '28d', '30d', '90d', '365d']) assert.deepEqual(errors(slo(period)), [], period);
});

test('durations too large for a number of milliseconds are not durations', () => {
  assert.equal(parseDuration(`${'9'.repeat(30)}y`), undefined);
  assert.equal(parseDuration(`${'9'.repeat(400)}s`), undefined);
  assert.equal(parseDuration('1.5ms'), 2, 'whole milliseconds');
  assert.equal(parseDuration('1.1s'), 1100);
});

const BOMB = `apiVersion: modelgate/v1
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
`;

test('a YAML alias bomb is one error at the line where it explodes, not a stack trace', () => {
  const r = parseConfig(BOMB, 'bomb.yaml');
  assert.equal(r.config, undefined);
  assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
  const issue = r.issues[0]!;
  assert.equal(issue.severity, 'error');
  assert.equal(issue.line, 7);
  assert.match(issue.message, /the alias \*e here expands the document to more than 100000 values/);
});

test('an alias inside the node its own anchor marks is an error at its line', () => {
  const r = parseConfig('apiVersion: modelgate/v1\nslos:\n  - name: &n [*n]\n', 'loop.yaml');
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.message]),
    [[3, 'the alias *n here is inside the node &n marks, so its value would contain itself; write the value out']],
  );
});

test('an anchor used many times is fine: only the expansion is bounded', () => {
  const item = (i: number) => `  - { name: s${i}, model: m, objective: 99, sli: ${i === 0 ? '&sli { availability: {} }' : '*sli'} }`;
  const text = ['apiVersion: modelgate/v1', 'slos:', ...Array.from({ length: 150 }, (_, i) => item(i))].join('\n');
  const r = parseConfig(text);
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
  assert.equal(r.config?.slos.length, 150);
});

test('`modelgate check` on an alias bomb prints file:line and exits 2, without a stack trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-limits-'));
  try {
    const file = join(dir, 'bomb.yaml');
    await writeFile(file, BOMB);
    const child = spawn(process.execPath, [BIN, 'check', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    assert.equal(code, 2, out);
    assert.ok(out.includes(`${file}:7: error:`), out);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a drain timeout of 0 (stop without waiting) is accepted, as --drain_timeout 0 promises', () => {
  const r = parseConfig(PROXY.replace('upstream: 0s', 'drain: 0s'));
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
  assert.equal(r.config?.proxy?.timeouts.drainMs, 0);
});
