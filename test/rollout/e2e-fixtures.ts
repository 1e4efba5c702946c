// Fixtures for the end-to-end rollout tests: a "chaos" upstream that sits between the proxy
// and the real model server and makes version 2 bad on demand (fails some of its requests
// or delays them), and a load generator that talks only to loopback. Test fixtures, not
// mocks: every request still reaches the real server unless the fixture fails it.
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
  close(): Promise<void>;
}

export async function startChaos(upstream: string): Promise<Chaos> {
  const target = new URL(upstream);
  const rules = new Map<string, ChaosRule & { seen: number; failed: number }>();
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface LoadStats {
  sent: number;
  /** Responses by `${version}:${status}`. */
  byVersionStatus: Map<string, number>;
}

export interface Load {
  stats(): LoadStats;
  /** Forget what was counted so far; requests already in flight are not counted either. */
  reset(): void;
  stop(): Promise<void>;
}

/** `workers` loops posting bodies from `body(i)` to `url` (loopback only) as fast as answers come. */
export function startLoad(url: string, body: (i: number) => unknown, workers: number): Load {
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`load goes to loopback only, not ${url}`);
  let running = true;
  let stats: LoadStats = { sent: 0, byVersionStatus: new Map() };
  let i = 0;
  let generation = 0;
  const loop = async () => {
    while (running) {
      const payload = JSON.stringify(body(i++));
      const started = generation;
      let key: string;
      try {
        const r = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        key = `${r.headers.get(VERSION_HEADER) ?? '?'}:${r.status}`;
      } catch {
        key = '?:error';
      }
      if (started !== generation) continue; // sent before the last reset
      stats.byVersionStatus.set(key, (stats.byVersionStatus.get(key) ?? 0) + 1);
      stats.sent++;
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    stats: () => stats,
    reset: () => {
      generation++;
      stats = { sent: 0, byVersionStatus: new Map() };
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
