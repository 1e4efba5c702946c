// Benchmark proxies, one per process so their CPU can be measured alone:
//   modelgate   createProxy with everything on (metrics, tracing, catalog, split config),
//               the configured default REST upstream client
//   modelgate-native / modelgate-undici   the same with rest.client forced (A/B of the client)
//   undici      the bare forwarding core: node:http + undici Pool, no labels or metrics
//   http-proxy  node-http-proxy 1.18.1 with a keep-alive agent (the design card's choice)
//   modelgate-grpc  createProxy with only the gRPC listener (upstream is host:port)
//   net-pipe    the floor of any relay written on node:net: each client connection gets its
//               own upstream connection and bytes are copied both ways as they come (no
//               parsing, no header edits, no metrics)
// Prints "READY {port}".
import { createServer, Agent } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { Registry } from 'prom-client';
import { Issues } from '../../common/index.ts';
import { createProxy, readProxyConfig } from '../../proxy/index.ts';

const [mode, upstream] = process.argv.slice(2) as [string, string];

async function main(): Promise<number> {
  if (mode === 'modelgate' || mode === 'modelgate-native' || mode === 'modelgate-undici') {
    const issues = new Issues();
    const client = mode === 'modelgate' ? {} : { client: mode.slice('modelgate-'.length) };
    const config = readProxyConfig(
      {
        rest: { host: '127.0.0.1', port: 0, upstream, ...client },
        admin: { port: 0 },
        // A split on another model keeps the split lookup on the path without changing routing.
        splits: { other: { stable: '1', canary: '2', weight: 10 } },
        latencyThresholds: [0.05, 0.3],
      },
      'proxy',
      issues,
    );
    if (!issues.ok) throw new Error(JSON.stringify(issues.errors));
    const proxy = await createProxy({ config, registry: new Registry() });
    return Number(new URL(proxy.restUrl!).port);
  }
  if (mode === 'modelgate-grpc') {
    const issues = new Issues();
    const config = readProxyConfig(
      { grpc: { host: '127.0.0.1', port: 0, upstream }, admin: { port: 0 }, splits: { other: { stable: '1', canary: '2', weight: 10 } }, latencyThresholds: [0.05, 0.3] },
      'proxy',
      issues,
    );
    if (!issues.ok) throw new Error(JSON.stringify(issues.errors));
    const proxy = await createProxy({ config, registry: new Registry() });
    return Number(proxy.grpcAddress!.split(':').pop());
  }
  if (mode === 'undici') {
    const pool = new Pool(upstream, { connections: 128, keepAliveTimeout: 30_000 });
    const server = createServer((req, res) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'host' && k !== 'connection') headers[k] = v;
      pool.dispatch(
        { path: req.url!, method: req.method!, headers, body: req.method === 'GET' ? null : req },
        {
          onRequestStart() {},
          onResponseStart(_c, status, h) {
            const out: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(h)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
            res.writeHead(status, out);
          },
          onResponseData(_c, chunk) {
            res.write(chunk);
          },
          onResponseEnd() {
            res.end();
          },
          onResponseError() {
            if (!res.headersSent) res.writeHead(502);
            res.end();
          },
        },
      );
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }
  if (mode === 'net-pipe') {
    const target = new URL(upstream);
    const server = createNetServer((client) => {
      const up = connect(Number(target.port), target.hostname);
      client.setNoDelay(true);
      up.setNoDelay(true);
      client.on('data', (c: Buffer) => up.write(c));
      up.on('data', (c: Buffer) => client.write(c));
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }
  if (mode === 'http-proxy') {
    // Not a dependency of modelgate: `npm install --prefix /tmp/benchdeps http-proxy@1.18.1`
    // and set MODELGATE_BENCH_DEPS=/tmp/benchdeps.
    const require = createRequire(`${process.env['MODELGATE_BENCH_DEPS'] ?? process.cwd()}/`);
    const httpProxy = require('http-proxy') as { createProxyServer(o: object): { web(req: unknown, res: unknown): void; on(e: string, f: (...a: unknown[]) => void): void } };
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    const proxy = httpProxy.createProxyServer({ target: upstream, agent, proxyTimeout: 30_000 });
    proxy.on('error', (_e, _req, res) => {
      const r = res as { headersSent: boolean; writeHead(s: number): void; end(): void };
      if (!r.headersSent) r.writeHead(502);
      r.end();
    });
    const server = createServer((req, res) => proxy.web(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().then(
  (port) => console.log(`READY ${JSON.stringify({ port })}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
