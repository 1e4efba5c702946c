// The version `modelgate --version` prints: the package.json next to the code, found by
// walking up (one level from the sources, two from dist/).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding modelgate's package.json, above this module. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'modelgate') return dir;
    } catch {
      // no package.json here
    }
    if (dirname(dir) === dir) throw new Error(`no modelgate package.json above ${from}`);
  }
}

export function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
