// A small client for the Prometheus HTTP API's instant query (`GET|POST /api/v1/query`),
// all the fleet source needs. It never throws: every failure (connection refused, timeout,
// HTTP error, `status: "error"`, a body that is not the documented shape) comes back as
// `{ ok: false, reason }`, because a source that is down makes a verdict inconclusive, it
// does not stop the tick.
//
// Response shape from prometheus/prometheus docs/querying/api.md ("Instant queries",
// "Expression query result formats"): `{"status":"success","data":{"resultType":"vector",
// "result":[{"metric":{...},"value":[<unix seconds>,"<value as text>"]}]}}`; errors are
// `{"status":"error","errorType":"...","error":"..."}` with HTTP 400, 422 or 503. Sample
// values are strings so that "NaN", "+Inf" and "-Inf" survive JSON.

export interface PromSample {
  labels: Readonly<Record<string, string>>;
  /** May be NaN or ±Infinity: the caller decides what that means. */
  value: number;
}

export type PromQueryResult = { ok: true; samples: PromSample[] } | { ok: false; reason: string };

export interface PromApiOptions {
  /** Base URL, e.g. http://prometheus:9090 (a path prefix such as /prometheus is kept). */
  url: string;
  timeoutMs: number;
  /** Extra request headers, e.g. Authorization for a Prometheus behind a gateway. */
  headers?: Readonly<Record<string, string>>;
  /** Injected for tests of odd transports; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** Longest error text kept in a reason: enough for PromQL parse errors, not a whole HTML page. */
const MAX_REASON_CHARS = 300;

const clip = (s: string) => (s.length > MAX_REASON_CHARS ? `${s.slice(0, MAX_REASON_CHARS)}…` : s);

/**
 * Runs one instant query at `timeSec` (unix seconds). POST with a form body, as the docs
 * allow, so long expressions never hit URL length limits.
 */
export async function queryInstant(opts: PromApiOptions, expr: string, timeSec: number): Promise<PromQueryResult> {
  const doFetch = opts.fetch ?? fetch;
  const endpoint = `${opts.url.replace(/\/+$/, '')}/api/v1/query`;
  const body = new URLSearchParams({ query: expr, time: timeSec.toFixed(3) });
  let status: number;
  let text: string;
  try {
    const res = await doFetch(endpoint, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError') return { ok: false, reason: `Prometheus at ${opts.url} did not answer within ${opts.timeoutMs} ms` };
    return { ok: false, reason: `Prometheus at ${opts.url} unreachable: ${err.cause?.code ?? err.message}` };
  }
  return parseQueryResponse(status, text);
}

/** Turns an HTTP status and body into a result (exported for the table tests). */
export function parseQueryResponse(status: number, text: string): PromQueryResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: `Prometheus answered HTTP ${status} with a body that is not JSON: ${clip(JSON.stringify(text))}` };
  }
  if (typeof json !== 'object' || json === null) return { ok: false, reason: `Prometheus answered HTTP ${status} with ${clip(text)}` };
  const j = json as { status?: unknown; errorType?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (j.status === 'error') return { ok: false, reason: `Prometheus query failed (HTTP ${status}, ${String(j.errorType)}): ${clip(String(j.error))}` };
  if (j.status !== 'success' || status < 200 || status >= 300) return { ok: false, reason: `Prometheus answered HTTP ${status} with status ${JSON.stringify(j.status)}` };
  const data = j.data;
  if (!data || data.resultType !== 'vector' || !Array.isArray(data.result)) {
    return { ok: false, reason: `Prometheus answered a ${JSON.stringify(data?.resultType)} where an instant vector was expected` };
  }
  const samples: PromSample[] = [];
  for (const r of data.result as unknown[]) {
    const item = r as { metric?: unknown; value?: unknown };
    const value = Array.isArray(item.value) ? item.value[1] : undefined;
    if (typeof item.metric !== 'object' || item.metric === null || typeof value !== 'string') {
      return { ok: false, reason: `Prometheus answered a vector sample without metric or value: ${clip(JSON.stringify(r))}` };
    }
    // Number("NaN") is NaN and Number("+Inf") is NaN too, so the infinities are spelled out.
    const v = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value);
    samples.push({ labels: item.metric as Record<string, string>, value: v });
  }
  return { ok: true, samples };
}
