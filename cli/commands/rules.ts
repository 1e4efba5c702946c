// `modelgate rules FILE [-o OUT] [--check]`: writes the Prometheus recording and alerting
// rules for the SLOs in FILE (stdout without -o). --check compares with OUT instead of
// writing it and exits 1 when OUT is stale (for CI, like fastify's regenerate-and-diff).
import { readFileSync, writeFileSync } from 'node:fs';
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.ts';
import { loadConfig } from '../../config/index.ts';
import { formatIssues } from '../../common/index.ts';
import { rulesFile } from '../../slo/rules-yaml.ts';

export const FLAGS: FlagSpec[] = [
  { name: 'output', type: 'string', short: 'o', help: 'write the rules to this file instead of stdout' },
  { name: 'check', type: 'boolean', help: 'do not write: exit 1 when --output differs from what would be generated' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];
const USAGE = 'usage: modelgate rules FILE [-o alerts/modelgate-rules.yaml] [--check]\n\nGenerates Prometheus recording rules and multiwindow burn-rate alerts for the SLOs in FILE.';

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText(USAGE, FLAGS));
    return 0;
  }
  if (positional.length !== 1) throw new UsageError('expects exactly one FILE, e.g. modelgate rules examples/modelgate.yaml -o alerts/modelgate-rules.yaml');
  const file = positional[0]!;
  const config = loadConfig(file);
  if (config.warnings.length > 0) console.error(formatIssues(file, config.warnings));
  const text = rulesFile(config.slos, file);
  const out = flags['output'];
  if (typeof out !== 'string') {
    process.stdout.write(text);
    return 0;
  }
  if (flags['check']) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // A missing file is stale.
    }
    if (current === text) return 0;
    console.error(`${out} is out of date; regenerate it with: modelgate rules ${file} -o ${out}`);
    return 1;
  }
  writeFileSync(out, text);
  console.error(`wrote ${config.slos.length} SLO rule group${config.slos.length === 1 ? '' : 's'} to ${out}`);
  return 0;
}
