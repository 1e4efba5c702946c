// `modelgate baseline`: build a drift baseline for one model version from a reference file.
//
//   modelgate baseline --model fraud --from data.jsonl [--version 1] [-o baselines]
//                      [--config modelgate.yaml] [--categorical label,country]
//
// With --config, the features (and their kinds) come from the `drift:` section of the
// YAML and --output defaults to its baselineDir. Without it, every column of the file is a
// feature: numeric when all its values are numbers, categorical otherwise or when listed
// in --categorical.
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseArgs, helpText, UsageError } from '../args.ts';
import type { FlagSpec } from '../args.ts';
import { ConfigError, Issues, isModelgateError, isRecord } from '../../common/index.ts';
import type { DriftConfig, FeatureConfig } from '../../drift/config.ts';
import { DRIFT_DEFAULTS, validateDriftSection } from '../../drift/config.ts';
import { buildProfile, toNumber } from '../../drift/profile.ts';
import { formatOf, parseReference } from '../../drift/reference.ts';
import type { ReferenceTable } from '../../drift/reference.ts';
import { saveBaseline } from '../../drift/store.ts';

export const FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'model name, as served (required)' },
  { name: 'from', type: 'string', help: 'reference file: .jsonl (one JSON object per row) or .csv with a header (required)' },
  { name: 'version', type: 'string', help: 'model version the baseline describes', default: '1' },
  { name: 'output', type: 'string', short: 'o', aliases: ['out'], help: `baseline directory (<output>/<model>/<version>/drift-baseline.json); default: the config's baselineDir, else "${DRIFT_DEFAULTS.baselineDir}"` },
  { name: 'config', type: 'string', help: 'modelgate.yaml whose drift section names the features' },
  { name: 'categorical', type: 'string', help: 'comma-separated columns to treat as categories (without --config)' },
  { name: 'bins', type: 'number', help: 'quantile bins per numeric feature', default: DRIFT_DEFAULTS.bins },
  { name: 'sample_size', type: 'number', help: 'values kept per numeric feature for KS', default: DRIFT_DEFAULTS.reservoirSize },
  { name: 'help', type: 'boolean', help: 'show this help' },
];
const USAGE = 'usage: modelgate baseline --model NAME --from FILE.jsonl|FILE.csv [--version V] [-o DIR] [--config modelgate.yaml]';

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText(USAGE, FLAGS));
    return 0;
  }
  const model = flags['model'] as string | undefined;
  const from = flags['from'] as string | undefined;
  if (!model) throw new UsageError('--model is required');
  if (!from) throw new UsageError('--from is required (a .jsonl or .csv reference file)');
  const version = String(flags['version']);
  const config = flags['config'] ? await readDriftConfig(flags['config'] as string) : undefined;
  let table: ReferenceTable;
  try {
    // Progress for big reference files: what is being read, then how long parsing took.
    const t0 = performance.now();
    const text = await readFile(from, 'utf8');
    process.stderr.write(`modelgate baseline: reading ${from} (${(Buffer.byteLength(text) / 1048576).toFixed(1)} MiB)…\n`);
    table = parseReference(text, formatOf(from), from);
    process.stderr.write(`modelgate baseline: parsed in ${Math.round(performance.now() - t0)} ms\n`);
  } catch (e) {
    // A missing or malformed reference file is the user's input, not a crash: say what and where.
    const message = isModelgateError(e) ? e.message : e instanceof Error && 'code' in e && e.code === 'ENOENT' ? `cannot read ${from}: no such file` : undefined;
    if (message === undefined) throw e;
    console.error(`modelgate baseline: ${message}`);
    return 2;
  }

  let features: FeatureConfig[];
  if (config) {
    const m = config.models.find((x) => x.model === model);
    if (!m) throw new UsageError(`${flags['config']}: the drift section has no model "${model}" (it has: ${config.models.map((x) => x.model).join(', ') || 'none'})`);
    features = m.features;
    for (const f of features) if (!table.columns.has(f.name)) console.warn(`modelgate baseline: ${from} has no column "${f.name}": no baseline for that feature (add it, or capture a live baseline)`);
  } else {
    const categorical = new Set(String(flags['categorical'] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    for (const c of categorical) if (!table.columns.has(c)) throw new UsageError(`--categorical names "${c}", which is not a column of ${from}`);
    features = inferFeatures(table, categorical);
  }
  if (flags['version'] === FLAGS.find((f) => f.name === 'version')!.default && !argv.some((a) => a.startsWith('--version'))) {
    console.warn(`modelgate baseline: no --version given: writing the baseline for version ${version}`);
  }
  const profile = buildProfile({
    model,
    version,
    features,
    columns: table.columns,
    rows: table.rows,
    source: { kind: 'file', path: from },
    createdAt: createdAt(),
    bins: flags['bins'] as number,
    sampleSize: flags['sample_size'] as number,
    maxCategories: config?.maxCategories ?? DRIFT_DEFAULTS.maxCategories,
  });
  const out = (flags['output'] as string | undefined) ?? config?.baselineDir ?? DRIFT_DEFAULTS.baselineDir;
  const path = await saveBaseline(out, profile);
  const kinds = Object.entries(profile.features).map(([n, f]) => `${n} (${f.kind}${f.kind === 'numeric' ? `, ${f.counts.length} bins` : `, ${Object.keys(f.categories).length} categories`})`);
  console.log(`wrote ${path}: ${table.rows} rows, ${kinds.length} features: ${kinds.join(', ')}`);
  return 0;
}

/** Every column is a feature; numeric if every present value reads as a number. */
export function inferFeatures(table: ReferenceTable, categorical: ReadonlySet<string>): FeatureConfig[] {
  return table.names.map((name) => {
    const col = table.columns.get(name)!;
    const numeric = !categorical.has(name) && col.every((v) => v === undefined || v === null || toNumber(v) !== undefined);
    return { name, source: 'input', tensor: name, kind: numeric ? 'numeric' : 'categorical', method: 'auto' };
  });
}

/** SOURCE_DATE_EPOCH (reproducible builds convention) pins the timestamp, so a committed baseline rebuilds byte for byte. */
function createdAt(): string {
  const epoch = Number(process.env['SOURCE_DATE_EPOCH']);
  return new Date(Number.isFinite(epoch) && process.env['SOURCE_DATE_EPOCH'] ? epoch * 1000 : Date.now()).toISOString();
}

/** Reads only the `drift:` section of a modelgate.yaml (the full loader lives in config/). */
async function readDriftConfig(path: string): Promise<DriftConfig> {
  const doc: unknown = parseYaml(await readFile(path, 'utf8'));
  const issues = new Issues();
  const section = validateDriftSection(isRecord(doc) ? doc['drift'] : undefined, 'drift', issues);
  if (!issues.ok) throw new ConfigError(path, issues.list);
  if (!isRecord(doc) || doc['drift'] === undefined) throw new UsageError(`${path} has no drift: section`);
  // A relative baselineDir is relative to the file that names it (config/loader.ts does the same).
  return { ...section, baselineDir: resolvePath(dirname(resolvePath(path)), section.baselineDir) };
}
