// A small flag parser shared by every subcommand. Accepts `--name value`, `--name=value`,
// and for every flag both snake_case (tensorflow_model_server's spelling) and kebab-case;
// `-h` is `--help`. An unknown flag is an error that names the closest known one.
import { closest } from '../common/suggest.ts';
import { parseDuration } from '../common/duration.ts';
import type { FlagSpec } from '../common/flags.ts';

export type { FlagSpec };

export interface ParsedArgs {
  flags: Record<string, string | number | boolean | undefined>;
  positional: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const canon = (s: string) => s.replace(/-/g, '_');

/** The known flag a mistyped one most likely meant (common/suggest.ts `closest`: `rest_port` → `rest_api_port`). */
export function suggestFlag(typed: string, specs: readonly FlagSpec[]): string | undefined {
  return closest(canon(typed).toLowerCase(), specs.map((s) => s.name));
}

/** What to do instead of a refused duration, in config's words (readDuration in common/validate.ts). */
function instead(spec: FlagSpec): string {
  if (typeof spec.default === 'string') return `; leave it out for the default ${spec.default}`;
  return '';
}

/**
 * A duration flag's value in milliseconds. `typed` is the spelling on the command line
 * (an older one with `unit` takes a bare number in that unit).
 */
function durationValue(spec: FlagSpec, typed: string, text: string, unit?: string): number {
  const bare = /^\d+(\.\d+)?$/.test(text.trim());
  const like = typeof spec.default === 'string' && spec.default !== '0s' ? spec.default : '30s';
  const ms = parseDuration(bare && unit ? text.trim() + unit : text);
  if (ms === undefined) {
    if (bare && Number(text) === 0 && spec.allowZero) return 0; // 0 needs no unit
    if (bare && Number(text) === 0) throw new UsageError(`--${typed} must be longer than 0, with a unit such as "${like}"${instead(spec)}`);
    if (bare) throw new UsageError(`--${typed} needs a unit: write "${text.trim()}s" or "${text.trim()}ms", not ${text.trim()}`);
    throw new UsageError(`--${typed} must be a duration such as 5s, 250ms or 1m, got "${text}"`);
  }
  if (ms === 0 && !spec.allowZero) {
    const example = unit ? `--${spec.name} ${like}` : `"${like}"`;
    throw new UsageError(`--${typed} must be longer than 0 (${JSON.stringify(text)} would expire at once); write a duration such as ${example}${instead(spec)}`);
  }
  return ms;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map<string, { spec: FlagSpec; unit?: string }>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, { spec: s });
    for (const a of s.aliases ?? []) byName.set(typeof a === 'string' ? a : a.name, typeof a === 'string' ? { spec: s } : { spec: s, unit: a.unit });
    if (s.short) byShort.set(s.short, s);
    if (s.name === 'help') byShort.set('h', s);
  }
  const flags: ParsedArgs['flags'] = {};
  for (const s of specs) flags[s.name] = s.type === 'duration' && typeof s.default === 'string' ? durationValue(s, s.name, s.default) : s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const short = /^-([a-zA-Z])$/.exec(arg)?.[1];
    if (!arg.startsWith('--') && !(short && byShort.has(short))) {
      positional.push(arg);
      continue;
    }
    const eq = short ? -1 : arg.indexOf('=');
    const typed = short ? byShort.get(short)!.name : arg.slice(2, eq === -1 ? undefined : eq);
    const found = byName.get(canon(typed));
    if (!found) {
      const near = suggestFlag(typed, specs);
      throw new UsageError(`unknown flag --${typed}${near ? `; did you mean --${near}?` : ''} (see --help)`);
    }
    const { spec, unit } = found;
    const name = canon(typed);
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
    } else if (spec.type === 'duration') {
      flags[spec.name] = durationValue(spec, name, value, unit);
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
    const short = s.name === 'help' ? 'h' : s.short;
    // Older spellings with a unit are accepted but not shown: one spelling per idea.
    const aliases = [...(short ? [`-${short}`] : []), ...(s.aliases ?? []).flatMap((a) => (typeof a === 'string' ? [`--${a}`] : []))];
    const also = aliases.length ? ` (also ${aliases.join(', ')})` : '';
    lines.push(`  --${s.name.padEnd(34)} ${s.help}${def}${also}`);
  }
  return lines.join('\n');
}
