// Generates docs/reference.md from the code: `npm run reference` writes it, `--check` exits 1
// when the committed file differs (test/docs/reference.test.ts does the same check).
// Pieces: scripts/reference/collect.ts (flags, metrics, gRPC, errors read from the code),
// fields.ts (config field descriptions, checked against the validators by probe.ts),
// endpoints.ts (HTTP routes, checked against servers started in the test), render.ts.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, collectCommands, collectErrors, collectGrpc, collectMetrics, collectRules } from './reference/collect.ts';
import { ENDPOINTS, ENVIRONMENT } from './reference/endpoints.ts';
import { MODELGATE_YAML, MODELS_YAML } from './reference/fields.ts';
import { renderReference } from './reference/render.ts';

export const REFERENCE_FILE = fileURLToPath(new URL('../docs/reference.md', import.meta.url));

export async function buildReference(): Promise<string> {
  return renderReference({
    commands: await collectCommands(),
    modelgateYaml: MODELGATE_YAML,
    modelsYaml: MODELS_YAML,
    endpoints: ENDPOINTS,
    environment: ENVIRONMENT,
    grpc: collectGrpc(),
    metrics: collectMetrics(),
    rules: collectRules(),
    errors: collectErrors(),
    repoRoot: REPO_ROOT,
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const text = await buildReference();
  if (argv.includes('--check')) {
    const current = await readFile(REFERENCE_FILE, 'utf8').catch(() => '');
    if (current === text) return 0;
    console.error('docs/reference.md is out of date: run `npm run reference`');
    return 1;
  }
  await writeFile(REFERENCE_FILE, text);
  console.log(`wrote ${REFERENCE_FILE}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
