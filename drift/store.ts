// Where baselines live on disk: one file per model version it describes,
//   <baselineDir>/<model>/<version>/drift-baseline.json
// (the same <model>/<version> layout as a TF Serving model base path, so a baseline sits
// beside the model version it belongs to and goes away with it). Reloaded at start.
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaselineProfile } from './profile.ts';
import { parseProfile } from './profile.ts';

export const BASELINE_FILE = 'drift-baseline.json';

export function baselinePath(dir: string, model: string, version: string): string {
  return join(dir, model, version, BASELINE_FILE);
}

/** Writes through a temporary file and a rename, so a crash never leaves half a baseline. */
export async function saveBaseline(dir: string, profile: BaselineProfile): Promise<string> {
  const path = baselinePath(dir, profile.model, profile.version);
  await mkdir(join(dir, profile.model, profile.version), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, formatJson(profile) + '\n');
  await rename(tmp, path);
  return path;
}

export interface LoadedBaselines {
  profiles: BaselineProfile[];
  /** Files that exist but could not be read; reported, never fatal. */
  problems: { path: string; message: string }[];
}

/** Every baseline under `dir` (a missing dir is simply empty). */
export async function loadBaselines(dir: string): Promise<LoadedBaselines> {
  const out: LoadedBaselines = { profiles: [], problems: [] };
  for (const model of await subdirs(dir)) {
    for (const version of await subdirs(join(dir, model))) {
      const path = baselinePath(dir, model, version);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue; // a version folder without a baseline
      }
      try {
        const profile = parseProfile(JSON.parse(text), path);
        if (profile.model !== model || profile.version !== version) {
          out.problems.push({ path, message: `describes ${profile.model}/${profile.version} but sits under ${model}/${version}` });
          continue;
        }
        out.profiles.push(profile);
      } catch (e) {
        out.problems.push({ path, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  return out;
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** JSON with objects indented and arrays of numbers/strings on one line: diffable and compact. */
export function formatJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}
