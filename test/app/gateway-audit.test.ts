import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Issues } from '../../common/index.ts';
import { managerLabels, verifyChain } from '../../rollout/index.ts';
import { validateTruthSection } from '../../truth/index.ts';
import { eventually } from '../helpers/repo.ts';
import { ALL_VERSIONS, serveExampleCopies } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift } from '../helpers/gateway.ts';

test('changes through the admin API (split, pause, promote, feedback batch) go to the hash-chained audit log with who made them, in one chain with the rollout controller\'s lines', async () => {
  const server = await serveExampleCopies({ fraud: { policy: ALL_VERSIONS, labels: { stable: 1 } }, half_plus_two: {} });
  const base = exampleConfig();
  const rollouts = base.rollouts.map((r) => ({ ...r, intervalMs: 300, minRequests: 10 }));
  const truth = validateTruthSection({ models: { fraud: { task: 'classification', predicted: 'label' } } }, 'truth', new Issues())!;
  const gw = await startTestGateway(server.restUrl, {
    config: { ...withoutDrift({ ...base, rollouts }), truth },
    tickMs: 100,
    serverLabels: managerLabels(server.manager),
    proxy: (p) => ({ ...p, admin: { ...p.admin, token: 'audit-test-token' }, splits: { fraud: { stable: '1', weight: 0 } } }),
  });
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${gw.proxy.adminUrl}${path}`, {
      method,
      headers: { authorization: 'Bearer audit-test-token', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  try {
    await eventually(() => gw.rollouts()?.view('fraud').phase === 'Progressing', 10_000, 50, 'the rollout starts');
    assert.equal((await admin('POST', '/api/v1/rollouts/fraud/pause')).status, 200);
    assert.equal((await admin('PUT', '/api/v1/models/half_plus_two/split?force=1', { stable: '123', weight: 0 })).status, 200);
    assert.equal((await admin('PUT', '/api/v1/models/fraud/split', { stable: '1', weight: 0 })).status, 409, 'refused changes are not audited');
    const feedback = Array.from({ length: 300 }, (_, i) => ({ id: `tx-${i}`, label: i % 2 }));
    assert.equal((await admin('POST', '/api/v1/feedback', feedback)).status, 200);
    assert.equal((await admin('POST', '/api/v1/rollouts/fraud/promote')).status, 200);
    const file = join(gw.stateDir, 'rollouts-audit.jsonl');
    const lines = await eventually(async () => {
      const ls = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      return ls.some((l) => l['action'] === 'POST /api/v1/rollouts/fraud/promote') && ls.some((l) => l['input'] === 'command:promote') && ls;
    }, 5000, 20, 'the split change, the feedback batch and the promotion are audited');
    const pause = lines.find((l) => l['action'] === 'POST /api/v1/rollouts/fraud/pause');
    assert.ok(pause, JSON.stringify(lines));
    assert.equal(pause['actor'], 'admin');
    assert.equal(pause['model'], 'fraud');
    const split = lines.find((l) => l['action'] === 'PUT /api/v1/models/half_plus_two/split')!;
    assert.deepEqual(split['body'], { stable: '123', weight: 0 });
    assert.equal(split['actor'], 'admin');
    assert.ok(lines.some((l) => l['actor'] === 'controller' && l['input'] === 'command:pause'), 'the controller\'s own line for the pause');
    assert.ok(!lines.some((l) => l['status'] === 409));
    const batch = lines.find((l) => l['action'] === 'POST /api/v1/feedback')!;
    assert.equal(batch['actor'], 'admin');
    assert.equal(batch['items'], 300, 'a big batch is audited by its size and item count');
    assert.ok(Number(batch['bodyBytes']) > 2048);
    assert.equal(lines.find((l) => l['action'] === 'POST /api/v1/rollouts/fraud/promote')!['actor'], 'admin');
    assert.ok(lines.some((l) => l['actor'] === 'controller' && l['input'] === 'command:promote'), 'the controller\'s own line for the promotion');
    const r = verifyChain([{ name: file, text: await readFile(file, 'utf8') }], { fromGenesis: true });
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.lines, lines.length);
  } finally {
    await gw.close();
    await server.close();
  }
});
