// Turns the collected facts into docs/reference.md. Pure: same inputs, same text (no dates,
// no absolute paths), so the test can regenerate and compare byte for byte.
import { DRIFTED_VALUE, LABEL, MODEL_STATES, SLO_RULE, OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION, VARIANT_HEADER, VERSION_HEADER } from '../../common/conventions.ts';
import { KNOWN_METHODS } from '../../proxy/index.ts';
import { PHASES } from '../../rollout/index.ts';
import type { CommandDoc, ErrorDoc, GrpcMethodDoc, MetricDoc, RuleDoc } from './collect.ts';
import type { EndpointDoc, EnvDoc } from './endpoints.ts';
import type { FieldTable } from './fields.ts';

export interface ReferenceInputs {
  commands: readonly CommandDoc[];
  modelgateYaml: FieldTable;
  modelsYaml: FieldTable;
  endpoints: readonly EndpointDoc[];
  environment: readonly EnvDoc[];
  grpc: readonly GrpcMethodDoc[];
  metrics: readonly MetricDoc[];
  rules: readonly RuleDoc[];
  errors: readonly ErrorDoc[];
  /** Absolute repository root, replaced by `<repo>` wherever a default contains it. */
  repoRoot: string;
}

/** What each label means; the test checks every label a metric uses is here. */
export const LABEL_TEXT: Readonly<Record<string, string>> = {
  [LABEL.model]: `Model name as served; names beyond the allowlist (\`proxy.labels.maxModels\`) become \`${OVERFLOW_LABEL_VALUE}\`.`,
  [LABEL.version]: `Version that served (the proxy reads \`${VERSION_HEADER}\` or the response); \`${UNKNOWN_VERSION}\` when none was resolved, \`${OVERFLOW_LABEL_VALUE}\` beyond the allowlist.`,
  [LABEL.api]: 'Request kind: predict, classify, regress, infer, status, metadata, health, other.',
  [LABEL.protocol]: '`rest` or `grpc` (proxy).',
  [LABEL.entrypoint]: '`rest` or `grpc` (server).',
  [LABEL.code]: 'HTTP status (`200`, `503`) or gRPC code name (`OK`, `UNAVAILABLE`).',
  [LABEL.variant]: `Split variant that served: \`stable\`, \`canary\` or \`direct\` (the request named a version); also the \`${VARIANT_HEADER}\` response header.`,
  [LABEL.state]: `Model version state: ${MODEL_STATES.join(', ')} (1 for the current state).`,
  [LABEL.kind]: 'Upstream failure: connect, reset, timeout, protocol, client_abort, client_timeout (the client stopped sending its body: 408), body_too_large.',
  [LABEL.reason]: 'Why: a telemetry sample was dropped (observer_error, body_observer_error, body_queue_full, body_too_large); a credential was refused (`modelgate_auth_failures_total`: missing_credential, unknown_key, invalid_token, expired_token, forbidden); a request was refused before forwarding (`modelgate_requests_rejected_total`: unauthenticated, forbidden, rate_limited, shed); a stored prediction was dropped (`modelgate_prediction_store_evictions_total`: ttl, capacity, conflict: a second request reused its id, so no label joins it); a feedback entry\'s outcome (`modelgate_feedback_entries_total`: labelled_rows, unmatched, duplicate, rejected); a proxy worker process died (`modelgate_proxy_worker_restarts_total`: killed by a signal, or exited with an error code).',
  [LABEL.outcome]: 'What became of it: a certificate reload (`modelgate_tls_reloads_total`: ok, error); a captured exchange (`modelgate_capture_records_total`: written, dropped_queue_full, dropped_write_error, dropped_too_large); a mirrored request (`modelgate_shadow_requests_total`: compared, candidate_error, mismatched, dropped_queue_full, dropped_undecodable).',
  [LABEL.output]: 'An output tensor of the model (`probabilities`, `scores`...), in shadow comparisons.',
  [LABEL.identity]: `Who called (an API key name or a JWT subject), only with \`proxy.auth.identityLabel\`; key names plus at most \`maxIdentityLabels\` others, then \`${OVERFLOW_LABEL_VALUE}\`; empty when the caller was not identified.`,
  [LABEL.slo]: 'SLO name (`slos[].name`).',
  [LABEL.window]: 'Alert window as a duration, e.g. `1h`, `5m`.',
  [LABEL.severity]: '`page` or `ticket`.',
  [LABEL.feature]: 'Drift feature name (`drift.models.<model>.inputs[].name`).',
  [LABEL.method]: 'Drift score: psi, js, wasserstein, ks (the D statistic), ks_pvalue, chisquare_pvalue.',
  [LABEL.drifted]: `Outcome of a closed drift window: ${Object.values(DRIFTED_VALUE).map((v) => `\`${v}\``).join(', ')}.`,
  [LABEL.correct]: 'Whether a labelled prediction was right: `true` or `false` (`POST /api/v1/feedback`).',
  [LABEL.class]: `A classifier's class (\`truth.models.<model>.classes\` name or index); at most 100 per version, then \`${OVERFLOW_LABEL_VALUE}\`.`,
  [LABEL.phase]: `Rollout phase: ${PHASES.join(', ')} (1 for the current phase).`,
};

/** Table cell text: `|` escaped everywhere; `<`, `>` outside code spans, so `<model>` is not read as HTML. */
const esc = (s: string): string =>
  s
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}${s.endsWith('.') ? '' : '.'}`;
const code = (s: string): string => `\`${s}\``;

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function cliSection(commands: readonly CommandDoc[], repoRoot: string): string {
  const root = repoRoot.replace(/\/$/, '');
  const def = (v: unknown): string => {
    if (v === undefined) return '';
    const s = typeof v === 'string' ? v.split(root).join('<repo>') : JSON.stringify(v);
    return code(s);
  };
  const parts = [
    '## CLI',
    '',
    'Run as `modelgate <command> [flags]` (`npx modelgate`, or `node bin/modelgate.js`). Flags take `--name value` or `--name=value`; snake_case and kebab-case both work; every command takes `--help`.',
  ];
  for (const c of commands) {
    parts.push('', `### modelgate ${c.name}`, '', esc(sentence(c.summary)), '', '```', c.usage, '```', '');
    parts.push(table(['flag', 'type', 'default', 'meaning'], c.flags.map((f) => [code(`--${f.name}`), f.type, def(f.default), f.help])));
  }
  return parts.join('\n');
}

function environmentSection(env: readonly EnvDoc[]): string {
  return ['### Environment variables', '', table(['variable', 'read by', 'meaning'], env.map((e) => [code(e.name), e.readBy, e.text]))].join('\n');
}

function fieldRows(fields: FieldTable): string[][] {
  return Object.entries(fields).map(([path, f]) => [
    code(path),
    f.type,
    f.required ? '**required**' : f.default !== undefined ? code(f.default) : (f.defaultNote ?? ''),
    f.units ?? '',
    f.text,
  ]);
}

function configSection(title: string, intro: string, fields: FieldTable, groupBy: (path: string) => string): string {
  const groups = new Map<string, FieldTable>();
  for (const [path, f] of Object.entries(fields)) {
    const g = groupBy(path);
    groups.set(g, { ...(groups.get(g) ?? {}), [path]: f });
  }
  const parts = [title, '', intro];
  for (const [g, fs] of groups) {
    parts.push('', `### ${g}`, '', table(['field', 'type', 'default', 'units', 'meaning'], fieldRows(fs)));
  }
  return parts.join('\n');
}

function endpointsSection(endpoints: readonly EndpointDoc[]): string {
  const rows = (surface: EndpointDoc['surface'], withAuth: boolean) =>
    endpoints
      .filter((e) => e.surface === surface)
      .map((e) => [e.method, code(e.path), ...(withAuth ? [e.auth ? 'bearer token' : 'open', e.mountedBy ?? 'always'] : []), e.text]);
  return [
    '## HTTP endpoints',
    '',
    '### Inference server (`modelgate serve`, port `--rest_api_port`, default 8501)',
    '',
    `Paths follow TF Serving (\`/v1\`, case-insensitive, \`http_rest_api_util.cc\`) and KServe v2 (\`/v2\`). Errors answer TF Serving's \`{"error": "<message>"}\` with the HTTP status of their \`SRV_ERR_*\` code (error table below). Responses that ran a model version carry \`${VERSION_HEADER}\`.`,
    '',
    table(['method', 'path', 'meaning'], rows('server', false)),
    '',
    '### Proxy data plane (`proxy.rest.port`, default 8501)',
    '',
    `Every request is forwarded to \`proxy.rest.upstream\` unchanged, so the server paths above work through the proxy (and those of any TF Serving or KServe v2 server). A request that names no version is routed by the model's split; the response carries \`${VARIANT_HEADER}\`. The proxy's own errors use the \`PRX_ERR_*\` codes.`,
    '',
    '### Proxy admin API (`proxy.admin.port`, default 9090)',
    '',
    'Routes marked *bearer token* need `Authorization: Bearer <token>` (`proxy.admin.token` or the `MODELGATE_ADMIN_TOKEN` environment variable); with no token configured they answer 403 `PRX_ERR_ADMIN_DISABLED`. `HEAD` works wherever `GET` does.',
    '',
    table(['method', 'path', 'auth', 'mounted by', 'meaning'], rows('admin', true)),
  ].join('\n');
}

function grpcSection(methods: readonly GrpcMethodDoc[]): string {
  return [
    '## gRPC services',
    '',
    'Served by `modelgate serve` on `--port` (default 8500, plaintext h2c) from the vendored protos in `server/grpc/protos/`; every method listed is implemented. Errors carry the gRPC status code of the error table below. The proxy (`proxy.grpc.port`) forwards every method to `proxy.grpc.upstream`; the last column is the `api` label it records (other methods count as `other`).',
    '',
    table(
      ['service', 'method', 'request → response', 'proxy `api` label'],
      methods.map((m) => [
        code(m.service),
        m.method + (m.streaming ? ' (server stream)' : ''),
        `${m.request} → ${m.response}`,
        KNOWN_METHODS.get(m.path)?.api ?? 'other',
      ]),
    ),
  ].join('\n');
}

function metricsSection(metrics: readonly MetricDoc[]): string {
  const rows = (p: MetricDoc['process']) =>
    metrics
      .filter((m) => m.process === p)
      .map((m) => [code(m.name), m.type, m.labels.map(code).join(', '), m.help + (m.buckets ? ` Buckets: ${m.buckets.join(', ')}.` : '')]);
  const used = [...new Set(metrics.flatMap((m) => m.labels))].sort();
  return [
    '## Metrics',
    '',
    'Names and labels come from `common/conventions.ts`. Histograms also export `_bucket` (label `le`), `_sum` and `_count`. Node process metrics (prom-client `collectDefaultMetrics`: CPU, memory, event loop lag, GC) are added with the prefix `modelgate_server_` by `modelgate serve` and `modelgate start` (server `/metrics`) and `modelgate_proxy_` by `modelgate proxy`; `modelgate start` does not add them to the admin port.',
    '',
    '### Inference server (`/metrics` on the server REST port)',
    '',
    table(['metric', 'type', 'labels', 'meaning'], rows('server')),
    '',
    '### Proxy process (`/metrics` on the admin port): proxy, SLO, drift, rollout',
    '',
    table(['metric', 'type', 'labels', 'meaning'], rows('proxy')),
    '',
    '### Labels',
    '',
    table(['label', 'values'], used.map((l) => [code(l), LABEL_TEXT[l] ?? ''])),
  ].join('\n');
}

/** What each generated series means, by its name (prefixes from common/conventions.ts SLO_RULE). */
function ruleMeaning(r: RuleDoc): string {
  if (r.name.startsWith(SLO_RULE.errorRatioPrefix)) return `Share of bad events over the window, from \`modelgate_requests_total\` (availability), \`modelgate_request_duration_seconds_bucket\` (latency) or \`modelgate_drift_windows_total\` (drift).`;
  if (r.name.startsWith(SLO_RULE.requestsPrefix)) return 'Events over the window; an alert needs at least `alerting.minEvents` in both of its windows.';
  if (r.name === SLO_RULE.objective) return 'The objective as a ratio.';
  if (r.name === SLO_RULE.alert) return `Multiwindow burn-rate alert, one rule per severity (\`page\`, \`ticket\`) plus \`alerting.labels\`; annotations: ${r.annotations.map((a) => `\`${a}\``).join(', ')} (and \`runbook_url\` from \`alerting.runbook\`).`;
  return '';
}

function rulesSection(rules: readonly RuleDoc[]): string {
  // One row per name family: the window is part of the record name (`..._rate5m`).
  const families = new Map<string, { rule: RuleDoc; windows: string[] }>();
  for (const r of rules) {
    const prefix = [SLO_RULE.errorRatioPrefix, SLO_RULE.requestsPrefix].find((p) => r.name.startsWith(p));
    const key = prefix ? `${prefix}<window>` : r.name;
    const f = families.get(key) ?? { rule: r, windows: [] };
    if (prefix) f.windows.push(r.name.slice(prefix.length));
    families.set(key, f);
  }
  const rows = [...families].map(([name, { rule, windows }]) => [
    code(name),
    rule.kind,
    rule.labels.map(code).join(', '),
    ruleMeaning(rule) + (windows.length ? ` Windows: ${windows.map(code).join(', ')}.` : ''),
  ]);
  return [
    '### Prometheus rules (`modelgate rules`)',
    '',
    'Recording rules and alerts generated per SLO, shown for an SLO with the default 30d period and the SRE workbook windows (other periods scale the windows, and the names follow).',
    '',
    table(['series or alert', 'kind', 'labels', 'meaning'], rows),
  ].join('\n');
}

function errorsSection(errors: readonly ErrorDoc[]): string {
  return [
    '## Error codes',
    '',
    'One catalog per area (`defineErrors` in `common/errors.ts`); every surface maps a code to the same HTTP status and gRPC status code. The proxy\'s REST and admin errors answer `{"error": "<message>", "code": "PRX_ERR_..."}`; the inference server answers TF Serving\'s `{"error": "<message>"}` (the code is not in the body, for compatibility); gRPC errors carry the status code and the message.',
    '',
    table(['code', 'area', 'HTTP', 'gRPC', 'meaning'], errors.map((e) => [code(e.code), e.area, String(e.http), e.grpc, e.text])),
  ].join('\n');
}

const topOf = (path: string): string => path.split(/[.[]/)[0]!;

export function renderReference(r: ReferenceInputs): string {
  return [
    '# modelgate reference',
    '',
    '<!-- Generated by `npm run reference` (scripts/reference.ts) from the code. Do not edit: test/docs/reference.test.ts fails when this file differs from what the code generates. -->',
    '',
    'Every CLI flag, configuration field, HTTP and gRPC endpoint, metric and error code, generated from the code. Durations are written like Prometheus durations (`250ms`, `5m`, `1h`, `30d`); a bare number where a duration is expected is an error.',
    '',
    '- [CLI](#cli)',
    '- [modelgate.yaml](#modelgateyaml)',
    '- [Model config file](#model-config-file)',
    '- [HTTP endpoints](#http-endpoints)',
    '- [gRPC services](#grpc-services)',
    '- [Metrics](#metrics)',
    '- [Error codes](#error-codes)',
    '',
    cliSection(r.commands, r.repoRoot),
    '',
    environmentSection(r.environment),
    '',
    configSection(
      '## modelgate.yaml',
      'Read by `modelgate start --config`, `modelgate proxy --config` and `modelgate check`. Validated once at start; every problem is reported with its line, path and a fix. Paths: `a[]` is a list item, `<model>` a key you choose. Unknown keys are errors.',
      r.modelgateYaml,
      (p) => (p === 'apiVersion' ? 'top level' : `${topOf(p)}:`),
    ),
    '',
    configSection(
      '## Model config file',
      'Read by `modelgate serve --model_config_file` and `modelgate start --model_config_file` (default `examples/models.yaml`): our YAML form of TF Serving\'s ModelServerConfig (`model_server_config.proto`). Paths are relative to the file.',
      r.modelsYaml,
      () => 'models:',
    ),
    '',
    endpointsSection(r.endpoints),
    '',
    grpcSection(r.grpc),
    '',
    metricsSection(r.metrics),
    '',
    rulesSection(r.rules),
    '',
    errorsSection(r.errors),
    '',
  ].join('\n');
}
