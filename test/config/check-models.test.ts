// `modelgate check` on the server's model config (models.yaml): the server's own
// validation with file:line and did-you-mean, and warnings for base_paths that would make
// the server answer 404 without saying why. Temporary directories; the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve('bin/modelgate.js');
const modelgate = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });

test('modelgate check validates the example models.yaml next to modelgate.yaml, one line each', () => {
  const r = modelgate(process.cwd(), 'check', 'examples/models.yaml', 'examples/modelgate.yaml');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^examples\/models\.yaml: ok \(model config, 3 models\)$/m);
  assert.match(r.stdout, /^examples\/modelgate\.yaml: ok \(modelgate\/v1/m);
  assert.equal(r.stderr, '');
});

test('modelgate check on a models.yaml: errors with file:line and did-you-mean, exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-check-models-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'models.yaml'),
    ['models:', '  - name: a', '    base_pth: a', '  - name: b', '    base_path: b', '    version_polcy: { all: {} }', '    batching: { max_batch_size: 0 }', 'sever: {}', ''].join('\n'),
  );
  const r = modelgate(dir, 'check', 'models.yaml');
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /^models\.yaml:3: error: models\[0\]\.base_pth: unknown field "base_pth"; did you mean "base_path"\?$/m);
  assert.match(r.stderr, /^models\.yaml:6: error: models\[1\]\.version_polcy: unknown field "version_polcy"; did you mean "version_policy"\?$/m);
  assert.match(r.stderr, /^models\.yaml:7: error: models\[1\]\.batching\.max_batch_size: must be >= 1/m);
  assert.match(r.stderr, /^models\.yaml:8: error: sever: unknown field "sever"; did you mean "server"\?$/m);
  assert.match(r.stderr, /^models\.yaml:2: error: models\[0\]\.base_path: is required/m);
  assert.match(r.stderr, /^models\.yaml: 5 errors$/m);
});

test('modelgate check warns when a base_path does not exist or holds no version, resolving it against the file, and still exits 0', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-check-models-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'conf', 'models', 'ok', '1'), { recursive: true });
  writeFileSync(join(dir, 'conf', 'models', 'ok', '1', 'model.onnx'), 'x');
  mkdirSync(join(dir, 'conf', 'models', 'empty', 'latest'), { recursive: true });
  writeFileSync(join(dir, 'conf', 'models.yaml'), ['models:', '  - name: ok', '    base_path: models/ok', '  - name: gone', '    base_path: models/gone', '  - name: empty', '    base_path: models/empty', ''].join('\n'));
  // Run from another directory: relative base_paths are relative to the file, not the cwd.
  const r = modelgate(dir, 'check', 'conf/models.yaml');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /conf\/models\.yaml: ok \(model config, 3 models, 2 warnings\)/);
  assert.match(r.stderr, new RegExp(`^conf/models\\.yaml:5: warning: models\\[1\\]\\.base_path: models/gone \\(${join(dir, 'conf', 'models', 'gone').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) does not exist: the server starts without model "gone" and answers 404`, 'm'));
  assert.match(r.stderr, /^conf\/models\.yaml:7: warning: models\[2\]\.base_path: .* has no version folder with a model\.onnx/m);
  assert.doesNotMatch(r.stderr, /models\[0\]/);
});
