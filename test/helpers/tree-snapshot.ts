// What the working tree looks like to git, for checking that the test suite leaves it as it
// found it. The snapshot is taken before the suite (scripts/test.ts) and compared after it
// (test/zz-clean-tree.test.ts), so a checkout that already has edits is fine: only changes
// made while the suite ran count.
//
// Per path: git's two-letter status (`??` untracked, `!!` ignored, ` M` modified, ...). For
// untracked and ignored files the content is hashed too (ignored directories such as a
// `.modelgate-state/` are walked), because a test that rewrites them changes no status.
// node_modules is left out (installs, not tests, change it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type TreeSnapshot = Record<string, string>;

const SKIP = /^node_modules(\/|$)/;

export function snapshotTree(root: string): TreeSnapshot {
  const out = execFileSync('git', ['status', '--porcelain=v1', '-z', '--ignored=matching', '--untracked-files=all'], { cwd: root, maxBuffer: 64 << 20 });
  const entries = out.toString('utf8').split('\0');
  const snap: TreeSnapshot = {};
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.length < 4) continue;
    const code = e.slice(0, 2);
    const path = e.slice(3);
    // A rename or copy is followed by its source path as a separate entry.
    if (code[0] === 'R' || code[0] === 'C') i++;
    if (SKIP.test(path)) continue;
    if (code === '??' || code === '!!') addContent(root, path.replace(/\/$/, ''), code, snap);
    else snap[path] = code;
  }
  return snap;
}

function addContent(root: string, path: string, code: string, snap: TreeSnapshot): void {
  let st;
  try {
    st = statSync(join(root, path));
  } catch {
    snap[path] = `${code} (gone)`;
    return;
  }
  if (st.isDirectory()) {
    for (const name of readdirSync(join(root, path)).sort()) addContent(root, `${path}/${name}`, code, snap);
    return;
  }
  let hash = 'unreadable';
  try {
    hash = createHash('sha1').update(readFileSync(join(root, path))).digest('hex').slice(0, 12);
  } catch {
    // reported as unreadable; a change to readable still shows
  }
  snap[path] = `${code} ${hash}`;
}

/** Human-readable lines for every path whose state differs between two snapshots. */
export function diffTrees(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const lines: string[] = [];
  for (const path of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[path];
    const b = after[path];
    if (a === b) continue;
    if (a === undefined) lines.push(`new      ${path} (${b})`);
    else if (b === undefined) lines.push(`restored ${path} (was ${a})`);
    else lines.push(`changed  ${path} (${a} -> ${b})`);
  }
  return lines;
}
