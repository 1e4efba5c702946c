// A small flag parser shared by every subcommand. Accepts `--name value`, `--name=value`,
// and for every flag both snake_case (tensorflow_model_server's spelling) and kebab-case.

export interface FlagSpec {
  /** Canonical name in snake_case, e.g. `rest_api_port`. */
  name: string;
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
}

export interface ParsedArgs {
  flags: Record<string, string | number | boolean | undefined>;
  positional: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const canon = (s: string) => s.replace(/-/g, '_');

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: ParsedArgs['flags'] = {};
  for (const s of specs) flags[s.name] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = canon(arg.slice(2, eq === -1 ? undefined : eq));
    const spec = byName.get(rawName);
    if (!spec) {
      throw new UsageError(`unknown flag --${arg.slice(2, eq === -1 ? undefined : eq)}; see --help`);
    }
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (spec.type === 'boolean') {
      flags[spec.name] = value === undefined ? true : !['false', '0', 'no'].includes(value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${spec.name} needs a value`);
    }
    if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${spec.name} must be a number, got "${value}"`);
      flags[spec.name] = n;
    } else {
      flags[spec.name] = value;
    }
  }
  return { flags, positional };
}

export function helpText(usage: string, specs: readonly FlagSpec[]): string {
  const lines = [usage, '', 'Flags (snake_case and kebab-case both work):'];
  for (const s of specs) {
    const def = s.default === undefined ? '' : ` (default ${JSON.stringify(s.default)})`;
    lines.push(`  --${s.name.padEnd(34)} ${s.help}${def}`);
  }
  return lines.join('\n');
}
