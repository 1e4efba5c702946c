// `modelgate audit verify FILE...`: checks the hash chain of an audit log (rollout/audit-chain.ts).
// Exits 0 when every line is intact and in order, 1 naming the first bad line (edited,
// removed, inserted or reordered lines), 2 on usage errors. Given one FILE, its rotated
// generations (FILE.3 … FILE.1) are checked first when they exist, as one chain.
import { existsSync, readFileSync } from 'node:fs';
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.ts';
import { AUDIT_GENERATIONS, verifyChain } from '../../rollout/index.ts';

export const FLAGS: FlagSpec[] = [
  { name: 'only', type: 'boolean', help: 'check only the files named (not the rotated generations FILE.1 … of a single FILE)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];
const USAGE = `usage: modelgate audit verify FILE... [--only]

Checks the hash chain of an audit log (e.g. .modelgate-state/rollouts-audit.jsonl): every
line's hash, and that each line follows the one before it. Exits 1 naming the first line
that was edited, removed, inserted or reordered. Files are given oldest first. Given one
FILE, its rotated generations FILE.3 … FILE.1 are read first; unless all of them exist
(older lines may have been dropped), the chain must start at its first line.`;

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText(USAGE, FLAGS));
    return 0;
  }
  const [sub, ...files] = positional;
  if (sub !== 'verify') throw new UsageError(`expects "verify FILE", e.g. modelgate audit verify .modelgate-state/rollouts-audit.jsonl${sub === undefined ? '' : ` (got "${sub}")`}`);
  if (files.length === 0) throw new UsageError('expects at least one FILE, e.g. modelgate audit verify .modelgate-state/rollouts-audit.jsonl');
  const older = files.length === 1 && !flags['only'] ? rotated(files[0]!) : [];
  const names = [...older, ...files];
  const inputs: Array<{ name: string; text: string }> = [];
  for (const name of names) {
    try {
      inputs.push({ name, text: readFileSync(name, 'utf8') });
    } catch (e) {
      console.error(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return 1;
    }
  }
  // Only once the oldest generation exists can lines have been rotated away for good.
  const fromGenesis = files.length === 1 && !flags['only'] && older.length < AUDIT_GENERATIONS;
  const r = verifyChain(inputs, { fromGenesis });
  if (!r.ok && r.problem) {
    console.error(`${r.problem.file}:${r.problem.line}: ${r.problem.message}`);
    console.error(`audit chain BROKEN at line ${r.problem.line} of ${r.problem.file} (${r.lines} lines read)`);
    return 1;
  }
  if (r.head === undefined) {
    console.error(`${names.join(', ')}: ${r.lines} lines, none of them chained (a log written before audit lines carried hashes, or an empty one): nothing to verify`);
    return 1;
  }
  if (r.unchained > 0) console.log(`note: the first ${r.unchained} lines predate the hash chain and are not checked`);
  if (r.firstSeq !== undefined && r.firstSeq > 1) console.log(`note: the chain starts at seq ${r.firstSeq}; older lines were rotated away (their hashes cannot be checked)`);
  console.log(`audit chain OK: ${r.lines} lines in ${names.join(', ')}; last seq ${r.head.seq}, hash ${r.head.hash}`);
  return 0;
}

function rotated(file: string): string[] {
  const out: string[] = [];
  for (let g = AUDIT_GENERATIONS; g >= 1; g--) if (existsSync(`${file}.${g}`)) out.push(`${file}.${g}`);
  return out;
}
