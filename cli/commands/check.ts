// `modelgate check FILE...`: validates each config the same way the command that loads it
// does, prints every error and warning as file:line: severity: path: message, exits 0
// (valid, maybe with warnings) or 2 (errors in any file).
//
// Two kinds of file, told apart by their contents:
// - modelgate.yaml (apiVersion: modelgate/v1, or a Sloth / OpenSLO file): config/loader.ts;
// - the server's model config (`models:` without apiVersion, `serve --model_config_file`):
//   server/config.ts's validator, plus what only a check can say: a base_path that does not
//   exist, or holds no version folder, is a warning (the server starts, logs nothing about
//   it and answers 404 for that model until versions appear).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join as joinPath, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { Issues, formatIssues, isRecord, type Issue } from '../../common/index.ts';
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.ts';
import { checkConfig } from '../../config/loader.ts';
import { lineOf, pathSegments } from '../../config/positions.ts';
import { validateServerConfigDoc } from '../../server/config.ts';

export const FLAGS: FlagSpec[] = [{ name: 'help', type: 'boolean', help: 'show this help' }];
const USAGE = `usage: modelgate check FILE...

Validates modelgate.yaml (or a Sloth prometheus/v1 / OpenSLO v1 file) and the server's
model config (models.yaml: a models: list, as given to serve --model_config_file), and
prints every problem with its line.`;

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText(USAGE, FLAGS));
    return 0;
  }
  if (positional.length === 0) throw new UsageError('expects one or more FILEs, e.g. modelgate check examples/modelgate.yaml examples/models.yaml');
  let failed = false;
  for (const file of positional) failed = !checkOne(file) || failed;
  return failed ? 2 : 0;
}

function checkOne(file: string): boolean {
  if (isModelConfig(file)) {
    const r = checkModelConfig(file);
    if (r.issues.length > 0) console.error(formatIssues(file, r.issues));
    const errors = r.issues.filter((i) => i.severity === 'error').length;
    if (errors) {
      console.error(`${file}: ${errors} error${errors === 1 ? '' : 's'}`);
      return false;
    }
    const w = r.issues.length;
    console.log(`${file}: ok (model config, ${r.models} model${r.models === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''})`);
    return true;
  }
  const { config, issues } = checkConfig(file);
  if (issues.length > 0) console.error(formatIssues(file, issues));
  if (!config) {
    const n = issues.filter((i) => i.severity === 'error').length;
    console.error(`${file}: ${n} error${n === 1 ? '' : 's'}`);
    return false;
  }
  const w = config.warnings.length;
  console.log(`${file}: ok (${config.format}, ${config.slos.length} SLO${config.slos.length === 1 ? '' : 's'}, ${config.notify.length} notification target${config.notify.length === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''})`);
  return true;
}

/** A server model config: one YAML mapping with `models:` and no `apiVersion`. */
function isModelConfig(file: string): boolean {
  try {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    if (!Array.isArray(docs) || docs.length !== 1) return false;
    const v = docs[0]!.toJS() as unknown;
    return isRecord(v) && 'models' in v && !('apiVersion' in v) && !('version' in v);
  } catch {
    return false;
  }
}

/** Validates a models.yaml as `serve --model_config_file` would, with lines, did-you-mean and path warnings. */
export function checkModelConfig(file: string): { issues: Issue[]; models: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { issues: [{ severity: 'error', path: '', message: `cannot read the file: ${(e as Error).message}` }], models: 0 };
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true }) as Document[];
  const doc = docs[0]!;
  const syntax = [...doc.errors].map((e): Issue => ({ severity: 'error', path: '', message: e.message.split('\n')[0]!, ...(e.linePos?.[0]?.line ? { line: e.linePos[0].line } : {}) }));
  if (syntax.length) return { issues: syntax, models: 0 };
  const raw = doc.toJS() as Record<string, unknown>;
  const issues = new Issues();
  const baseDir = dirname(resolve(file));
  const { models } = validateServerConfigDoc(raw, baseDir, issues);
  const list = Array.isArray(raw['models']) ? (raw['models'] as unknown[]) : [];
  list.forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry['base_path'] !== 'string') return;
    const given = entry['base_path'];
    const abs = resolve(baseDir, given);
    const name = String(entry['name']);
    const path = `models[${i}].base_path`;
    const shown = given === abs ? given : `${given} (${abs})`;
    if (!existsSync(abs)) {
      issues.warn(path, `${shown} does not exist: the server starts without model "${name}" and answers 404 for it until the folder appears (a relative base_path is relative to this file)`);
    } else if (!statSync(abs).isDirectory()) {
      issues.warn(path, `${shown} is a file; base_path is the model's folder, holding one numbered folder per version (<base_path>/1/model.onnx)`);
    } else if (!readdirSync(abs).some((v) => /^\d+$/.test(v) && existsSync(joinPath(abs, v, 'model.onnx')))) {
      issues.warn(path, `${shown} has no version folder with a model.onnx (<base_path>/<version>/model.onnx): the server answers 404 for "${name}" until one appears`);
    }
  });
  const located = issues.list.map((i): Issue => {
    const line = lineOf(doc, lc, pathSegments(i.path));
    return { ...i, ...(line === undefined ? {} : { line }) };
  });
  // In file order, errors before warnings.
  located.sort((a, b) => (a.severity === b.severity ? (a.line ?? 0) - (b.line ?? 0) : a.severity === 'error' ? -1 : 1));
  return { issues: located, models: models.length };
}
