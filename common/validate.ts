// One way to validate configuration everywhere: walk the raw value, collect every problem
// with its path (`slos[2].objective`) and a message that says how to fix it, then fail once
// with all of them. (Habit from fastify lib/initial-config-validation.js and Pyrra's
// validation warnings.) Sections of modelgate.yaml are validated by functions of the form
// `(raw, path, issues) => Section`, each kept next to the code that owns the section.
import { formatDuration, parseDuration } from './duration.ts';
import { closest } from './suggest.ts';

export interface Issue {
  severity: 'error' | 'warning';
  /** Path in the document, e.g. `slos[2].objective`. */
  path: string;
  message: string;
  /** 1-based line in the source file, when known. */
  line?: number;
}

export class Issues {
  readonly list: Issue[] = [];
  error(path: string, message: string): void {
    this.list.push({ severity: 'error', path, message });
  }
  warn(path: string, message: string): void {
    this.list.push({ severity: 'warning', path, message });
  }
  get errors(): Issue[] {
    return this.list.filter((i) => i.severity === 'error');
  }
  get warnings(): Issue[] {
    return this.list.filter((i) => i.severity === 'warning');
  }
  get ok(): boolean {
    return this.errors.length === 0;
  }
}

export class ConfigError extends Error {
  readonly issues: Issue[];
  constructor(source: string, issues: Issue[]) {
    super(formatIssues(source, issues));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssues(source: string, issues: readonly Issue[]): string {
  return issues
    .map((i) => `${source}${i.line ? `:${i.line}` : ''}: ${i.severity}: ${i.path || '(top)'}: ${i.message}`)
    .join('\n');
}

export const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports keys the section does not know, suggesting the closest known one. */
export function checkKeys(raw: Record<string, unknown>, known: readonly string[], path: string, issues: Issues): void {
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    issues.error(
      join(path, key),
      near ? `unknown field "${key}"; did you mean "${near}"?` : `unknown field "${key}"; known fields: ${known.join(', ')}`,
    );
  }
}

// The readers below return the default's type when a default is given (`{ default: D }`
// makes the result `string`/`number`, never undefined), so callers write no `?? D` and no `!`.
// Without a default the result is undefined when the field is missing or wrong.

export interface StringOptions {
  required?: boolean;
  default?: string;
}

export function readString(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: StringOptions & { default: string }): string;
export function readString(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts?: StringOptions): string | undefined;
export function readString(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: StringOptions = {}): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (opts.required) issues.error(join(path, key), `is required (a string)`);
    return opts.default;
  }
  if (typeof v !== 'string' || v === '') {
    issues.error(join(path, key), `must be a non-empty string, got ${JSON.stringify(v)}`);
    return opts.default;
  }
  return v;
}

export interface NumberOptions {
  required?: boolean;
  default?: number;
  min?: number;
  max?: number;
  integer?: boolean;
}

export function readNumber(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: NumberOptions & { default: number }): number;
export function readNumber(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts?: NumberOptions): number | undefined;
export function readNumber(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: NumberOptions = {}): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (opts.required) issues.error(join(path, key), `is required (a number)`);
    return opts.default;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    issues.error(join(path, key), `must be a number, got ${JSON.stringify(v)}`);
    return opts.default;
  }
  if (opts.integer && !Number.isInteger(v)) issues.error(join(path, key), `must be a whole number, got ${v}`);
  if (opts.min !== undefined && v < opts.min) issues.error(join(path, key), `must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) issues.error(join(path, key), `must be <= ${opts.max}, got ${v}`);
  return v;
}

export function readBoolean(raw: Record<string, unknown>, key: string, path: string, issues: Issues, def: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') {
    issues.error(join(path, key), `must be true or false, got ${JSON.stringify(v)}`);
    return def;
  }
  return v;
}

export interface DurationOptions {
  required?: boolean;
  /** In milliseconds. */
  default?: number;
  allowZero?: boolean;
}

/**
 * Reads a duration ("5m", "250ms") in milliseconds. Bare numbers are rejected: units are
 * required. Zero is refused unless `allowZero` says it means something (an offset of 0s):
 * a timeout, interval or window of 0 would expire everything at once or spin.
 */
export function readDuration(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: DurationOptions & { default: number }): number;
export function readDuration(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts?: DurationOptions): number | undefined;
export function readDuration(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: DurationOptions = {}): number | undefined {
  const v = raw[key];
  const p = join(path, key);
  const instead = opts.default === undefined ? '' : opts.default > 0 ? `; leave it out for the default ${formatDuration(opts.default)}` : '; leave it out to turn it off';
  if (v === undefined || v === null) {
    if (opts.required) issues.error(p, `is required (a duration such as "5m")`);
    return opts.default;
  }
  if (typeof v === 'number') {
    issues.error(p, v === 0 && !opts.allowZero ? `must be longer than 0, with a unit such as "30s"${instead}` : `needs a unit: write "${v}s" or "${v}ms", not ${v}`);
    return opts.default;
  }
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) {
    issues.error(p, `must be a duration such as "250ms", "5m", "1h", "30d"; got ${JSON.stringify(v)}`);
    return opts.default;
  }
  if (ms === 0 && !opts.allowZero) {
    issues.error(p, `must be longer than 0 (${JSON.stringify(v)} would expire at once); write a duration such as "30s"${instead}`);
    return opts.default;
  }
  return ms;
}

export interface BytesOptions {
  required?: boolean;
  /** In bytes. */
  default?: number;
}

const BYTE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;

/**
 * Reads a size in bytes: a whole number (1048576) or a string with a binary unit ("64MiB",
 * "512KiB", "1GiB", "100B"). Zero is refused, as a number or a string: a limit of 0 bytes
 * would refuse everything.
 */
export function readBytes(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: BytesOptions & { default: number }): number;
export function readBytes(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts?: BytesOptions): number | undefined;
export function readBytes(raw: Record<string, unknown>, key: string, path: string, issues: Issues, opts: BytesOptions = {}): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (opts.required) issues.error(join(path, key), `is required (a byte count like 1048576 or "64MiB")`);
    return opts.default;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(v.trim()) : null;
  const bytes = m ? Number(m[1]) * BYTE_UNITS[(m[2] ?? 'B') as keyof typeof BYTE_UNITS] : 0;
  if (!(bytes > 0 && Number.isSafeInteger(bytes))) {
    issues.error(join(path, key), `must be a byte count above 0 like 1048576 or "64MiB", got ${JSON.stringify(v)}`);
    return opts.default;
  }
  return bytes;
}
