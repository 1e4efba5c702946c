// `modelgate replay`: sends captured requests (the proxy's `capture:` files) to a server or
// one version of it, and compares each answer with the recorded one.
//
//   modelgate replay --from capture.jsonl --target http://127.0.0.1:8501 [--grpc_target 127.0.0.1:8500]
//                    [--version 3] [--concurrency 8] [--rate 200] [--json]
//                    [--max_disagreement 1%] [--max_errors 0%]
//
// Exit code: 0 when every threshold holds, 1 when one is exceeded (or nothing could be
// compared), 2 for a usage error or an unreadable file: a CI job can gate a model on it.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { helpText, parseArgs, UsageError, type FlagSpec } from '../args.ts';
import { COMPARE_DEFAULTS, parseRecord, replay, type ReplayProgress, type ReplayReport } from '../../shadow/index.ts';

export const FLAGS: FlagSpec[] = [
  { name: 'from', type: 'string', help: 'capture file (JSON Lines written by the proxy\'s capture: section) (required)' },
  { name: 'target', type: 'string', help: 'REST base URL to replay REST records against, e.g. http://127.0.0.1:8501' },
  { name: 'grpc_target', type: 'string', help: 'host:port to replay gRPC records against, e.g. 127.0.0.1:8500' },
  { name: 'version', type: 'string', help: 'pin every request to this model version (in the path or the ModelSpec)' },
  { name: 'model', type: 'string', help: 'replay only the records of this model' },
  { name: 'concurrency', type: 'number', help: 'requests in flight at once', default: 8 },
  { name: 'rate', type: 'number', help: 'requests started per second at most (default: as fast as --concurrency allows)' },
  { name: 'timeout', type: 'duration', help: 'per-request timeout', default: '30s' },
  { name: 'max_disagreement', type: 'string', help: 'largest share of rows whose answer may differ, e.g. 1% or 0.01', default: '0%' },
  { name: 'max_errors', type: 'string', help: 'largest share of requests the target may fail', default: '0%' },
  { name: 'min_requests', type: 'number', help: 'compared requests needed for a verdict (fewer fails)', default: 1 },
  { name: 'abs_tolerance', type: 'number', help: 'score outputs agree when |a - b| <= abs + rel * |a|', default: COMPARE_DEFAULTS.absTolerance },
  { name: 'rel_tolerance', type: 'number', help: 'see --abs_tolerance', default: COMPARE_DEFAULTS.relTolerance },
  { name: 'json', type: 'boolean', help: 'print the report as JSON (no progress bar)' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];
const USAGE = 'usage: modelgate replay --from capture.jsonl --target URL [--grpc_target HOST:PORT] [--version V] [--concurrency N] [--rate R] [--max_disagreement 1%] [--json]';

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, FLAGS);
  if (flags['help']) {
    console.log(helpText(USAGE, FLAGS));
    return 0;
  }
  const from = flags['from'] as string | undefined;
  const target = flags['target'] as string | undefined;
  const grpcTarget = flags['grpc_target'] as string | undefined;
  if (!from) throw new UsageError('--from is required: a capture file written by the proxy (capture: in modelgate.yaml)');
  if (!target && !grpcTarget) throw new UsageError('give --target URL (REST) and/or --grpc_target HOST:PORT (gRPC)');
  if (target && !/^https?:\/\/[^/]+\/?$/.test(target)) throw new UsageError(`--target must be a base URL such as http://127.0.0.1:8501, got ${JSON.stringify(target)}`);
  if (grpcTarget && !/^[^/:]+:\d+$/.test(grpcTarget)) throw new UsageError(`--grpc_target must be host:port such as 127.0.0.1:8500, got ${JSON.stringify(grpcTarget)}`);
  const concurrency = flags['concurrency'] as number;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw new UsageError('--concurrency must be a whole number from 1 to 1024');
  const rate = flags['rate'] as number | undefined;
  if (rate !== undefined && !(rate > 0)) throw new UsageError('--rate must be a positive number of requests per second');
  const minPairs = flags['min_requests'] as number;
  if (!Number.isInteger(minPairs) || minPairs < 1) throw new UsageError('--min_requests must be a whole number >= 1');
  try {
    await access(from);
  } catch {
    console.error(`modelgate replay: cannot read ${from}`);
    return 2;
  }
  const json = flags['json'] === true;
  const bar = !json && process.stderr.isTTY ? progressBar() : undefined;
  const report = await replay(readLines(from), {
    ...(target ? { restTarget: target.replace(/\/$/, '') } : {}),
    ...(grpcTarget ? { grpcTarget } : {}),
    ...(flags['version'] !== undefined ? { version: String(flags['version']) } : {}),
    ...(flags['model'] !== undefined ? { model: String(flags['model']) } : {}),
    concurrency,
    ...(rate !== undefined ? { ratePerSecond: rate } : {}),
    timeoutMs: flags['timeout'] as number,
    compare: { outputs: [], absTolerance: flags['abs_tolerance'] as number, relTolerance: flags['rel_tolerance'] as number },
    thresholds: { maxDisagreement: share(flags['max_disagreement'] as string, 'max_disagreement'), maxCandidateErrors: share(flags['max_errors'] as string, 'max_errors'), minPairs },
    ...(bar ? { onProgress: bar.update } : {}),
  });
  bar?.done();
  if (json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatReport(report));
  return report.verdict.verdict === 'pass' ? 0 : 1;
}

/** "1%" → 0.01, "0.01" → 0.01. */
function share(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(%?)$/.exec(v.trim());
  const x = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(x >= 0 && x <= 1)) throw new UsageError(`--${flag} must be a share such as 1% or 0.01, got ${JSON.stringify(v)}`);
  return x;
}

async function* readLines(file: string) {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    const r = parseRecord(text);
    yield typeof r === 'string' ? { line, error: r } : { line, record: r };
  }
}

function progressBar() {
  let last = 0;
  let shown = false;
  const draw = (p: ReplayProgress) => {
    const disagree = p.rows === 0 ? 0 : p.disagreeingRows / p.rows;
    process.stderr.write(`\r  replayed ${p.done}  errors ${p.errors}  disagreeing rows ${(disagree * 100).toFixed(2)}%   `);
    shown = true;
  };
  return {
    update(p: ReplayProgress) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      draw(p);
    },
    done() {
      if (shown) process.stderr.write('\n');
    },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;

export function formatReport(r: ReplayReport): string {
  const c = r.comparison;
  const out: string[] = [];
  out.push(`records ${r.records}, replayed ${r.replayed}${Object.keys(r.skipped).length ? `, skipped ${Object.entries(r.skipped).map(([k, v]) => `${v} ${k}`).join(', ')}` : ''}`);
  const errors = Object.entries(r.errors);
  out.push(`errors ${errors.reduce((a, [, v]) => a + v, 0)}${errors.length ? ` (${errors.map(([k, v]) => `${v} ${k}`).join(', ')})` : ''}`);
  for (const e of r.errorSamples.slice(0, 3)) out.push(`  line ${e.line}: ${e.error}`);
  if (r.latencySeconds) out.push(`latency p50 ${ms(r.latencySeconds.p50)}, p90 ${ms(r.latencySeconds.p90)}, p99 ${ms(r.latencySeconds.p99)}, max ${ms(r.latencySeconds.max)}`);
  out.push(`compared ${c.pairs} requests, ${c.rows} rows: ${c.disagreeingRows} disagree (${pct(1 - c.agreement)})${c.mismatched ? `, ${c.mismatched} answers differ in structure` : ''}`);
  for (const col of c.columns) {
    if (col.kind === 'class') {
      const flips = (col.flips ?? []).slice(0, 4).map((f) => `${f.from}→${f.to} ×${f.count}`).join(', ');
      out.push(`  ${col.key} (class): agreement ${pct(col.agreement)}${flips ? `; flips ${flips}` : ''}`);
    } else {
      const a = col.absDiff;
      out.push(`  ${col.key} (score): within tolerance ${pct(col.agreement)}${a ? `; |diff| p50 ${a.p50.toPrecision(3)}, p99 ${a.p99.toPrecision(3)}, max ${a.max.toPrecision(3)}` : ''}`);
    }
  }
  const v = r.verdict;
  out.push(v.verdict === 'pass' ? `PASS (max disagreement ${pct(r.thresholds.maxDisagreement)}, max errors ${pct(r.thresholds.maxCandidateErrors)})` : `${v.verdict === 'fail' ? 'FAIL' : 'FAIL (inconclusive)'}: ${v.reasons.join('; ')}`);
  return out.join('\n');
}
