// Reads the reference facts out of the code itself: flag lists, prom-client metric objects,
// gRPC service definitions and the error catalogs. Nothing here is written by hand except
// which module holds which list (and the test checks those lists are complete).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import type { FlagSpec } from '../../cli/args.ts';
import { GrpcCode, type ErrorSpec } from '../../common/errors.ts';
import { SERVE_FLAGS } from '../../server/config.ts';
import { GATEWAY_PROXY_FLAGS } from '../../cli/commands/proxy.ts';
import { START_FLAGS } from '../../cli/commands/start.ts';
import { FLAGS as CHECK_FLAGS } from '../../cli/commands/check.ts';
import { FLAGS as BASELINE_FLAGS } from '../../cli/commands/baseline.ts';
import { FLAGS as RULES_FLAGS } from '../../cli/commands/rules.ts';
import { FLAGS as DASHBOARDS_FLAGS } from '../../cli/commands/dashboards.ts';
import { ROLLOUT_FLAGS } from '../../cli/commands/rollout.ts';
import { DEMO_FLAGS } from '../../cli/commands/demo.ts';
import { FLAGS as REPLAY_FLAGS } from '../../cli/commands/replay.ts';
import { FLAGS as AUDIT_FLAGS } from '../../cli/commands/audit.ts';
import { COMMANDS } from '../../cli/commands.ts';
// Public surfaces (index.ts) where the area has one, so a refactor inside an area does not
// break the docs; ProxyMetrics is not exported by proxy/index.ts.
import { ServerMetrics, SrvErr, servingServices } from '../../server/index.ts';
import { ProxyMetrics } from '../../proxy/metrics.ts';
import { workerRestartsCounter } from '../../proxy/workers-config.ts';
import { registerSloMetrics, sloRuleGroup, validateSlo } from '../../slo/index.ts';
import { DriftRecorder, registerDriftMetrics, validateDriftSection } from '../../drift/index.ts';
import { RolloutMetrics } from '../../rollout/index.ts';
import { Issues, SLO_RULE } from '../../common/index.ts';
import { ProxyErrors } from '../../proxy/errors.ts';
import { GuardErrors } from '../../proxy/guard/errors.ts';
import { GuardMetrics } from '../../proxy/guard/metrics.ts';
import { SloErrors } from '../../slo/errors.ts';
import { DriftErrors } from '../../drift/errors.ts';
import { RolloutErrors } from '../../rollout/errors.ts';
import { GroundTruth, TruthErrors, registerTruthMetrics, validateTruthSection } from '../../truth/index.ts';
import { systemClock } from '../../common/clock.ts';
import { Mirror, registerCaptureMetrics } from '../../shadow/index.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ---------------------------------------------------------------- CLI

export interface CommandDoc {
  name: string;
  summary: string;
  /** The usage line the command's own `--help` prints. */
  usage: string;
  flags: readonly FlagSpec[];
}

/** The flag list each subcommand parses with (the same constant its `run` passes to parseArgs). */
export const COMMAND_FLAGS: Readonly<Record<string, readonly FlagSpec[]>> = {
  start: START_FLAGS,
  serve: SERVE_FLAGS,
  check: CHECK_FLAGS,
  baseline: BASELINE_FLAGS,
  rules: RULES_FLAGS,
  dashboards: DASHBOARDS_FLAGS,
  proxy: GATEWAY_PROXY_FLAGS,
  rollout: ROLLOUT_FLAGS,
  demo: DEMO_FLAGS,
  replay: REPLAY_FLAGS,
  audit: AUDIT_FLAGS,
};

/** What `modelgate <name> --help` prints (every command answers --help before doing anything). */
export async function helpOutput(name: string): Promise<string> {
  const command = COMMANDS[name];
  if (!command) throw new Error(`no command ${name}`);
  const { run } = await command.load();
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    const code = await run(['--help']);
    if (code !== 0) throw new Error(`modelgate ${name} --help exited ${code}`);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

export async function collectCommands(): Promise<CommandDoc[]> {
  const out: CommandDoc[] = [];
  for (const [name, c] of Object.entries(COMMANDS)) {
    const usage = /^usage: (.+)$/m.exec(await helpOutput(name))?.[1] ?? `modelgate ${name} [flags]`;
    out.push({ name, summary: c.summary, usage, flags: COMMAND_FLAGS[name] ?? [] });
  }
  return out;
}

// ---------------------------------------------------------------- metrics

export interface MetricDoc {
  process: 'server' | 'proxy';
  name: string;
  type: string;
  help: string;
  labels: readonly string[];
  /** Histogram upper bounds (the defaults; the proxy adds SLO latency thresholds). */
  buckets?: readonly number[];
}

interface PromMetric {
  name: string;
  help: string;
  type: string;
  labelNames?: readonly string[];
  upperBounds?: readonly number[];
}

function describe(process: MetricDoc['process'], registry: Registry): MetricDoc[] {
  return (registry.getMetricsAsArray() as unknown as PromMetric[]).map((m) => ({
    process,
    name: m.name,
    type: m.type,
    help: m.help,
    labels: [...(m.labelNames ?? [])],
    ...(m.upperBounds ? { buckets: [...m.upperBounds] } : {}),
  }));
}

/**
 * Every metric, built by the same constructors the processes use, each process into its own
 * `new Registry()`: the server's (server/metrics.ts) and the proxy process's (proxy, SLO,
 * drift and rollout metrics share one registry in app/gateway.ts).
 */
export function collectMetrics(): MetricDoc[] {
  const server = new Registry();
  new ServerMetrics(server);
  const proxy = new Registry();
  new ProxyMetrics(proxy);
  workerRestartsCounter(proxy);
  // With the optional identity label (proxy.auth.identityLabel).
  new GuardMetrics(proxy, { identityLabel: true, knownIdentities: [], maxIdentityLabels: 1, limits: () => [] });
  registerSloMetrics(proxy, { latest: () => [], slos: [] });
  registerDriftMetrics(proxy, new DriftRecorder(validateDriftSection({}, 'drift', new Issues())));
  new RolloutMetrics(proxy);
  const truth = validateTruthSection({ models: { m: { task: 'regression', value: 'y' } } }, 'truth', new Issues())!;
  registerTruthMetrics(proxy, new GroundTruth(truth, { clock: systemClock }));
  registerCaptureMetrics(proxy);
  new Mirror({ plan: () => undefined, registry: proxy, clock: systemClock });
  return [...describe('server', server), ...describe('proxy', proxy)];
}

// ---------------------------------------------------------------- Prometheus rules

export interface RuleDoc {
  name: string;
  kind: 'record' | 'alert';
  labels: readonly string[];
  annotations: readonly string[];
}

/**
 * The series and alerts `modelgate rules` writes for one SLO with every default (30d
 * period, the workbook windows), read from the generator itself (slo/rules.ts).
 */
export function collectRules(): RuleDoc[] {
  const issues = new Issues();
  const slo = validateSlo({ name: 'example', model: 'm', objective: 99.9, sli: { availability: {} } }, 'slos[0]', issues);
  if (!slo) throw new Error(`the example SLO does not validate: ${issues.errors.map((i) => i.message).join('; ')}`);
  const rules = sloRuleGroup(slo).rules;
  // Labels of a recorded series: the aggregation's `by (...)` plus the rule's own labels.
  const recordLabels = (expr: string, own: Record<string, string>) => [
    ...new Set([...(/\bby \(([^)]*)\)/.exec(expr)?.[1]?.split(',').map((l) => l.trim()) ?? []), ...Object.keys(own)]),
  ];
  // An alert's series are those of the error-ratio records it compares, plus its own labels.
  const seriesLabels = rules.flatMap((r) => ('record' in r && r.record.startsWith(SLO_RULE.errorRatioPrefix) ? recordLabels(r.expr, r.labels) : []));
  return rules.map((r) =>
    'record' in r
      ? { name: r.record, kind: 'record' as const, labels: recordLabels(r.expr, r.labels), annotations: [] }
      : { name: r.alert, kind: 'alert' as const, labels: [...new Set([...seriesLabels, ...Object.keys(r.labels)])], annotations: Object.keys(r.annotations) },
  );
}

// ---------------------------------------------------------------- gRPC

export interface GrpcMethodDoc {
  service: string;
  method: string;
  path: string;
  request: string;
  response: string;
  streaming: boolean;
}

interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType?: { type?: { name?: string } };
  responseType?: { type?: { name?: string } };
}

/**
 * The services `modelgate serve` binds (server/grpc/server.ts), method by method, from the
 * vendored protos. That each one is implemented is checked by calling it in the test.
 */
export function collectGrpc(): GrpcMethodDoc[] {
  const s = servingServices();
  const out: GrpcMethodDoc[] = [];
  for (const definition of [s.predictionService, s.modelService, s.inferenceService, s.health]) {
    for (const [method, d] of Object.entries(definition as unknown as Record<string, MethodDefinition>)) {
      out.push({
        service: d.path.split('/')[1]!,
        method,
        path: d.path,
        request: d.requestType?.type?.name ?? '?',
        response: d.responseType?.type?.name ?? '?',
        streaming: d.requestStream || d.responseStream,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- errors

export interface ErrorDoc {
  area: string;
  code: string;
  http: number;
  grpc: string;
  text: string;
}

type Catalog = Record<string, ErrorSpec>;

/** Every `defineErrors` catalog, with the file it is defined in (for the comments). */
export const CATALOGS: ReadonlyArray<{ area: string; name: string; file: string; catalog: Catalog }> = [
  { area: 'server', name: 'SrvErr', file: 'server/errors.ts', catalog: SrvErr },
  { area: 'proxy', name: 'ProxyErrors', file: 'proxy/errors.ts', catalog: ProxyErrors },
  { area: 'proxy admission', name: 'GuardErrors', file: 'proxy/guard/errors.ts', catalog: GuardErrors },
  { area: 'slo', name: 'SloErrors', file: 'slo/errors.ts', catalog: SloErrors },
  { area: 'drift', name: 'DriftErrors', file: 'drift/errors.ts', catalog: DriftErrors },
  { area: 'rollout', name: 'RolloutErrors', file: 'rollout/errors.ts', catalog: RolloutErrors },
  { area: 'truth', name: 'TruthErrors', file: 'truth/errors.ts', catalog: TruthErrors },
];

/** For entries whose catalog line carries no comment. */
const ERROR_NOTES: Readonly<Record<string, string>> = {
  SRV_ERR_METHOD_NOT_ALLOWED: 'HTTP method not allowed on the path (e.g. GET on `:predict`).',
  SRV_ERR_BODY_TOO_LARGE: 'Request body above `--max_body_bytes` (gRPC: message above `--grpc_max_message_bytes`).',
  SRV_ERR_DEADLINE_EXCEEDED: 'The request took longer than `--rest_api_timeout_in_ms` or the gRPC deadline.',
  SRV_ERR_UNIMPLEMENTED: 'A feature or method this server does not implement (compressed gRPC messages, a signature method it cannot run).',
  SRV_ERR_CANCELLED: 'The client went away before the answer (499, nginx\'s "client closed request").',
  SLO_ERR_UNKNOWN_SLO: 'A burn-rate lookup (rollout analysis) names an SLO that does not exist or belongs to another model.',
  SLO_ERR_BAD_WINDOW: 'A burn-rate lookup over a window that is not in (0, period], or beyond the extra windows the Prometheus source reads.',
  SLO_ERR_DUPLICATE_SLO: 'Two SLOs with one name given to the engine (the config loader rejects this first).',
};

/** The comment just above `CODE:` in the catalog file (`/** ... *\/` or `// ...` lines). */
export function commentAbove(source: string, code: string): string | undefined {
  const lines = source.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*${code}\\s*:`).test(l));
  if (at <= 0) return undefined;
  const parts: string[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    const line = /^\/\/\s?(.*)$/.exec(l)?.[1] ?? /^\/\*\*\s*(.*?)\s*\*\/$/.exec(l)?.[1];
    if (line === undefined) break;
    parts.unshift(line);
  }
  return parts.length ? parts.join(' ') : undefined;
}

const GRPC_NAMES = new Map<number, string>(Object.entries(GrpcCode).map(([k, v]) => [v, k]));

export function collectErrors(): ErrorDoc[] {
  const out: ErrorDoc[] = [];
  for (const { area, file, catalog } of CATALOGS) {
    const source = readFileSync(new URL(file, `file://${REPO_ROOT}`), 'utf8');
    for (const spec of Object.values(catalog)) {
      out.push({
        area,
        code: spec.code,
        http: spec.http,
        grpc: GRPC_NAMES.get(spec.grpc) ?? String(spec.grpc),
        text: commentAbove(source, spec.code) ?? ERROR_NOTES[spec.code] ?? '',
      });
    }
  }
  return out;
}
