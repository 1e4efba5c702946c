// `modelgate baseline`, run in-process on temporary files; and the committed example
// reference file and baseline are what the code generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../cli/commands/baseline.ts';
import { baselinePath, parseProfile } from '../../drift/index.ts';
import { UsageError } from '../../cli/args.ts';
import { fraudReferenceLines, REFERENCE_FILE } from '../../examples/data/fraud-reference.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-baseline-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

test('a CSV reference becomes a baseline under <out>/<model>/<version>/', () =>
  withDir(async (dir) => {
    const csv = ['amount,channel,note', '10.5,web,"a, quoted ""note"""', '20,app,', '30,web,x', ''].join('\r\n');
    await writeFile(join(dir, 'ref.csv'), csv);
    assert.equal(await quiet(() => run(['--model', 'shop', '--version', '7', '--from', join(dir, 'ref.csv'), '--output', dir])), 0);
    const profile = parseProfile(JSON.parse(await readFile(baselinePath(dir, 'shop', '7'), 'utf8')), 'test');
    assert.equal(profile.rows, 3);
    assert.equal(profile.features['amount']!.kind, 'numeric');
    assert.deepEqual(profile.features['channel'], { kind: 'categorical', count: 3, missing: 0, categories: { web: 2, app: 1 } });
    assert.deepEqual(profile.features['note'], { kind: 'categorical', count: 2, missing: 1, categories: { 'a, quoted "note"': 1, x: 1 } });
  }));

test('with --config the features and their kinds come from the drift section', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'ref.jsonl'), '{"a": 1, "b": 0, "extra": 5}\n{"a": 2, "b": 1, "extra": 6}\n');
    await writeFile(join(dir, 'modelgate.yaml'), `drift:\n  baselineDir: ${join(dir, 'bl')}\n  models:\n    m:\n      inputs: [a]\n      outputs: [{ name: b, type: categorical }]\n`);
    assert.equal(await quiet(() => run(['--model', 'm', '--version', '3', '--from', join(dir, 'ref.jsonl'), '--config', join(dir, 'modelgate.yaml')])), 0);
    const profile = parseProfile(JSON.parse(await readFile(baselinePath(join(dir, 'bl'), 'm', '3'), 'utf8')), 'test');
    assert.deepEqual(Object.keys(profile.features), ['a', 'b']);
    assert.equal(profile.features['b']!.kind, 'categorical');
  }));

test('missing flags and bad files are reported, not written', () =>
  withDir(async (dir) => {
    await assert.rejects(run(['--from', 'x.jsonl']), (e) => e instanceof UsageError && /--model is required/.test(e.message));
    await writeFile(join(dir, 'bad.jsonl'), '{"a": 1}\nnot json\n');
    const errors: string[] = [];
    const { error } = console;
    console.error = (m: string) => errors.push(m);
    try {
      assert.equal(await run(['--model', 'm', '--from', join(dir, 'bad.jsonl'), '--output', dir]), 2);
      assert.equal(await run(['--model', 'm', '--from', join(dir, 'missing.csv'), '--output', dir]), 2);
    } finally {
      console.error = error;
    }
    assert.match(errors[0]!, /bad\.jsonl:2: not JSON/);
    assert.match(errors[1]!, /cannot read .*missing\.csv: no such file/);
  }));

test('the committed fraud reference file is what the generator writes', async () => {
  assert.equal(await readFile(REFERENCE_FILE, 'utf8'), fraudReferenceLines(), 'run: node --import tsx examples/data/fraud-reference.ts');
});

test('the committed fraud baseline is what `modelgate baseline` builds from it', () =>
  withDir(async (dir) => {
    const committedPath = fileURLToPath(new URL('../../examples/baselines/fraud/1/drift-baseline.json', import.meta.url));
    const committed = JSON.parse(await readFile(committedPath, 'utf8'));
    // The baseline records the path it was built from, relative to the repository root.
    const cwd = process.cwd();
    process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
    try {
      await quiet(() => run(['--model', 'fraud', '--version', '1', '--from', 'examples/data/fraud-reference.jsonl', '--output', dir, '--categorical', 'label']));
    } finally {
      process.chdir(cwd);
    }
    const rebuilt = JSON.parse(await readFile(baselinePath(dir, 'fraud', '1'), 'utf8'));
    delete committed.createdAt;
    delete rebuilt.createdAt;
    assert.deepEqual(rebuilt, committed, 'rebuild with: SOURCE_DATE_EPOCH=1795651200 node bin/modelgate.js baseline --model fraud --version 1 --from examples/data/fraud-reference.jsonl --output examples/baselines --categorical label');
  }));
