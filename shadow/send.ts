// Sending one captured or mirrored request to a server (or one version of it) and reading
// its answer: REST through an undici Pool, gRPC as one unary call on an HTTP/2 session.
// Shared by `modelgate replay` (replay.ts) and shadow traffic (mirror.ts), so both send,
// pin and decode a request the same way.
import { constants as h2, type ClientHttp2Session } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { responseTensors, type DecodedTensor } from '../drift/index.ts';
import { decodeGrpcBodies } from '../drift/grpc-bodies.ts';
import { FrameReader, KNOWN_METHODS, frame, pinRequestVersion, type H1Upstream } from '../proxy/index.ts';

/** The target's answer, or why there was none (`kind` groups errors: http_503, grpc_14, network...). */
export type Answer = { ok: true; body: Buffer; seconds: number } | { ok: false; error: string; kind: string; seconds: number };

// gRPC answers are read up to this size; a larger one ends the call (the proxy's own limit is the usual bound).
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** POSTs `body` to `path`; an HTTP status of 400 or more is an error answer. */
export async function sendRest(pool: Pool, path: string, contentType: string, body: Uint8Array, timeoutMs: number, headers: Record<string, string> = {}): Promise<Answer> {
  const start = performance.now();
  const seconds = () => (performance.now() - start) / 1000;
  try {
    const res = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': contentType || 'application/json', ...headers },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const answer = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 400) return { ok: false, kind: `http_${res.statusCode}`, error: `HTTP ${res.statusCode}: ${answer.toString('utf8').slice(0, 200)}`, seconds: seconds() };
    return { ok: true, body: answer, seconds: seconds() };
  } catch (e) {
    return { ok: false, kind: 'network', error: e instanceof Error ? e.message : String(e), seconds: seconds() };
  }
}

/**
 * The same as sendRest on the proxy's own HTTP/1.1 client (proxy/h1-upstream.ts): a plain
 * http upstream, one write per request, about a third of undici's CPU per request.
 */
export function sendRestH1(client: H1Upstream, path: string, contentType: string, body: Uint8Array, timeoutMs: number, headers: Record<string, string> = {}): Promise<Answer> {
  const start = performance.now();
  const seconds = () => (performance.now() - start) / 1000;
  return new Promise<Answer>((resolve) => {
    let status = 0;
    const chunks: Buffer[] = [];
    let abort: ((err?: Error) => void) | undefined;
    let settled = false;
    const done = (a: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const timer = setTimeout(() => {
      abort?.(new Error(`no answer within ${timeoutMs} ms`));
      done({ ok: false, kind: 'network', error: `no answer within ${timeoutMs} ms`, seconds: seconds() });
    }, timeoutMs);
    const raw = ['content-type', contentType || 'application/json'];
    for (const [k, v] of Object.entries(headers)) raw.push(k, v);
    client.request({ method: 'POST', path, headers: raw, body: Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength) }, {
      onConnect: (a) => void (abort = a),
      onHead: (code) => {
        status = code;
      },
      onData: (chunk) => {
        chunks.push(chunk);
        return true;
      },
      onComplete: () => {
        const answer = Buffer.concat(chunks);
        if (status >= 400) done({ ok: false, kind: `http_${status}`, error: `HTTP ${status}: ${answer.toString('utf8').slice(0, 200)}`, seconds: seconds() });
        else done({ ok: true, body: answer, seconds: seconds() });
      },
      onError: (err) => done({ ok: false, kind: 'network', error: err.message, seconds: seconds() }),
    });
  });
}

/**
 * One unary gRPC call of `method` with `message` (without its 5-byte prefix), pinned to
 * `version` in its ModelSpec or KServe version when given; the answer is the first response
 * message.
 */
export function sendGrpc(session: ClientHttp2Session, method: string, message: Uint8Array, timeoutMs: number, version?: string): Promise<Answer> {
  const start = performance.now();
  const seconds = () => (performance.now() - start) / 1000;
  const shape = KNOWN_METHODS.get(method);
  if (!shape) return Promise.resolve({ ok: false, kind: 'unknown_method', error: `unknown gRPC method ${JSON.stringify(method)}`, seconds: 0 });
  const pinned = version === undefined ? message : pinRequestVersion(shape, message, version);
  return new Promise<Answer>((resolve) => {
    let stream: ReturnType<ClientHttp2Session['request']>;
    try {
      stream = session.request({
        [h2.HTTP2_HEADER_METHOD]: 'POST',
        [h2.HTTP2_HEADER_PATH]: method,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.round(timeoutMs))}m`,
      });
    } catch (e) {
      resolve({ ok: false, kind: 'network', error: e instanceof Error ? e.message : String(e), seconds: seconds() });
      return;
    }
    const reader = new FrameReader(MAX_ANSWER_BYTES);
    let first: Buffer | undefined;
    let status: string | undefined;
    let statusMessage = '';
    const timer = setTimeout(() => stream.close(h2.NGHTTP2_CANCEL), timeoutMs + 1000);
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    stream.on('trailers', (t) => {
      status = String(t['grpc-status'] ?? status ?? '');
      statusMessage = decodeURIComponent(String(t['grpc-message'] ?? ''));
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) first ??= Buffer.from(m.message);
      } catch {
        stream.close(h2.NGHTTP2_CANCEL);
      }
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      if (status === '0' && first) resolve({ ok: true, body: first, seconds: seconds() });
      else if (status !== undefined && status !== '' && status !== '0') resolve({ ok: false, kind: `grpc_${status}`, error: `gRPC status ${status}${statusMessage ? `: ${statusMessage}` : ''}`, seconds: seconds() });
      else resolve({ ok: false, kind: 'network', error: 'the call ended without a status', seconds: seconds() });
    });
    stream.end(frame(pinned));
  });
}

/** The outputs of an answer: a TF Serving / KServe v2 JSON body, or a gRPC response message of `method`. */
export function answerOutputs(protocol: 'rest' | 'grpc', method: string | undefined, request: Uint8Array, answer: Uint8Array): DecodedTensor[] | undefined {
  if (protocol === 'rest') return responseTensors(answer);
  try {
    return decodeGrpcBodies(method ?? '', asBuffer(request), asBuffer(answer))?.outputs;
  } catch {
    return undefined;
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
