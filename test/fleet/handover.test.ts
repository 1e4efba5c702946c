// A replica that is stopped (SIGTERM → Gateway#drain) gives the lease up before it drains,
// so another replica acts while this one finishes its in-flight requests, not after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { startGateway } from '../../app/gateway.ts';
import { FileLeaseBackend } from '../../app/file-lease.ts';
import { parseConfig } from '../../config/index.ts';
import { startUpstream } from '../proxy/helpers.ts';
import { eventually } from '../helpers/repo.ts';

test('a draining replica releases the lease at the start of the drain, while its in-flight request still finishes', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-handover-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const held: ServerResponse[] = [];
  const upstream = await startUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.includes(':predict')) held.push(res);
    else res.end('{"model_version_status":[{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}');
  });
  t.after(() => upstream.close());
  const leaseFile = join(dir, 'leader.lease');
  const parsed = parseConfig(
    `apiVersion: modelgate/v1\nleader: { mode: lease, lease: { file: ${leaseFile}, ttl: 3s }, identity: replica-a }\nproxy:\n  rest: { host: 127.0.0.1, port: 0, upstream: ${upstream.url} }\n  admin: { port: 0 }\n`,
    'handover.yaml',
  );
  assert.ok(parsed.config, JSON.stringify(parsed.issues));
  const gw = await startGateway({ config: parsed.config, env: {}, stateDir: join(dir, 'state') });
  let drained = false;
  try {
    assert.equal(gw.fleet.leader.isLeader(), true);
    assert.equal((await new FileLeaseBackend(leaseFile).read())?.holder, 'replica-a');
    const answer = fetch(`${gw.proxy.restUrl}/v1/models/m:predict`, { method: 'POST', body: '{"instances":[1]}', headers: { 'content-type': 'application/json' } });
    await eventually(() => held.length === 1, 10_000);
    const draining = gw.drain(20_000).then(() => (drained = true));
    // The lease is free while the request is still held upstream.
    await eventually(async () => (await new FileLeaseBackend(leaseFile).read()) === null, 5_000);
    assert.equal(gw.fleet.leader.isLeader(), false);
    assert.equal(drained, false, 'the drain is still waiting for the request');
    held[0]!.end('{"predictions":[2.5]}');
    const r = await answer;
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { predictions: [2.5] });
    await draining;
  } finally {
    if (!drained) await gw.close();
  }
});
