// Shadow traffic: for a model whose rollout is in its shadow step, a sampled share of the
// requests the split sent to stable is sent again, to the candidate version, and the two
// answers are compared (compare.ts). The client only ever gets the primary answer: the
// proxy hands the bodies over after answering (proxy/observers.ts), and the mirror has
// its own connections and a bounded queue: when the queue is full a copy is dropped and
// counted, never queued behind client traffic. The candidate is pinned in the REST path or
// the gRPC message, so the mirror works in front of any TF Serving / KServe v2 server.
import { connect, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Pool } from 'undici';
import { LABEL, SHADOW_METRIC, type Clock } from '../common/index.ts';
import { readClientTls, type ClientTls, type ClientTlsFiles } from '../common/tls.ts';
import { H1Upstream, parseRestPath, pinnedPath, type BodySample } from '../proxy/index.ts';
import { Comparison, judgeDivergence, type CompareSettings, type ComparisonSummary, type DivergenceThresholds, type DivergenceVerdict } from './compare.ts';
import { answerOutputs, sendGrpc, sendRest, sendRestH1, type Answer } from './send.ts';

/** What to mirror for one model: to which version, how much of it, compared how. */
export interface MirrorPlan {
  candidate: string;
  /** Share of the model's split-routed requests mirrored, 0..1. */
  share: number;
  compare: CompareSettings;
  /** When this shadow step started (ms): a new step starts a new comparison. */
  sinceMs: number;
}

export interface MirrorOptions {
  /** The proxy's REST upstream (base URL) and gRPC upstream (host:port), with their TLS settings. */
  rest?: { upstream: string; tls?: ClientTlsFiles | undefined };
  grpc?: { upstream: string; tls?: ClientTlsFiles | undefined };
  /** The model's current plan, or undefined when it has no shadow step running. */
  plan(model: string): MirrorPlan | undefined;
  registry: Registry;
  clock: Clock;
  /** Mirrored requests in flight at most (the mirror's connection budget). Default 4. */
  maxInFlight?: number;
  /** Copies waiting for a slot at most; beyond, dropped and counted. Default 64. */
  maxQueued?: number;
  timeoutMs?: number;
}

export const MIRROR_DEFAULTS = { maxInFlight: 4, maxQueued: 64, timeoutMs: 10_000 } as const;

/** Comparison buckets of |primary - candidate| (scores, probabilities). */
const DIFFERENCE_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1];

/** Marks a mirrored request for the upstream's logs. */
const SHADOW_HEADERS = { 'x-modelgate-shadow': '1' };

export type MirrorOutcome = 'compared' | 'candidate_error' | 'mismatched' | 'dropped_queue_full' | 'dropped_undecodable';

interface Run {
  model: string;
  plan: MirrorPlan;
  comparison: Comparison;
  dropped: number;
}

export interface MirrorView {
  model: string;
  candidate: string;
  share: number;
  sinceMs: number;
  dropped: number;
  summary: ComparisonSummary;
}

export class Mirror {
  readonly #o: MirrorOptions;
  readonly #runs = new Map<string, Run>();
  readonly #queue: { run: Run; sample: BodySample }[] = [];
  readonly #pool: Pool | undefined;
  /** A plain http upstream: the proxy's own HTTP/1.1 client instead of undici. */
  readonly #h1: H1Upstream | undefined;
  readonly #grpcTls: ClientTls | undefined;
  #grpc: ClientHttp2Session | undefined;
  #inFlight = 0;
  #closed = false;
  readonly #idle: Array<() => void> = [];
  readonly #requests: Counter<string>;
  readonly #difference: Histogram<string>;

  constructor(o: MirrorOptions) {
    this.#o = o;
    const restTls = o.rest?.tls ? readClientTls(o.rest.tls) : undefined;
    const connections = o.maxInFlight ?? MIRROR_DEFAULTS.maxInFlight;
    const plain = o.rest !== undefined && o.rest.upstream.startsWith('http:') && !restTls;
    this.#h1 = plain ? new H1Upstream({ origin: new URL(o.rest!.upstream).origin, connections, connectTimeoutMs: 10_000, bodyTimeoutMs: o.timeoutMs ?? MIRROR_DEFAULTS.timeoutMs, idleTimeoutMs: 30_000 }) : undefined;
    this.#pool = o.rest && !plain ? new Pool(o.rest.upstream, { connections, pipelining: 1, ...(restTls ? { connect: { ...restTls } } : {}) }) : undefined;
    this.#grpcTls = o.grpc?.tls ? readClientTls(o.grpc.tls) : undefined;
    this.#requests = new Counter({
      name: SHADOW_METRIC.requests,
      help: 'Mirrored (shadow) requests to a candidate version, by outcome: compared, candidate_error, mismatched (answers of different structure), dropped_queue_full, dropped_undecodable.',
      labelNames: [LABEL.model, LABEL.version, LABEL.outcome],
      registers: [o.registry],
    });
    const runs = this.#runs;
    new Gauge({
      name: SHADOW_METRIC.agreement,
      help: 'Share of compared rows where the candidate answered as the primary did, in the current shadow step.',
      labelNames: [LABEL.model, LABEL.version],
      registers: [o.registry],
      collect() {
        this.reset();
        for (const r of runs.values()) {
          const s = r.comparison.summary();
          if (s.rows > 0) this.set({ [LABEL.model]: r.model, [LABEL.version]: r.plan.candidate }, s.agreement);
        }
      },
    });
    this.#difference = new Histogram({
      name: SHADOW_METRIC.difference,
      help: '|primary - candidate| of each compared score value (probabilities, regression outputs), by output.',
      labelNames: [LABEL.model, LABEL.version, LABEL.output],
      buckets: DIFFERENCE_BUCKETS,
      registers: [o.registry],
    });
  }

  /** The share of a model's requests to copy: its plan's, 0 without one (proxy.onBodies `share`). */
  share(model: string): number {
    return this.#closed ? 0 : (this.#o.plan(model)?.share ?? 0);
  }

  /** Takes one sampled exchange; never throws, never waits. */
  offer(sample: BodySample): void {
    if (this.#closed) return;
    const plan = this.#o.plan(sample.model);
    // Only what the split routed: a client that names a version chose it, and the
    // candidate's own answers are what is being judged.
    if (!plan || sample.pinned || sample.version === plan.candidate) return;
    const run = this.#run(sample.model, plan);
    if (this.#queue.length >= (this.#o.maxQueued ?? MIRROR_DEFAULTS.maxQueued)) {
      run.dropped++;
      this.#count(run, 'dropped_queue_full');
      return;
    }
    this.#queue.push({ run, sample });
    this.#pump();
  }

  /** Judges the model's current shadow step (inconclusive when nothing was compared yet). */
  judge(model: string, thresholds: DivergenceThresholds): { verdict: DivergenceVerdict; summary: ComparisonSummary | undefined; dropped: number } {
    const plan = this.#o.plan(model);
    const run = this.#runs.get(model);
    const current = plan && run && run.plan.sinceMs === plan.sinceMs && run.plan.candidate === plan.candidate ? run : undefined;
    const summary = current?.comparison.summary();
    if (!summary) return { verdict: { verdict: 'inconclusive', reasons: [`0 of ${thresholds.minPairs} compared requests`] }, summary: undefined, dropped: 0 };
    return { verdict: judgeDivergence(summary, thresholds), summary, dropped: current!.dropped };
  }

  /** Every model's current comparison (GET /api/v1/shadow, the status page). */
  views(): MirrorView[] {
    const out: MirrorView[] = [];
    for (const r of this.#runs.values()) {
      const plan = this.#o.plan(r.model);
      if (!plan || plan.sinceMs !== r.plan.sinceMs) continue;
      out.push({ model: r.model, candidate: r.plan.candidate, share: r.plan.share, sinceMs: r.plan.sinceMs, dropped: r.dropped, summary: r.comparison.summary() });
    }
    return out;
  }

  /** Resolves when nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops taking copies, drops what is queued, waits for what is in flight, closes the connections. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    await this.idle();
    this.#grpc?.close();
    this.#h1?.close();
    await this.#pool?.close().catch(() => {});
  }

  #run(model: string, plan: MirrorPlan): Run {
    let run = this.#runs.get(model);
    if (!run || run.plan.sinceMs !== plan.sinceMs || run.plan.candidate !== plan.candidate) {
      const candidate = plan.candidate;
      run = {
        model,
        plan,
        dropped: 0,
        comparison: new Comparison(plan.compare, Math.random, (output, abs) => this.#difference.observe({ [LABEL.model]: model, [LABEL.version]: candidate, [LABEL.output]: output }, abs)),
      };
      this.#runs.set(model, run);
    }
    return run;
  }

  #count(run: Run, outcome: MirrorOutcome): void {
    this.#requests.inc({ [LABEL.model]: run.model, [LABEL.version]: run.plan.candidate, [LABEL.outcome]: outcome });
  }

  #pump(): void {
    const max = this.#o.maxInFlight ?? MIRROR_DEFAULTS.maxInFlight;
    while (this.#inFlight < max && this.#queue.length > 0) {
      const item = this.#queue.shift()!;
      this.#inFlight++;
      void this.#mirror(item.run, item.sample).finally(() => {
        this.#inFlight--;
        if (this.#queue.length > 0) this.#pump();
        else if (this.#inFlight === 0) this.#idle.splice(0).forEach((f) => f());
      });
    }
  }

  async #mirror(run: Run, b: BodySample): Promise<void> {
    try {
      const primary = answerOutputs(b.protocol, b.method, b.requestBody, b.responseBody);
      if (!primary) return this.#count(run, 'dropped_undecodable');
      const answer = await this.#send(run.plan.candidate, b);
      if (answer === undefined) return this.#count(run, 'dropped_undecodable');
      if (!answer.ok) {
        run.comparison.addCandidateError(b.durationSeconds, answer.seconds);
        return this.#count(run, 'candidate_error');
      }
      const candidate = answerOutputs(b.protocol, b.method, b.requestBody, answer.body);
      if (!candidate) {
        run.comparison.addCandidateError(b.durationSeconds, answer.seconds);
        return this.#count(run, 'candidate_error');
      }
      const r = run.comparison.add(primary, candidate, { ...(b.durationSeconds !== undefined ? { primary: b.durationSeconds } : {}), candidate: answer.seconds });
      this.#count(run, r.mismatch ? 'mismatched' : 'compared');
    } catch {
      this.#count(run, 'dropped_undecodable');
    }
  }

  /** The request again, pinned to `version`; undefined when it cannot be pinned or there is no upstream for its protocol. */
  #send(version: string, b: BodySample): Promise<Answer> | undefined {
    const timeoutMs = this.#o.timeoutMs ?? MIRROR_DEFAULTS.timeoutMs;
    if (b.protocol === 'rest') {
      const t = b.path !== undefined ? parseRestPath(b.path) : undefined;
      if (!t || t.model === '') return undefined;
      const path = pinnedPath(t, version);
      if (this.#h1) return sendRestH1(this.#h1, path, b.contentType, b.requestBody, timeoutMs, SHADOW_HEADERS);
      if (!this.#pool) return undefined;
      return sendRest(this.#pool, path, b.contentType, b.requestBody, timeoutMs, SHADOW_HEADERS);
    }
    if (!this.#o.grpc || b.method === undefined) return undefined;
    return sendGrpc(this.#session(), b.method, b.requestBody, timeoutMs, version);
  }

  #session(): ClientHttp2Session {
    if (!this.#grpc || this.#grpc.closed || this.#grpc.destroyed) {
      const g = this.#o.grpc!;
      const tls = this.#grpcTls;
      const opts: SecureClientSessionOptions | undefined = tls ? { ...tls, ALPNProtocols: ['h2'] } : undefined;
      this.#grpc = opts || g.tls ? connect(`https://${g.upstream}`, opts ?? {}) : connect(`http://${g.upstream}`);
      this.#grpc.on('error', () => {});
      this.#grpc.unref();
    }
    return this.#grpc;
  }
}
