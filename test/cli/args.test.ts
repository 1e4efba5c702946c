import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, suggestFlag, UsageError, type FlagSpec } from '../../cli/args.ts';
import { SERVE_FLAGS } from '../../server/config.ts';
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
  assert.throws(() => parseArgs(['--tick', '200'], SPECS), /--tick must be a duration such as 5s/);
  assert.deepEqual(parseArgs(['-1', '-x'], SPECS).positional, ['-1', '-x'], 'other single-dash words stay positional');
  const help = helpText('usage', SPECS);
  assert.match(help, /--output +where to write \(also -o, --out\)/);
  assert.match(help, /--tick +how often \(default "5s"\) \(also --tick_ms \(ms\)\)/);
  assert.match(help, /--help +show this help \(also -h\)/);
});

test('one spelling per idea across the commands: output is --output (-o), intervals are durations', async () => {
  for (const [name, c] of Object.entries(COMMANDS)) {
    const mod = (await c.load()) as Record<string, unknown>;
    for (const specs of Object.values(mod).filter((v): v is FlagSpec[] => Array.isArray(v) && v.every((s) => typeof s?.name === 'string' && typeof s?.type === 'string'))) {
      for (const s of specs) {
        assert.notEqual(s.name, 'out', `${name}: --out is spelt --output`);
        assert.ok(!/_ms$/.test(s.name) || name === 'serve', `${name} --${s.name}: durations are duration strings`);
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
