// `modelgate dashboards`: regenerates the Grafana JSON, the provisioning files and
// docs/dashboards.md; `--check` exits 1 when the committed files are out of date.
import { helpText, parseArgs } from '../args.ts';
import type { FlagSpec } from '../args.ts';
import { staleGenerated, writeGenerated } from '../../dashboards/generate.ts';
import { packageRoot } from '../version.ts';

const REPO_ROOT = packageRoot();

export const FLAGS: FlagSpec[] = [
  { name: 'check', type: 'boolean', help: 'do not write; exit 1 if a generated file is out of date' },
  { name: 'root', type: 'string', help: 'repository root to write into', default: REPO_ROOT },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText('usage: modelgate dashboards [--check] [--root DIR]', FLAGS));
    return 0;
  }
  const root = String(flags['root']);
  if (flags['check']) {
    const stale = await staleGenerated(root);
    for (const p of stale) console.error(`out of date: ${p} (run \`npm run dashboards\`)`);
    return stale.length ? 1 : 0;
  }
  for (const p of await writeGenerated(root)) console.log(`wrote ${p}`);
  return 0;
}
