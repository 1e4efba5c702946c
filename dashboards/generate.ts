// The files `modelgate dashboards` writes, as a pure map from repository path to content,
// so the CLI writes them and a test compares them with what is committed.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Dashboard } from './grafana-json.ts';
import { docs, FILE_NAME } from './docs.ts';
import { overview } from './overview.ts';
import { oncall } from './oncall.ts';
import { debug } from './debug.ts';
import { datasourceProvisioning, dashboardProvisioning } from './provisioning.ts';

export function buildDashboards(): Dashboard[] {
  return [overview(), oncall(), debug()];
}

/** Repository-relative path → file content. */
export function generatedFiles(): Map<string, string> {
  const dashboards = buildDashboards();
  const files = new Map<string, string>();
  for (const d of dashboards) files.set(`dashboards/generated/${FILE_NAME[d.uid] ?? `${d.uid}.json`}`, `${JSON.stringify(d, null, 2)}\n`);
  files.set('dashboards/provisioning/datasources/modelgate.yaml', datasourceProvisioning());
  files.set('dashboards/provisioning/dashboards/modelgate.yaml', dashboardProvisioning());
  files.set('docs/dashboards.md', docs(dashboards));
  return files;
}

export async function writeGenerated(root: string): Promise<string[]> {
  const written: string[] = [];
  for (const [path, content] of generatedFiles()) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
    written.push(path);
  }
  return written;
}

/** Generated files whose committed content differs (or that are missing). */
export async function staleGenerated(root: string): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, content] of generatedFiles()) {
    const current = await readFile(join(root, path), 'utf8').catch(() => undefined);
    if (current !== content) stale.push(path);
  }
  return stale;
}
