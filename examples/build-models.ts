// Writes the example model repository (examples/models). With --check, writes nothing and
// exits 1 if a committed file differs from what the code builds (CI runs this).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exampleRepository } from './models.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), 'models');
const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, bytes] of exampleRepository()) {
  const path = join(root, rel);
  if (check) {
    const current = await readFile(path).catch(() => undefined);
    if (!current || !Buffer.from(bytes).equals(current)) {
      console.error(`stale: examples/models/${rel} (run: npm run models)`);
      stale++;
    }
    continue;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  console.log(`wrote examples/models/${rel} (${bytes.length} bytes)`);
}
if (stale > 0) process.exitCode = 1;
