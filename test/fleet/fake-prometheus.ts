// A stand-in for Prometheus' /api/v1/query on loopback (a real HTTP server, answering from
// a table), for the source's failure-mode tests: the real Prometheus is used by
// prometheus-e2e.test.ts. It records every query and evaluation time it was asked.
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** Per window ("20s"), per version: requests and error ratio; ratio as text allows "NaN". */
export type FakeData = Record<string, Record<string, { total: number; ratio: number | string }>>;

export type FakeMode =
  | { kind: 'data'; model: string; data: FakeData }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'hang' };

export interface FakePrometheus {
  url: string;
  mode: FakeMode;
  queries: Array<{ query: string; time: number }>;
  close(): Promise<void>;
}

const vector = (result: unknown[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });

export async function startFakePrometheus(mode: FakeMode): Promise<FakePrometheus> {
  const hanging = new Set<ServerResponse>();
  const fake: FakePrometheus = { url: '', mode, queries: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const query = form.get('query') ?? '';
      const time = Number(form.get('time'));
      fake.queries.push({ query, time });
      const m = fake.mode;
      if (m.kind === 'hang') {
        hanging.add(res);
        return;
      }
      if (m.kind === 'status') {
        res.writeHead(m.status, { 'content-type': 'application/json' });
        res.end(m.body);
        return;
      }
      // The window is the range selector as the builders print it ("20s"); the error-ratio
      // query is the one that divides.
      const window = /\[([0-9a-z]+)\]/.exec(query)?.[1] ?? '';
      const isRatio = query.includes('\n/\n');
      const rows = m.data[window] ?? {};
      const result = Object.entries(rows).map(([version, r]) => ({
        metric: { model: m.model, version },
        value: [time, String(isRatio ? r.ratio : r.total)],
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(vector(result));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      for (const r of hanging) r.destroy();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return fake;
}

/** A URL nothing listens on: a port taken and released. */
export async function closedUrl(): Promise<string> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
