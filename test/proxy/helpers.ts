// Test helpers for the proxy: small real upstreams on 127.0.0.1 port 0, and the proxy
// fixture of test/helpers/proxy.ts (a proxy built from a YAML-shaped config through the
// real validator).
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { eventually } from '../helpers/repo.ts';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface Upstream {
  url: string;
  port: number;
  server: Server;
  seen: Seen[];
  close(): Promise<void>;
}

/** A node:http upstream whose handler gets the fully read request body. */
export async function startUpstream(
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
  port = 0,
): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An upstream that answers like TF Serving REST: no version header, status at GET /v1/models/{m}. */
export function tfServingLike(versions: Record<string, string[]>): (req: IncomingMessage, res: ServerResponse, body: Buffer) => void {
  return (req, res) => {
    const m = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?(?::predict)?$/.exec(req.url ?? '');
    const model = m?.[1];
    const served = model ? versions[model] : undefined;
    res.setHeader('content-type', 'application/json');
    if (!m || !served || (m[2] && !served.includes(m[2]))) {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: 'Servable not found' }));
      return;
    }
    if (req.method === 'GET') {
      res.end(JSON.stringify({ model_version_status: served.map((v) => ({ version: v, state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } })) }));
      return;
    }
    res.end(JSON.stringify({ predictions: [1] }));
  };
}

/** The proxy fixture (test/helpers/proxy.ts), kept here for the proxy tests' imports. */
export { startProxy } from '../helpers/proxy.ts';

/** A seeded PRNG so split tests are repeatable. */
export { seededRandom as seeded } from '../../common/random.ts';

/** Parses Prometheus text into `name{labels} value` lookups. */
export function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export function sample(metrics: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string>): number | undefined {
  return metrics.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Waits until `fn` is truthy (for outcomes recorded after the response). */
export function until<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  return eventually(fn, timeoutMs, 20);
}

/**
 * Writes raw bytes to `port` and reads whatever comes back until the peer closes or 1.5 s
 * pass. With `halfCloseAfterMs`, the write side is ended (FIN) that long after the write.
 */
export function rawExchange(port: number, raw: string, halfCloseAfterMs?: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 1500);
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('end', done);
    s.on('error', done);
    s.write(raw, 'latin1');
    if (halfCloseAfterMs !== undefined) setTimeout(() => s.end(), halfCloseAfterMs);
  });
}

/** The status codes of the HTTP/1.1 status lines in a raw answer, in order. */
export const statusCodes = (text: string): number[] => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
