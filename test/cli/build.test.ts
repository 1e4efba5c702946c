// bin/modelgate.js runs the compiled build only when it was built from the sources now in
// the checkout; otherwise the sources themselves, so a stale dist/ can never run (or make a
// test pass or fail) in place of the code that is checked out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent, fingerprint, sourceFiles, STAMP_FILE } from '../../scripts/build-stamp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A miniature checkout: the real bin and stamp code, a cli/main.ts and a dist/cli/main.js that say which one ran. */
async function checkout() {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-build-'));
  const put = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(ROOT, 'bin', 'modelgate.js'), join(dir, 'bin', 'modelgate.js'));
  copyFileSync(join(ROOT, 'scripts', 'build-stamp.js'), join(dir, 'scripts', 'build-stamp.js'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  put('package.json', '{"type":"module"}');
  put('tsconfig.json', '{}');
  put('tsconfig.build.json', '{"include":["cli","server/grpc/protos"]}');
  put('cli/main.ts', "export async function main(argv: string[]): Promise<number> { console.log('sources', argv.join(' ')); return 0; }\n");
  put('cli/util.ts', 'export const x: number = 1;\n');
  put('server/grpc/protos/a.proto', 'syntax = "proto3";\n');
  put('dist/cli/main.js', "export async function main(argv) { console.log('dist', argv.join(' ')); return 0; }\n");
  const stamp = () => writeFileSync(join(dir, 'dist', STAMP_FILE), JSON.stringify({ sources: fingerprint(dir, sourceFiles(dir)) }));
  const run = () => spawnSync(process.execPath, [join(dir, 'bin', 'modelgate.js'), 'x'], { encoding: 'utf8', timeout: 30_000 }).stdout.trim();
  return { dir, put, stamp, run };
}

test('a build stamped with the current sources runs; an edited, added, removed or re-dated source file runs the sources instead', async () => {
  const c = await checkout();
  try {
    assert.equal(c.run(), 'sources x', 'no stamp yet: the sources run');
    c.stamp();
    assert.equal(c.run(), 'dist x', 'dist/ is a build of these sources');

    c.put('cli/util.ts', 'export const x: number = 2;\n'); // same size, new contents
    assert.equal(c.run(), 'sources x');
    c.stamp();
    assert.equal(c.run(), 'dist x');

    utimesSync(join(c.dir, 'cli/util.ts'), new Date(2000, 1, 1), new Date(2000, 1, 1)); // older, as a checkout or tar may leave it
    assert.equal(c.run(), 'sources x');
    c.stamp();

    c.put('cli/new.ts', 'export {};\n');
    assert.equal(c.run(), 'sources x', 'a file added');
    rmSync(join(c.dir, 'cli/new.ts'));
    assert.equal(c.run(), 'dist x');

    rmSync(join(c.dir, 'cli/util.ts'));
    assert.equal(c.run(), 'sources x', 'a file removed');
    c.stamp();

    c.put('server/grpc/protos/a.proto', 'syntax = "proto2";\n');
    assert.equal(c.run(), 'sources x', 'an asset copied into the build changed');
    c.stamp();
    c.put('tsconfig.build.json', '{"include":["cli","server/grpc/protos"] }');
    assert.equal(c.run(), 'sources x', 'the build configuration changed');
    c.stamp();
    c.put('README.md', 'not a source\n');
    assert.equal(c.run(), 'dist x', 'files the build does not read do not matter');
  } finally {
    await rm(c.dir, { recursive: true, force: true });
  }
});

test('with no sources next to it (an installed package or the image), bin runs dist/ without looking at stamps', async () => {
  const c = await checkout();
  try {
    rmSync(join(c.dir, 'cli'), { recursive: true });
    rmSync(join(c.dir, 'scripts'), { recursive: true });
    assert.equal(c.run(), 'dist x');
  } finally {
    await rm(c.dir, { recursive: true, force: true });
  }
});

test('the checkout\'s own build stamp lists every TypeScript file the build compiles', () => {
  const files = sourceFiles(ROOT);
  for (const f of ['cli/main.ts', 'server/runtime/onnx-worker.ts', 'server/runtime/worker-entry.js', 'tsconfig.build.json']) assert.ok(files.includes(f), f);
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('bench/')), 'tests and benchmarks are not part of the build');
  assert.equal(typeof buildIsCurrent(ROOT, join(ROOT, 'dist')), 'boolean');
});
