// Reads a TF Serving style model repository: <base_path>/<version>/model.onnx, where the
// version folder name is a whole number. Any other entry is ignored, as TF Serving's
// file_system_storage_path_source.cc ignores non-numeric children.
//
// Symbolic links are followed only while they stay inside the model's base path (after
// resolving every link, base path included): a version folder, model.onnx or warmup.jsonl
// that leads anywhere else is refused, so a link cannot make the server load or read a
// file the operator did not put in the repository.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

export const MODEL_FILE = 'model.onnx';
/** Read by warmup.ts from the version folder; checked here like the model file. */
const WARMUP_FILE = 'warmup.jsonl';

export interface VersionFile {
  version: number;
  path: string;
  size: number;
  mtimeMs: number;
}

/** A version folder that is not loaded because of where its links lead. */
export interface RefusedVersion {
  version: number;
  reason: string;
}

export interface RepositoryScan {
  files: VersionFile[];
  refused: RefusedVersion[];
}

/** Versions larger than this cannot be held exactly in a JS number; TF allows int64, we allow 2^53. */
const MAX_VERSION = Number.MAX_SAFE_INTEGER;

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

type Link = { kind: 'none' } | { kind: 'dangling' } | { kind: 'inside' } | { kind: 'outside'; target: string };

/** Whether `path` is a symbolic link, and if so whether it resolves inside `root`. */
async function linkOf(path: string, root: string): Promise<Link> {
  try {
    if (!(await lstat(path)).isSymbolicLink()) return { kind: 'none' };
  } catch {
    return { kind: 'none' };
  }
  let target: string;
  try {
    target = await realpath(path);
  } catch {
    return { kind: 'dangling' };
  }
  return inside(root, target) ? { kind: 'inside' } : { kind: 'outside', target };
}

/**
 * Why a version folder is refused (its folder or one of `files` is a link leading outside
 * `root`), '' when it is not, null when the folder is a dangling link (not a version yet,
 * as a missing folder is not).
 */
async function refusalOf(root: string, dir: string, files: readonly string[]): Promise<string | null> {
  for (const path of [dir, ...files]) {
    const link = await linkOf(path, root);
    if (link.kind === 'dangling' && path === dir) return null;
    if (link.kind === 'outside') return `${path} is a symbolic link to ${link.target}, outside the model's base path ${root}; links must stay inside it`;
  }
  return '';
}

export async function scanRepository(basePath: string): Promise<RepositoryScan> {
  let entries: import('node:fs').Dirent[];
  let root: string;
  try {
    root = await realpath(basePath);
    entries = await readdir(basePath, { withFileTypes: true });
  } catch {
    return { files: [], refused: [] };
  }
  const files: VersionFile[] = [];
  const refused: RefusedVersion[] = [];
  const seen = new Set<number>();
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    if (!e.isDirectory() && !e.isSymbolicLink()) continue;
    const version = Number(e.name);
    if (version > MAX_VERSION) continue;
    // "1" and "001" are the same version; TF Serving warns and keeps one. We keep the first.
    if (seen.has(version)) continue;
    seen.add(version);
    const dir = join(basePath, e.name);
    const path = join(dir, MODEL_FILE);
    const refusal = await refusalOf(root, dir, [path, join(dir, WARMUP_FILE)]);
    if (refusal === null) continue;
    if (refusal) {
      refused.push({ version, reason: refusal });
      continue;
    }
    try {
      const s = await stat(path);
      if (!s.isFile()) continue;
      files.push({ version, path, size: s.size, mtimeMs: s.mtimeMs });
    } catch {
      // A version folder without model.onnx (yet): not a version.
    }
  }
  return { files: files.sort((a, b) => a.version - b.version), refused: refused.sort((a, b) => a.version - b.version) };
}

/** The loadable versions of a model folder (scanRepository without the refusals). */
export async function scanModelDir(basePath: string): Promise<VersionFile[]> {
  return (await scanRepository(basePath)).files;
}
