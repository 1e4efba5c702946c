// Test fixtures for traffic: a fault injector that sits between the proxy and the real
// model server (it fails a share of one version's predictions when told to), and a load
// generator that only talks to loopback.
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface FaultInjector {
  url: string;
  /** Fail this share (0..1) of predict calls to the version, deterministically (every n-th of 10). */
  failVersion(version: string, share: number): void;
  /** Cut the connection of the next `n` requests without an answer (an upstream reset). */
  resetNext(n: number): void;
  close(): Promise<void>;
}

export async function startFaultInjector(upstream: string): Promise<FaultInjector> {
  const target = new URL(upstream);
  let faulty: { version: string; share: number } | undefined;
  let count = 0;
  let resets = 0;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (resets > 0 && req.method === 'POST') {
      resets--;
      req.socket.destroy();
      return;
    }
    if (faulty && url.includes(`/versions/${faulty.version}:`) && req.method === 'POST') {
      // Counting in tens gives exactly `share` failures per ten requests, so the expected
      // error ratio is known without randomness.
      const failing = count++ % 10 < Math.round(faulty.share * 10);
      if (failing) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'injected failure' }));
        return;
      }
    }
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failVersion(version, share) {
      faulty = { version, share };
      count = 0;
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

export interface Load {
  sent(): number;
  stop(): Promise<void>;
}

/** `workers` loops posting `body` to `url`, pausing `pauseMs` between requests. */
export function startLoad(url: string, body: unknown, workers = 2, pauseMs = 15): Load {
  let running = true;
  let sent = 0;
  const payload = JSON.stringify(body);
  const loop = async () => {
    while (running) {
      try {
        const r = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
      } catch {
        // A failed request is part of the traffic; the proxy counts it.
      }
      sent++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
