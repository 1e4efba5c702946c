// Loads modelgate.yaml: parse (keeping positions) → recognise the document kind → map
// imports (Sloth prometheus/v1, OpenSLO v1) to modelgate/v1 → validate every section →
// cross-section checks → freeze. Every problem is collected with file:line, a path and a
// fix; `loadConfig` throws one ConfigError listing all of them (fastify
// lib/initial-config-validation.js does the same), warnings travel with the config.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ConfigError, Issues, isRecord, type Issue } from '../common/index.ts';
import { CROSS_CHECKS, SECTIONS, type SectionValues } from './sections.ts';
import { lineOf, pathSegments } from './positions.ts';
import { suggestion } from '../common/suggest.ts';
import { documentValues } from './aliases.ts';
import { importSloth, isSlothDocument } from './import/sloth.ts';
import { importOpenSlo, isOpenSloDocument } from './import/openslo.ts';
import { unsupportedFormat } from './import/unsupported.ts';

export const API_VERSION = 'modelgate/v1';

export type SourceFormat = 'modelgate/v1' | 'sloth prometheus/v1' | 'openslo/v1';

export type Config = SectionValues & {
  readonly apiVersion: typeof API_VERSION;
  /** Where it was loaded from (a file path, or a label for text). */
  readonly source: string;
  readonly format: SourceFormat;
  readonly warnings: readonly Issue[];
};

export interface CheckResult {
  /** Undefined when there are errors. */
  config?: Config;
  issues: Issue[];
}

/** Reads, validates and freezes a config file. Throws ConfigError listing every error. */
export function loadConfig(path: string): Config {
  const result = checkConfig(path);
  if (!result.config) throw new ConfigError(path, result.issues);
  return result.config;
}

/** Like loadConfig, but returns the issues instead of throwing (for `modelgate check`). */
export function checkConfig(path: string): CheckResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { issues: [{ severity: 'error', path: '', message: `cannot read the file: ${(err as Error).message}` }] };
  }
  return parseConfig(text, path, { baseDir: dirname(resolve(path)) });
}

/**
 * Parses and validates config text; `source` names it in messages. With `baseDir` (the
 * folder of the file it came from), relative paths in it (drift.baselineDir, capture.dir,
 * leader.lease.file) are resolved against that folder, as the model config's base_path is:
 * the same file means the same folders whatever the working directory.
 */
export function parseConfig(text: string, source = '<text>', opts: { baseDir?: string } = {}): CheckResult {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true }) as Document[] | { empty: true };
  if (!Array.isArray(docs) || docs.length === 0) {
    return { issues: [{ severity: 'error', path: '', message: `the file is empty; start it with "apiVersion: ${API_VERSION}"` }] };
  }
  const syntax: Issue[] = [];
  for (const d of docs) {
    for (const e of [...d.errors, ...d.warnings]) {
      syntax.push({ severity: e.name === 'YAMLWarning' ? 'warning' : 'error', path: '', message: e.message.split('\n')[0]!, line: e.linePos?.[0]?.line });
    }
  }
  if (syntax.some((i) => i.severity === 'error')) return { issues: syntax };

  const read = documentValues(docs, lc);
  if ('issues' in read) return { issues: [...syntax, ...read.issues] };
  const values = read.values;
  /** Problems found while importing, with paths in the source document (`docs[N].` prefix for multi-document files). */
  const importIssues = new Issues();
  /** Problems found validating the modelgate/v1 view. */
  const issues = new Issues();
  let raw: Record<string, unknown>;
  let format: SourceFormat;
  /** Maps a path in the modelgate/v1 view to where it came from in the source. */
  let origin: (path: string) => { doc: number; path: string } = (path) => ({ doc: 0, path });

  // Empty documents (a leading or trailing "---") are not documents of any format.
  const present = values.filter((v) => v !== null && v !== undefined);
  const first = present[0];
  const unsupported = values.map((v, i) => ({ i, message: unsupportedFormat(v) })).filter((u) => u.message !== undefined);
  if (unsupported.length > 0) {
    format = API_VERSION;
    raw = {};
    for (const u of unsupported) importIssues.error(values.length > 1 ? `docs[${u.i}]` : '', u.message!);
  } else if (isSlothDocument(first)) {
    format = 'sloth prometheus/v1';
    const imported = importSloth(values, importIssues);
    raw = imported.raw;
    origin = imported.origin;
  } else if (values.some(isOpenSloDocument)) {
    format = 'openslo/v1';
    const imported = importOpenSlo(values, importIssues);
    raw = imported.raw;
    origin = imported.origin;
  } else {
    format = API_VERSION;
    if (present.length > 1) issues.error('', `modelgate.yaml is one YAML document; found ${present.length} (remove the extra "---")`);
    if (!isRecord(first)) {
      issues.error('', `must be a mapping starting with "apiVersion: ${API_VERSION}"`);
      raw = {};
    } else {
      raw = first;
      checkTopLevel(raw, issues);
    }
  }

  const sections = {} as Record<string, unknown>;
  for (const s of SECTIONS) sections[s.key] = s.validate(raw[s.key], s.key, issues);
  if (issues.ok && importIssues.ok) for (const check of CROSS_CHECKS) check(sections as SectionValues, issues);

  const located = [
    ...syntax,
    ...importIssues.list.map((i) => locate(i, docs, lc, sourcePath, false)),
    ...issues.list.map((i) => locate(i, docs, lc, origin)),
  ];
  if (!issues.ok || !importIssues.ok) return { issues: located };
  if (opts.baseDir !== undefined) resolvePaths(sections as SectionValues, opts.baseDir);
  const config = deepFreeze({
    apiVersion: API_VERSION,
    source,
    format,
    warnings: located.filter((i) => i.severity === 'warning'),
    ...sections,
  }) as unknown as Config;
  return { config, issues: located };
}

function resolvePaths(sections: SectionValues, baseDir: string): void {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const s = sections as { -readonly [K in keyof SectionValues]: SectionValues[K] };
  if (s.drift) s.drift = { ...s.drift, baselineDir: abs(s.drift.baselineDir) };
  if (s.capture) s.capture = Object.freeze({ ...s.capture, dir: abs(s.capture.dir) });
  if (s.leader.mode === 'lease' && s.leader.file !== undefined) s.leader = { ...s.leader, file: abs(s.leader.file) };
}

/** `docs[2].spec.x` → document 2, path `spec.x`; anything else is in document 0. */
function sourcePath(path: string): { doc: number; path: string } {
  const m = /^docs\[(\d+)\]\.?(.*)$/.exec(path);
  return m ? { doc: Number(m[1]), path: m[2]! } : { doc: 0, path };
}

function checkTopLevel(raw: Record<string, unknown>, issues: Issues): void {
  const v = raw['apiVersion'];
  if (v === undefined) issues.error('apiVersion', `is required: add "apiVersion: ${API_VERSION}" as the first line`);
  else if (v !== API_VERSION) issues.error('apiVersion', `must be "${API_VERSION}", got ${JSON.stringify(v)} (Sloth "version: prometheus/v1" and OpenSLO "apiVersion: openslo/v1" files are also accepted)`);
  const known = ['apiVersion', ...SECTIONS.map((s) => s.key)];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) issues.error(key, `unknown top-level section "${key}"; ${suggestion(key, known)}`);
  }
}

function locate(issue: Issue, docs: Document[], lc: LineCounter, origin: (p: string) => { doc: number; path: string }, translated = true): Issue {
  const o = origin(issue.path);
  const doc = docs[o.doc];
  const line = issue.line ?? (doc ? lineOf(doc, lc, pathSegments(o.path)) : undefined);
  let path = issue.path;
  if (translated && (o.path !== issue.path || o.doc !== 0)) {
    const where = docs.length > 1 ? `docs[${o.doc}]${o.path ? `.${o.path}` : ''}` : o.path;
    path = `${where} (as ${issue.path || '(top)'})`;
  }
  return { ...issue, path, ...(line === undefined ? {} : { line }) };
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
  }
  return v;
}
