// A "chaos" upstream for demos and tests: it sits between the proxy and a real model server
// and makes one version bad on demand — fails a share of its predict requests (503, counted
// in tens so the error ratio is exact), delays them, makes them N times slower, or cuts
// connections. Every request it does not break reaches the real server unchanged.
// Used by `modelgate demo` and by the end-to-end tests. Loopback only.
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { VERSION_HEADER } from '../../common/index.ts';

export interface ChaosRule {
  /** Fail (503) this many of the version's next predict requests; Infinity for all of a share. */
  failFirst?: number;
  /** Fail this share (0..1) of the version's requests, deterministically (n-th of every 10). */
  failShare?: number;
  /** Added latency, ms. */
  delayMs?: number;
  /**
   * Makes the version this many times slower than the upstream actually was for the request
   * (the answer is held for (factor − 1) × the upstream time): "5x slower" stays 5x when a
   * busy machine makes every request slower.
   */
  slowdown?: number;
  /** With `slowdown`: hold the answer at least this long (ms), whatever the upstream took. */
  minHoldMs?: number;
}

export interface Chaos {
  url: string;
  set(version: string, rule: ChaosRule | undefined): void;
  /** Cut the connection of the next `n` POST requests without an answer (an upstream reset). */
  resetNext(n: number): void;
  close(): Promise<void>;
}

export async function startChaos(upstream: string): Promise<Chaos> {
  const target = new URL(upstream);
  const rules = new Map<string, ChaosRule & { seen: number; failed: number }>();
  let resets = 0;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (resets > 0 && req.method === 'POST') {
      resets--;
      req.socket.destroy();
      return;
    }
    const m = /\/versions\/([^/:]+):/.exec(url);
    const rule = m && req.method === 'POST' ? rules.get(m[1]!) : undefined;
    const forward = () => {
      const started = performance.now();
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: url, headers: req.headers }, (ur) => {
        if (rule?.slowdown && rule.slowdown > 1) {
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            const took = performance.now() - started;
            setTimeout(() => {
              res.writeHead(ur.statusCode ?? 502, ur.headers);
              res.end(Buffer.concat(chunks));
            }, Math.max((rule.slowdown! - 1) * took, rule.minHoldMs ?? 0));
          });
          return;
        }
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    };
    if (rule) {
      const n = rule.seen++;
      const byCount = rule.failFirst !== undefined && rule.failed < rule.failFirst;
      const byShare = rule.failShare !== undefined && n % 10 < Math.round(rule.failShare * 10);
      if (byCount || byShare) {
        rule.failed++;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json', [VERSION_HEADER]: m![1]! });
        res.end(JSON.stringify({ error: 'injected failure' }));
        return;
      }
      if (rule.delayMs) {
        setTimeout(forward, rule.delayMs);
        return;
      }
    }
    forward();
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set(version, rule) {
      if (rule) rules.set(version, { ...rule, seen: 0, failed: 0 });
      else rules.delete(version);
    },
    resetNext(n) {
      resets = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
