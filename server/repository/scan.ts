// Reads a TF Serving style model repository: <base_path>/<version>/model.onnx, where the
// version folder name is a whole number. Any other entry is ignored, as TF Serving's
// file_system_storage_path_source.cc ignores non-numeric children.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const MODEL_FILE = 'model.onnx';

export interface VersionFile {
  version: number;
  path: string;
  size: number;
  mtimeMs: number;
}

/** Versions larger than this cannot be held exactly in a JS number; TF allows int64, we allow 2^53. */
const MAX_VERSION = Number.MAX_SAFE_INTEGER;

export async function scanModelDir(basePath: string): Promise<VersionFile[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(basePath, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: VersionFile[] = [];
  const seen = new Map<number, string>();
  for (const e of entries) {
    if (!e.isDirectory() || !/^\d+$/.test(e.name)) continue;
    const version = Number(e.name);
    if (version > MAX_VERSION) continue;
    // "1" and "001" are the same version; TF Serving warns and keeps one. We keep the first.
    if (seen.has(version)) continue;
    seen.set(version, e.name);
    const path = join(basePath, e.name, MODEL_FILE);
    try {
      const s = await stat(path);
      if (!s.isFile()) continue;
      out.push({ version, path, size: s.size, mtimeMs: s.mtimeMs });
    } catch {
      // A version folder without model.onnx (yet): not a version.
    }
  }
  return out.sort((a, b) => a.version - b.version);
}
