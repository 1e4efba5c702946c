// Replays captured requests against a server (or one version of it) and compares each answer
// with the recorded one, with the same comparison as shadow traffic (compare.ts). The
// runner is independent of the terminal: `modelgate replay` (cli/commands/replay.ts) draws
// the progress bar and writes the report.
import { connect, type ClientHttp2Session } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { quantileSorted } from 'simple-statistics';
import { Pool } from 'undici';
import type { DecodedTensor } from '../drift/index.ts';
import { parseRestPath, pinnedPath } from '../proxy/index.ts';
import { answerOutputs, sendGrpc, sendRest, type Answer } from './send.ts';
import { Comparison, judgeDivergence, type CompareSettings, type ComparisonSummary, type DivergenceThresholds, type DivergenceVerdict, type Quantiles } from './compare.ts';
import { requestBytes, responseBytes, type CaptureRecord } from './record.ts';

export interface ReplayOptions {
  /** Base URL of the REST API, e.g. http://127.0.0.1:8501. */
  restTarget?: string;
  /** host:port of the gRPC API. */
  grpcTarget?: string;
  /** Pin every request to this version (path or ModelSpec), e.g. a new version not yet labelled. */
  version?: string;
  /** Only records of this model. */
  model?: string;
  concurrency: number;
  /** Requests started per second at most; undefined: as fast as `concurrency` allows. */
  ratePerSecond?: number;
  timeoutMs: number;
  compare: CompareSettings;
  thresholds: DivergenceThresholds;
  /** Called after each record with the running counts. */
  onProgress?: (p: ReplayProgress) => void;
}

export interface ReplayProgress {
  done: number;
  errors: number;
  disagreeingRows: number;
  rows: number;
}

export interface ReplayReport {
  records: number;
  replayed: number;
  /** Records not sent, by reason. */
  skipped: Record<string, number>;
  /** Answers the target failed (status, gRPC code or network error), by kind. */
  errors: Record<string, number>;
  /** A few failed requests, for the reader: which record (1-based line) and why. */
  errorSamples: { line: number; error: string }[];
  /** Latency of the replayed requests at the client. */
  latencySeconds?: Quantiles & { p90: number };
  comparison: ComparisonSummary;
  verdict: DivergenceVerdict;
  thresholds: DivergenceThresholds;
}

type Line = { line: number; record: CaptureRecord } | { line: number; error: string };

const MAX_ERROR_SAMPLES = 10;

export async function replay(lines: AsyncIterable<Line>, o: ReplayOptions): Promise<ReplayReport> {
  const comparison = new Comparison(o.compare);
  const skipped: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const errorSamples: { line: number; error: string }[] = [];
  const latencies: number[] = [];
  let records = 0;
  let replayed = 0;
  let errorCount = 0;
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  const rest = o.restTarget ? new Pool(o.restTarget, { connections: o.concurrency, pipelining: 1 }) : undefined;
  let grpc: ClientHttp2Session | undefined;
  const grpcSession = () => {
    if (!grpc || grpc.closed || grpc.destroyed) {
      grpc = connect(`http://${o.grpcTarget}`);
      grpc.on('error', () => {});
    }
    return grpc;
  };
  const interval = o.ratePerSecond ? 1000 / o.ratePerSecond : 0;
  let nextStart = performance.now();
  const iterator = lines[Symbol.asyncIterator]();
  // Workers pull lines one at a time, so reading the file never races ahead of sending.
  let reading: Promise<IteratorResult<Line>> = Promise.resolve({ done: false, value: undefined as unknown as Line });
  const next = (): Promise<IteratorResult<Line>> => (reading = reading.then(() => iterator.next()));

  const worker = async () => {
    for (let r = await next(); !r.done; r = await next()) {
      const item = r.value;
      records++;
      if ('error' in item) {
        skip('unreadable');
        continue;
      }
      const rec = item.record;
      if (o.model !== undefined && rec.model !== o.model) {
        skip('other_model');
        continue;
      }
      if ((rec.protocol === 'rest' && !rest) || (rec.protocol === 'grpc' && !o.grpcTarget)) {
        skip(rec.protocol === 'rest' ? 'no_rest_target' : 'no_grpc_target');
        continue;
      }
      if (interval > 0) {
        const wait = nextStart - performance.now();
        nextStart = Math.max(nextStart, performance.now()) + interval;
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
      const answer = rec.protocol === 'rest' ? await sendRecordRest(rest!, rec, o) : await sendGrpc(grpcSession(), rec.method ?? '', requestBytes(rec), o.timeoutMs, o.version);
      replayed++;
      latencies.push(answer.seconds);
      const recorded = responseBytes(rec);
      const recordedLatency = rec.latencyMs === undefined ? undefined : rec.latencyMs / 1000;
      if (!answer.ok) {
        errorCount++;
        errors[answer.kind] = (errors[answer.kind] ?? 0) + 1;
        if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push({ line: item.line, error: answer.error });
        comparison.addCandidateError(recordedLatency, answer.seconds);
      } else {
        const before = recorded ? outputsOf(rec, recorded) : undefined;
        const after = outputsOf(rec, answer.body);
        if (!before) skip('no_recorded_answer');
        else if (!after) {
          errorCount++;
          errors['undecodable_answer'] = (errors['undecodable_answer'] ?? 0) + 1;
          if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push({ line: item.line, error: 'the answer is not a TF Serving / KServe v2 response' });
          comparison.addCandidateError(recordedLatency, answer.seconds);
        } else comparison.add(before, after, { ...(recordedLatency !== undefined ? { primary: recordedLatency } : {}), candidate: answer.seconds });
      }
      if (o.onProgress) {
        const s = comparison.summary();
        o.onProgress({ done: records, errors: errorCount, disagreeingRows: s.disagreeingRows, rows: s.rows });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  } finally {
    await rest?.close().catch(() => {});
    grpc?.close();
  }
  const summary = comparison.summary();
  const sorted = [...latencies].sort((a, b) => a - b);
  const report: ReplayReport = {
    records,
    replayed,
    skipped,
    errors,
    errorSamples,
    comparison: summary,
    verdict: judgeDivergence(summary, o.thresholds),
    thresholds: o.thresholds,
  };
  if (sorted.length > 0) report.latencySeconds = { p50: quantileSorted(sorted, 0.5), p90: quantileSorted(sorted, 0.9), p99: quantileSorted(sorted, 0.99), max: sorted[sorted.length - 1]! };
  return report;
}

/** The REST path to send: the recorded one (or one built from model and api), pinned to `version` when given. */
export function replayPath(rec: CaptureRecord, version: string | undefined): string | undefined {
  const path = rec.path ?? (rec.api === 'infer' ? `/v2/models/${encodeURIComponent(rec.model)}/infer` : `/v1/models/${encodeURIComponent(rec.model)}:${rec.api ?? 'predict'}`);
  if (version === undefined) return path;
  const t = parseRestPath(path);
  return t && t.model !== '' ? pinnedPath(t, version) : undefined;
}

function sendRecordRest(pool: Pool, rec: CaptureRecord, o: ReplayOptions): Promise<Answer> {
  const path = replayPath(rec, o.version);
  if (path === undefined) return Promise.resolve({ ok: false, kind: 'bad_path', error: `cannot pin version ${o.version} in ${rec.path}`, seconds: 0 });
  return sendRest(pool, path, rec.contentType ?? '', requestBytes(rec), o.timeoutMs, rec.requestId ? { 'x-replay-of': rec.requestId } : {});
}

function outputsOf(rec: CaptureRecord, body: Buffer): DecodedTensor[] | undefined {
  return answerOutputs(rec.protocol, rec.method, requestBytes(rec), body);
}
