// The rollout admin routes on the real admin server (proxy/admin.ts), for a model whose
// persisted state was invalid: reads answer 503 with the reason and the command that
// resolves it, and that command (`modelgate rollout reset MODEL`) clears it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../common/index.ts';
import { AdminApi } from '../../proxy/admin.ts';
import { RolloutController, mountRolloutRoutes } from '../../rollout/index.ts';
import type { SplitValue } from '../../rollout/index.ts';
import { run as rolloutCli } from '../../cli/commands/rollout.ts';
import { buildStatusModel, renderStatusPage, StatusHistory } from '../../proxy/status-page/index.ts';
import { spec } from './helpers.ts';

const TOKEN = 'routes-test-token';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test('a model blocked by invalid state: /api/v1/rollouts answers 503 with the reason and the fix; rollout reset clears it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-rollout-routes-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'rollouts.json'), '{"format":"modelgate.rollout.state/v1","models":[]}');
  const table = new Map<string, SplitValue>([['fraud', { stable: '1', weight: 0 }]]);
  const c = await RolloutController.open({
    specs: [spec()], clock: new ManualClock(0), registry: new Registry(), stateDir: dir,
    split: { setSplit: (m, s) => (s ? table.set(m, s) : table.delete(m)), getSplit: (m) => table.get(m) },
    versions: { availableVersions: () => ['1', '2'] },
  });
  cleanup.push(() => c.stop());
  const admin = new AdminApi({ registry: new Registry(), token: TOKEN });
  mountRolloutRoutes(admin, c);
  admin.server.listen(0, '127.0.0.1');
  await once(admin.server, 'listening');
  cleanup.push(() => new Promise((r) => { admin.server.closeAllConnections(); admin.server.close(r); }));
  const url = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;

  const all = await fetch(`${url}/api/v1/rollouts`);
  assert.equal(all.status, 503);
  const body = await all.json() as { error: string; code: string; rollouts: Array<{ blocked?: { file: string } }> };
  assert.equal(body.code, 'ROL_ERR_STATE_CORRUPT');
  assert.match(body.error, /models must be an object .*run: modelgate rollout reset fraud/);
  assert.match(body.rollouts[0]!.blocked!.file, /rollouts\.json\.corrupt-/);
  assert.equal((await fetch(`${url}/api/v1/rollouts/fraud`)).status, 503);
  assert.equal((await fetch(`${url}/api/v1/rollouts/fraud/verdict`)).status, 503);

  // The status page shows the model as Blocked, with the command that resolves it.
  const clock = new ManualClock(0);
  const html = renderStatusPage(buildStatusModel({ rollouts: () => c.snapshot().rollouts }, new StatusHistory(), clock), 3_600_000);
  assert.match(html, /fraud <span[^>]*>Blocked</);
  assert.match(html, /modelgate rollout reset fraud/);

  const err: string[] = [];
  const out: string[] = [];
  assert.equal(await rolloutCli(['status', '--admin_url', url], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} }), 1);
  assert.match(err.join('\n'), /503 .*modelgate rollout reset fraud/);
  assert.equal(await rolloutCli(['reset', 'fraud', '--admin_url', url], { out: (l) => out.push(l), err: (l) => err.push(l), env: { MODELGATE_ADMIN_TOKEN: TOKEN } }), 0);
  assert.match(out.join('\n'), /fraud: Pending/);
  assert.equal((await fetch(`${url}/api/v1/rollouts`)).status, 200);
});

test('a manual split of a model under an active rollout is refused with 409 naming the rollout commands; after the rollout ends it is allowed', async () => {
  const { createServer } = await import('node:http');
  const { createProxy, readProxyConfig } = await import('../../proxy/index.ts');
  const { Issues } = await import('../../common/index.ts');
  const { attachRollouts } = await import('../../rollout/index.ts');
  const up = createServer((_req, res) => res.end('{}')).listen(0, '127.0.0.1');
  await once(up, 'listening');
  cleanup.push(() => new Promise((r) => { up.closeAllConnections(); up.close(r); }));
  const issues = new Issues();
  const config = readProxyConfig({
    rest: { host: '127.0.0.1', port: 0, upstream: `http://127.0.0.1:${(up.address() as AddressInfo).port}` },
    admin: { port: 0 }, labels: { statusApi: 'none' }, splits: { fraud: { stable: 1, weight: 0 } },
  }, 'proxy', issues);
  const proxy = await createProxy({ config, registry: new Registry(), env: { MODELGATE_ADMIN_TOKEN: TOKEN } });
  cleanup.push(() => proxy.close());
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-rollout-guard-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const attached = await attachRollouts({ proxy, specs: [spec()], stateDir: dir, registry: new Registry(), clock: new ManualClock(0), tickMs: 3_600_000, versions: { availableVersions: () => ['1', '2'] } });
  cleanup.push(() => attached.close());
  await attached.controller.tick();
  assert.deepEqual(proxy.getSplit('fraud'), { stable: '1', canary: '2', weight: 5 });
  const put = () => fetch(`${proxy.adminUrl}/api/v1/models/fraud/split?force=1`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ stable: '1', canary: '2', weight: 100 }) });
  const refused = await put();
  assert.equal(refused.status, 409);
  assert.match(((await refused.json()) as { error: string }).error, /under an active rollout \(Progressing, canary 2 at 5%\).*modelgate rollout pause\|resume\|promote\|abort fraud/);
  assert.equal(proxy.getSplit('fraud')?.weight, 5);
  await attached.controller.command('fraud', 'abort');
  const allowed = await put();
  assert.equal(allowed.status, 200);
  await allowed.text();
});
