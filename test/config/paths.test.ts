// Relative paths in modelgate.yaml (drift.baselineDir, leader.lease.file) resolve against
// the folder of the file that names them, as the model config's base_path does, whatever
// the working directory. Temporary directories; the real loader and CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, parseConfig } from '../../config/index.ts';

const ROOT = resolve('.');

test('drift.baselineDir and leader.lease.file given relative are resolved against the config file, absolute ones are kept', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-paths-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'conf'));
  const file = join(dir, 'conf', 'modelgate.yaml');
  writeFileSync(file, 'apiVersion: modelgate/v1\ndrift:\n  baselineDir: baselines\n  models: {}\nleader:\n  mode: lease\n  lease: { file: ../shared/leader.lease }\n');
  const c = loadConfig(file);
  assert.equal(c.drift?.baselineDir, join(dir, 'conf', 'baselines'));
  assert.equal(c.leader.mode === 'lease' ? c.leader.file : undefined, join(dir, 'shared', 'leader.lease'));
  writeFileSync(file, 'apiVersion: modelgate/v1\ndrift:\n  baselineDir: /srv/baselines\n  models: {}\n');
  assert.equal(loadConfig(file).drift?.baselineDir, '/srv/baselines');
  // Text without a file keeps what it says (nothing to be relative to).
  assert.equal(parseConfig('apiVersion: modelgate/v1\ndrift: { baselineDir: b, models: {} }\n').config?.drift?.baselineDir, 'b');
});

test('the example config finds its baselines from any working directory', () => {
  const c = loadConfig(join(ROOT, 'examples', 'modelgate.yaml'));
  assert.equal(c.drift?.baselineDir, join(ROOT, 'examples', 'baselines'));
  assert.ok(existsSync(join(c.drift!.baselineDir, 'fraud', '1', 'drift-baseline.json')));
});

test('modelgate baseline --config writes into the config file\'s baselineDir, not the working directory\'s', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-paths-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'conf'));
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'conf', 'modelgate.yaml'), 'drift:\n  baselineDir: bl\n  models:\n    m:\n      inputs: [a]\n');
  writeFileSync(join(dir, 'ref.jsonl'), Array.from({ length: 50 }, (_, i) => JSON.stringify({ a: i })).join('\n') + '\n');
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'modelgate.js'), 'baseline', '--model', 'm', '--version', '1', '--from', '../ref.jsonl', '--config', '../conf/modelgate.yaml'], { cwd: join(dir, 'elsewhere'), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'conf', 'bl', 'm', '1', 'drift-baseline.json')), r.stdout);
  assert.ok(!existsSync(join(dir, 'elsewhere', 'bl')));
});
