import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, suggestFlag, UsageError, type FlagSpec } from '../../cli/args.ts';
import { configFromFlags, SERVE_FLAGS } from '../../server/config.ts';
import { Issues } from '../../common/index.ts';
import { PROXY_FLAGS, proxyConfigFrom } from '../../cli/commands/proxy-bare.ts';
import { GATEWAY_PROXY_FLAGS } from '../../cli/commands/proxy.ts';
import { START_FLAGS } from '../../cli/commands/start.ts';
import { COMMANDS } from '../../cli/commands.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const modelgate = (...args: string[]) => spawnSync(process.execPath, ['bin/modelgate.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

const SPECS: FlagSpec[] = [
  { name: 'output', type: 'string', short: 'o', aliases: ['out'], help: 'where to write' },
  { name: 'tick', type: 'duration', default: '5s', aliases: [{ name: 'tick_ms', unit: 'ms' }], help: 'how often' },
  { name: 'rest_api_port', type: 'number', help: 'port' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

test('a mistyped flag names the flag it most likely meant', () => {
  assert.equal(suggestFlag('rest_port', SERVE_FLAGS), 'rest_api_port');
  assert.equal(suggestFlag('model-nme', SERVE_FLAGS), 'model_name');
  assert.equal(suggestFlag('zzz', SERVE_FLAGS), undefined);
  assert.throws(() => parseArgs(['--rest_port', '1'], SERVE_FLAGS), (e: Error) => e instanceof UsageError && e.message === 'unknown flag --rest_port; did you mean --rest_api_port? (see --help)');
  assert.throws(() => parseArgs(['--zzz'], SPECS), (e: Error) => e.message === 'unknown flag --zzz (see --help)');
});

test('-h is --help, a short form and the older spellings reach the same flag, durations are duration strings', () => {
  assert.equal(parseArgs(['-h'], SPECS).flags['help'], true);
  assert.equal(parseArgs(['-o', 'a'], SPECS).flags['output'], 'a');
  assert.equal(parseArgs(['--out', 'b'], SPECS).flags['output'], 'b');
  assert.equal(parseArgs([], SPECS).flags['tick'], 5000);
  assert.equal(parseArgs(['--tick', '250ms'], SPECS).flags['tick'], 250);
  assert.equal(parseArgs(['--tick=1m'], SPECS).flags['tick'], 60_000);
  assert.equal(parseArgs(['--tick_ms', '200'], SPECS).flags['tick'], 200, 'the older millisecond flag still works');
  assert.throws(() => parseArgs(['--tick', '200'], SPECS), /--tick needs a unit: write "200s" or "200ms", not 200/);
  assert.throws(() => parseArgs(['--tick', 'soon'], SPECS), /--tick must be a duration such as 5s/);
  assert.deepEqual(parseArgs(['-1', '-x'], SPECS).positional, ['-1', '-x'], 'other single-dash words stay positional');
  const help = helpText('usage', SPECS);
  assert.match(help, /--output +where to write \(also -o, --out\)/);
  assert.match(help, /--tick +how often \(default "5s"\)\n/);
  assert.doesNotMatch(help, /tick_ms/, 'the older spelling with a unit works but is not shown');
  assert.match(help, /--help +show this help \(also -h\)/);
});

/** tensorflow_model_server's own flags: users pass them to it too, so they keep its names and units. */
const TF_SERVING_FLAGS = new Set(['rest_api_timeout_in_ms', 'file_system_poll_wait_seconds']);

test('one spelling per idea across the commands: output is --output (-o), durations are duration strings without a unit in the name', async () => {
  for (const [name, c] of Object.entries(COMMANDS)) {
    const mod = (await c.load()) as Record<string, unknown>;
    for (const specs of Object.values(mod).filter((v): v is FlagSpec[] => Array.isArray(v) && v.every((s) => typeof s?.name === 'string' && typeof s?.type === 'string'))) {
      for (const s of specs) {
        assert.notEqual(s.name, 'out', `${name}: --out is spelt --output`);
        assert.ok(!/_(ms|in_ms|seconds|secs|micros)$/.test(s.name) || TF_SERVING_FLAGS.has(s.name), `${name} --${s.name}: durations are duration strings`);
        if (s.type === 'duration') assert.ok(s.default === undefined || parseArgs([], [s]).flags[s.name] !== undefined, `${name} --${s.name}: its default parses`);
        assert.doesNotMatch(helpText('usage', specs), /--\w+_(ms|seconds)\b(?<!rest_api_timeout_in_ms|file_system_poll_wait_seconds)/, `${name}: the help shows the new spellings only`);
      }
    }
  }
});

test('modelgate --version prints the package version; an unknown command or flag suggests the near one', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
  for (const v of ['--version', '-V']) {
    const r = modelgate(v);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `modelgate ${pkg.version}\n`);
  }
  const serve = modelgate('serve', '--rest_port', '8501');
  assert.equal(serve.status, 2);
  assert.match(serve.stderr, /^modelgate serve: unknown flag --rest_port; did you mean --rest_api_port\?/);
  const typo = modelgate('serv');
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown command "serv"; did you mean "serve"\?/);
  const h = modelgate('check', '-h');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: modelgate check FILE/);
});

test('modelgate\'s own durations take a duration string; the older spellings still take a bare number in their old unit', async () => {
  const serve = (...argv: string[]) => parseArgs(argv, SERVE_FLAGS).flags;
  assert.equal(serve('--body_read_timeout', '45s')['body_read_timeout'], 45_000);
  assert.equal(serve('--body_read_timeout_ms', '1500')['body_read_timeout'], 1500);
  assert.equal(serve('--body-read-timeout-ms=2500')['body_read_timeout'], 2500);
  assert.equal(serve('--grpc_idle_timeout', '2m')['grpc_idle_timeout'], 120_000);
  assert.equal(serve('--grpc_idle_timeout_seconds', '90')['grpc_idle_timeout'], 90_000);
  assert.equal(serve()['load_retry_interval'], 1000);
  assert.equal(serve('--load_retry_interval', '2s')['load_retry_interval'], 2000);
  assert.equal(serve('--load_retry_interval_ms', '250')['load_retry_interval'], 250);
  assert.equal(serve()['drain_timeout'], 30_000);
  assert.equal(serve('--drain_timeout', '10s')['drain_timeout'], 10_000);
  assert.equal(serve('--drain_timeout_seconds', '1.5')['drain_timeout'], 1500);
  assert.equal(serve('--drain_timeout', '0')['drain_timeout'], 0, 'a drain of 0 cuts at once and needs no unit');
  assert.equal(serve('--drain_timeout_seconds', '0')['drain_timeout'], 0);
  // TF Serving's own flags keep their names and bare numbers.
  assert.equal(serve('--rest_api_timeout_in_ms', '500')['rest_api_timeout_in_ms'], 500);
  assert.equal(serve('--file_system_poll_wait_seconds', '2')['file_system_poll_wait_seconds'], 2);

  const cfg = await configFromFlags(serve('--model_name', 'a', '--model_base_path', 'x', '--body_read_timeout', '5s', '--grpc_idle_timeout_seconds', '7', '--load_retry_interval', '300ms', '--drain_timeout', '1m'));
  assert.deepEqual(
    { body: cfg.bodyReadTimeoutMs, idle: cfg.grpcIdleTimeoutMs, retry: cfg.retryBaseMs, drain: cfg.drainTimeoutMs },
    { body: 5000, idle: 7000, retry: 300, drain: 60_000 },
  );
  const defaults = await configFromFlags(serve('--model_name', 'a', '--model_base_path', 'x'));
  assert.deepEqual(
    { body: defaults.bodyReadTimeoutMs, idle: defaults.grpcIdleTimeoutMs, retry: defaults.retryBaseMs, drain: defaults.drainTimeoutMs },
    { body: 30_000, idle: 120_000, retry: 1000, drain: 30_000 },
  );

  for (const specs of [START_FLAGS, PROXY_FLAGS, GATEWAY_PROXY_FLAGS]) {
    assert.equal(parseArgs(['--drain_timeout', '45s'], specs).flags['drain_timeout'], 45_000);
    assert.equal(parseArgs(['--drain_timeout_seconds', '45'], specs).flags['drain_timeout'], 45_000);
  }
  assert.equal(parseArgs([], START_FLAGS).flags['drain_timeout'], 30_000);
  const drain = (...argv: string[]) => {
    const issues = new Issues();
    const config = proxyConfigFrom({ rest: { upstream: 'http://127.0.0.1:1' } }, parseArgs(argv, PROXY_FLAGS).flags, issues);
    assert.deepEqual(issues.list, []);
    return config.timeouts.drainMs;
  };
  assert.equal(drain('--drain_timeout', '2s'), 2000);
  assert.equal(drain('--drain_timeout_seconds', '3'), 3000);
  assert.equal(drain('--drain_timeout', '0'), 0);
  assert.equal(drain(), 30_000, 'without the flag, proxy.timeouts.drain or its default');
});

test('a duration that must be positive refuses 0 with a message saying what to pass', () => {
  const refuse = (specs: readonly FlagSpec[], argv: string[], message: string) =>
    assert.throws(() => parseArgs(argv, specs), (e: Error) => e instanceof UsageError && e.message === message);
  for (const specs of [START_FLAGS, GATEWAY_PROXY_FLAGS]) {
    refuse(specs, ['--tick', '0'], '--tick must be longer than 0, with a unit such as "5s"; leave it out for the default 5s');
    refuse(specs, ['--tick', '0s'], '--tick must be longer than 0 ("0s" would expire at once); write a duration such as "5s"; leave it out for the default 5s');
    refuse(specs, ['--tick=0ms'], '--tick must be longer than 0 ("0ms" would expire at once); write a duration such as "5s"; leave it out for the default 5s');
    refuse(specs, ['--tick_ms', '0'], '--tick_ms must be longer than 0 ("0" would expire at once); write a duration such as --tick 5s; leave it out for the default 5s');
  }
  refuse(SERVE_FLAGS, ['--body_read_timeout', '0s'], '--body_read_timeout must be longer than 0 ("0s" would expire at once); write a duration such as "30s"');
  refuse(SERVE_FLAGS, ['--body_read_timeout_ms', '0'], '--body_read_timeout_ms must be longer than 0 ("0" would expire at once); write a duration such as --body_read_timeout 30s');
  refuse(SERVE_FLAGS, ['--grpc_idle_timeout', '0'], '--grpc_idle_timeout must be longer than 0, with a unit such as "30s"');
  refuse(SERVE_FLAGS, ['--load_retry_interval', '0s'], '--load_retry_interval must be longer than 0 ("0s" would expire at once); write a duration such as "1s"; leave it out for the default 1s');
  refuse(SERVE_FLAGS, ['--drain_timeout', '30'], '--drain_timeout needs a unit: write "30s" or "30ms", not 30');
});

test('modelgate proxy --tick 0 and modelgate demo --interval 100ms exit 2 saying what to pass', () => {
  const r = modelgate('proxy', '--tick', '0', '--upstream_rest', 'http://127.0.0.1:1');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--tick must be longer than 0, with a unit such as "5s"; leave it out for the default 5s/);
  const demo = modelgate('demo', '--interval', '100ms');
  assert.equal(demo.status, 2, demo.stderr);
  assert.match(demo.stderr, /^modelgate demo: --interval must be at least 200ms, got 100ms; leave it out for the default 2s/);
});
