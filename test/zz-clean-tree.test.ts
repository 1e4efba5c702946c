// Runs last in `npm test` (scripts/test.ts appends it): the suite must leave the working tree
// as it found it. Every test writes into a temporary directory; a test that writes into the
// checkout (a `.modelgate-state/`, a regenerated file, a stray log) fails here, by path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffTrees, snapshotTree, type TreeSnapshot } from './helpers/tree-snapshot.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SNAPSHOT = process.env['MODELGATE_TREE_SNAPSHOT'];

test(
  'the test suite leaves no untracked or modified file in the working tree',
  { skip: SNAPSHOT ? false : 'run through npm test, which snapshots the tree before the suite' },
  () => {
    const before = JSON.parse(readFileSync(SNAPSHOT!, 'utf8')) as TreeSnapshot;
    const changes = diffTrees(before, snapshotTree(ROOT));
    assert.deepEqual(
      changes,
      [],
      `the working tree changed while the suite ran (tests must write into temporary directories only; if these are edits or commits made by hand while the suite ran, run it again):\n  ${changes.join('\n  ')}`,
    );
  },
);
