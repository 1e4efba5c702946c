// The proxy's clients to the upstream model server: the REST keep-alive pool (undici), the
// native HTTP/1.1 client, the fair share of their connections between models, and the gRPC
// session. Opening them connects nothing yet; close() ends them after the listeners.
import { Pool } from 'undici';
import type { ProxyConfig } from './config.ts';
import { FairShare } from './fair-share.ts';
import { UpstreamSession } from './grpc.ts';
import type { GrpcUpstream } from './grpc.ts';
import { FrameUpstream } from './h2/index.ts';
import { H1Upstream } from './h1-upstream.ts';
import { upstreamTls } from './tls-config.ts';

export interface Upstreams {
  /** REST: keep-alive pool to `rest.upstream` (absent without REST). */
  pool: Pool | undefined;
  /** REST: the native client for bodiless and small gathered requests (`rest.client: native`). */
  native: H1Upstream | undefined;
  /** REST: each model's share of the `limits.upstreamConnections` connections. */
  slots: FairShare;
  /** gRPC: the HTTP/2 client of `grpc.upstream`, frame-level or node:http2 (absent without gRPC). */
  grpc: GrpcUpstream | undefined;
  /** GET of a JSON status path on the REST upstream (the catalog's version polling). */
  statusGet: ((path: string) => Promise<{ status: number; body: unknown }>) | undefined;
  close(): Promise<void>;
}

export function openUpstreams(config: ProxyConfig): Upstreams {
  // Keep-alive pool to the REST upstream, `limits.upstreamConnections` connections, shared
  // fairly between models (fair-share.ts): a slow model cannot hold them all.
  const connections = config.limits.upstreamConnections;
  const connectTimeoutMs = Math.min(config.timeouts.upstreamMs, 10_000);
  const slots = new FairShare(connections, config.limits.modelConnections);
  // TLS to an https:// upstream: its CA, client certificate and server name (upstreamTls).
  const restTls = config.rest?.upstream.startsWith('https:') ? upstreamTls(config.rest.upstreamTls) : undefined;
  const pool = config.rest
    ? new Pool(config.rest.upstream, { connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: connectTimeoutMs, ...restTls } })
    : undefined;
  // The native HTTP/1.1 client for bodiless and small gathered requests (rest.ts decides per
  // request); same bounds as the pool above.
  const native = config.rest?.client === 'native'
    ? new H1Upstream({ origin: config.rest.upstream, connections, connectTimeoutMs, bodyTimeoutMs: config.timeouts.upstreamMs, idleTimeoutMs: 30_000 })
    : undefined;
  const grpc = !config.grpc ? undefined
    : config.grpc.client === 'frames' ? new FrameUpstream(config.grpc.upstream, { tls: upstreamTls(config.grpc.upstreamTls) })
    : new UpstreamSession(config.grpc.upstream, upstreamTls(config.grpc.upstreamTls));

  return {
    pool,
    native,
    slots,
    grpc,
    statusGet: pool ? statusGetter(pool) : undefined,
    close: async () => {
      grpc?.close();
      native?.close();
      await pool?.destroy();
    },
  };
}

function statusGetter(pool: Pool): NonNullable<Upstreams['statusGet']> {
  return async (path) => {
    const r = await pool.request({ path, method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
    const text = await r.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: r.statusCode, body };
  };
}
