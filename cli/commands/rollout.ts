// `modelgate rollout status|pause|resume|promote|abort [MODEL]`: talks to a running proxy's
// admin API (the same routes as routes.ts), so the CLI and the HTTP API cannot disagree.
import { helpText, parseArgs, UsageError } from '../args.ts';
import type { FlagSpec } from '../args.ts';
import { formatDuration } from '../../common/index.ts';
import type { RolloutView } from '../../rollout/views.ts';
import { COMMANDS } from '../../rollout/types.ts';

export const ROLLOUT_FLAGS: readonly FlagSpec[] = [
  { name: 'admin_url', type: 'string', default: 'http://127.0.0.1:9090', help: 'the proxy admin API (proxy.admin in modelgate.yaml)' },
  { name: 'token', type: 'string', help: 'admin bearer token (default: $MODELGATE_ADMIN_TOKEN)' },
  { name: 'json', type: 'boolean', help: 'print the JSON the admin API returns' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

const USAGE = 'usage: modelgate rollout status [MODEL] | pause|resume|promote|abort|reset MODEL [flags]';

export interface RunDeps {
  env?: Record<string, string | undefined>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function run(argv: string[], deps: RunDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => console.log(l));
  const err = deps.err ?? ((l: string) => console.error(l));
  const env = deps.env ?? process.env;
  const { flags, positional } = parseArgs(argv, ROLLOUT_FLAGS);
  if (flags['help']) {
    out(helpText(USAGE, ROLLOUT_FLAGS));
    return 0;
  }
  const [verb, model, ...extra] = positional;
  if (verb === undefined) throw new UsageError(`a subcommand is needed; ${USAGE}`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  // reset: clears a model blocked by invalid persisted state (the admin API's 503 says so).
  if (verb !== 'status' && verb !== 'reset' && !COMMANDS.includes(verb as never)) throw new UsageError(`unknown subcommand "${verb}"; one of status, ${COMMANDS.join(', ')}, reset`);
  if (verb !== 'status' && model === undefined) throw new UsageError(`${verb} needs a MODEL`);
  const base = String(flags['admin_url']).replace(/\/+$/, '');
  const token = (flags['token'] as string | undefined) ?? env['MODELGATE_ADMIN_TOKEN'];
  const path = verb === 'status' ? (model === undefined ? '/api/v1/rollouts' : `/api/v1/rollouts/${encodeURIComponent(model)}`) : `/api/v1/rollouts/${encodeURIComponent(model!)}/${verb}`;
  let res: Response;
  try {
    res = await fetch(base + path, {
      method: verb === 'status' ? 'GET' : 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    err(`modelgate rollout: cannot reach the admin API at ${base}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
    return 1;
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const b = body as { error?: unknown; code?: unknown; message?: unknown } | string;
    const msg = typeof b === 'string' ? b : String(b.error ?? b.message ?? JSON.stringify(b));
    err(`modelgate rollout ${verb}: ${res.status} ${msg}`);
    if (res.status === 401 || res.status === 403) err('set --token or MODELGATE_ADMIN_TOKEN to the proxy admin token');
    return 1;
  }
  if (flags['json']) {
    out(JSON.stringify(body, null, 2));
    return 0;
  }
  const views = verb === 'status' && model === undefined ? (body as { rollouts: RolloutView[] }).rollouts : [body as RolloutView];
  for (const v of views) out(describe(v));
  return 0;
}

/** One rollout as a few lines of text. */
export function describe(v: RolloutView): string {
  const steps = v.steps.map((w, i) => (i === v.step ? `[${w}]` : String(w))).join(' → ');
  const lines = [
    `${v.model}: ${v.phase}${v.pausedBy ? ` (by ${v.pausedBy})` : ''}  canary ${v.canary ?? '-'} at ${v.weight}%  stable ${v.stable ?? '-'}`,
    `  steps ${steps}   interval ${formatDuration(v.interval)}   failed checks ${v.failedChecks}/${v.failureThreshold}`,
    `  ${v.reason}`,
  ];
  if (v.lastAnalysis) {
    lines.push(`  last analysis ${v.lastAnalysis.verdict} at ${new Date(v.lastAnalysis.atMs).toISOString()}:`);
    for (const c of v.lastAnalysis.checks) lines.push(`    ${c.verdict.padEnd(12)} ${c.name.padEnd(12)} ${c.reason}`);
  }
  if (v.blocked) lines.push(`  BLOCKED: invalid state kept in ${v.blocked.file}; run: modelgate rollout reset ${v.model}`);
  if (v.rolledBack.length) lines.push(`  never promoted again (rolled back): ${v.rolledBack.join(', ')}`);
  if (v.history.length) lines.push(`  history: ${v.history.map((h) => `${h.canary}:${h.phase}`).join(', ')}`);
  return lines.join('\n');
}
