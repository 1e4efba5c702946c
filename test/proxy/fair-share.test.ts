// One slow model cannot starve another: each model holds at most limits.modelConnections of
// the limits.upstreamConnections REST upstream connections, and a freed connection goes to
// the waiting model that holds the fewest.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { FairShare } from '../../proxy/fair-share.ts';
import { startProxy, startUpstream, until } from './helpers.ts';

describe('FairShare', () => {
  const waiter = (log: string[], name: string) => ({ onSlot: () => log.push(name) });

  test('a model gets slots up to its own limit, then waits while other models still get theirs', () => {
    const f = new FairShare(4, 2);
    const log: string[] = [];
    assert.equal(f.acquire('slow', waiter(log, 's1')), true);
    assert.equal(f.acquire('slow', waiter(log, 's2')), true);
    assert.equal(f.acquire('slow', waiter(log, 's3')), false);
    assert.equal(f.acquire('fast', waiter(log, 'f1')), true);
    assert.equal(f.inUse, 3);
    assert.equal(f.queued, 1);
  });

  test('a freed slot goes to the waiting model holding the fewest, not to the longest queue', () => {
    const f = new FairShare(2, 2);
    const log: string[] = [];
    f.acquire('slow', waiter(log, 's1'));
    f.acquire('slow', waiter(log, 's2'));
    f.acquire('slow', waiter(log, 's3'));
    f.acquire('fast', waiter(log, 'f1'));
    f.release('slow');
    assert.deepEqual(log, ['f1']);
    f.release('fast');
    assert.deepEqual(log, ['f1', 's3']);
  });

  test('a model\'s own waiting requests are not overtaken by its newer ones, and a cancelled waiter is skipped', () => {
    const f = new FairShare(1, 1);
    const log: string[] = [];
    f.acquire('m', waiter(log, 'a'));
    const b = waiter(log, 'b');
    assert.equal(f.acquire('m', b), false);
    assert.equal(f.acquire('m', waiter(log, 'c')), false);
    f.cancel('m', b);
    f.release('m');
    assert.deepEqual(log, ['c']);
    f.release('m');
    assert.equal(f.inUse, 0);
    assert.equal(f.queued, 0);
  });
});

function p99(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!;
}

for (const client of ['native', 'undici'] as const) {
  test(`${client} client: a fast model's p99 stays within 2x its unloaded p99 while a slow model saturates the proxy`, { timeout: 90_000 }, async (t) => {
    // The slow model's requests are held until released: with one pool for all models
    // (the old behaviour) a fast request would wait for that release, i.e. forever here.
    const held: ServerResponse[] = [];
    let holding = true;
    const up = await startUpstream((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.includes('/slow') && holding) held.push(res);
      else res.end('{"predictions":[1]}');
    });
    // The default limits: 128 connections, 64 per model.
    const { proxy } = await startProxy({ rest: { host: '127.0.0.1', port: 0, upstream: up.url, client } });
    const slowAgent = new Agent({ connections: 200 });
    const fastAgent = new Agent({ connections: 1 });
    const fast = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await request(`${proxy.restUrl}/v1/models/fast:predict`, { method: 'POST', body: '{"instances":[1]}', dispatcher: fastAgent, headersTimeout: 5_000 });
      await r.body.text();
      assert.equal(r.statusCode, 200);
      return performance.now() - t0;
    };
    try {
      for (let i = 0; i < 10; i++) await fast(); // warm up both sides
      const unloaded: number[] = [];
      for (let i = 0; i < 200; i++) unloaded.push(await fast());
      // 140 slow requests: more than the pool's 128 connections.
      const slow = Array.from({ length: 140 }, () =>
        request(`${proxy.restUrl}/v1/models/slow:predict`, { method: 'POST', body: '{"instances":[1]}', dispatcher: slowAgent }).then(async (r) => {
          await r.body.text();
          return r.statusCode;
        }));
      // The slow model holds its share of the connections; the rest of its requests wait.
      await until(() => held.length >= 64, 10_000);
      const loaded: number[] = [];
      for (let i = 0; i < 200; i++) loaded.push(await fast());
      assert.equal(held.length, 64, 'the slow model holds no more than its share');
      const before = p99(unloaded);
      const during = p99(loaded);
      const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!;
      t.diagnostic(`fast model p99 (median): unloaded ${before.toFixed(2)} ms (${median(unloaded).toFixed(2)}), with the slow model saturated ${during.toFixed(2)} ms (${median(loaded).toFixed(2)})`);
      // 2x, with a generous floor for a busy 2-core machine where one scheduling hiccup
      // takes tens of ms; the old behaviour is an unbounded wait (the slow requests are
      // held until released below).
      assert.ok(during <= Math.max(2 * before, 250), `fast p99 ${during.toFixed(2)} ms vs ${before.toFixed(2)} ms unloaded`);
      // Released, every slow request (also the 76 that waited) is answered.
      holding = false;
      for (const res of held.splice(0)) res.end('{"predictions":[2]}');
      assert.deepEqual(await Promise.all(slow), Array(140).fill(200));
    } finally {
      for (const res of held) res.end();
      await slowAgent.close();
      await fastAgent.close();
      await proxy.close();
      await up.close();
    }
  });
}
