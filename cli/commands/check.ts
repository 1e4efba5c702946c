// `modelgate check FILE`: validates a config the same way every command loads it, prints
// every error and warning as file:line: severity: path: message, exits 0 (valid, maybe
// with warnings) or 2 (errors).
import { formatIssues } from '../../common/index.ts';
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.ts';
import { checkConfig } from '../../config/loader.ts';

export const FLAGS: FlagSpec[] = [{ name: 'help', type: 'boolean', help: 'show this help' }];
const USAGE = 'usage: modelgate check FILE\n\nValidates modelgate.yaml (or a Sloth prometheus/v1 / OpenSLO v1 file) and prints every problem.';

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText(USAGE, FLAGS));
    return 0;
  }
  if (positional.length !== 1) throw new UsageError('expects exactly one FILE, e.g. modelgate check examples/modelgate.yaml');
  const file = positional[0]!;
  const { config, issues } = checkConfig(file);
  if (issues.length > 0) console.error(formatIssues(file, issues));
  if (!config) {
    const n = issues.filter((i) => i.severity === 'error').length;
    console.error(`${file}: ${n} error${n === 1 ? '' : 's'}`);
    return 2;
  }
  const w = config.warnings.length;
  console.log(`${file}: ok (${config.format}, ${config.slos.length} SLO${config.slos.length === 1 ? '' : 's'}, ${config.notify.length} notification target${config.notify.length === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''})`);
  return 0;
}
