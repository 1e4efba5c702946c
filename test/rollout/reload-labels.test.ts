import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../server/index.ts';
import type { RunningServer } from '../../server/index.ts';
import { reloadConfigLabels } from '../../rollout/index.ts';
import { fraud } from '../../examples/models.ts';
import { TempRepo } from '../helpers/repo.ts';

// The label mover for a server in another process, against the real server's gRPC
// ModelService on loopback.
let repo: TempRepo;
let server: RunningServer;
before(async () => {
  repo = await TempRepo.create();
  await repo.writeVersion('fraud', 1, fraud(1));
  await repo.writeVersion('fraud', 2, fraud(2));
  server = await startServer({
    host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, warmup: false,
    models: [{ name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1 } }],
  });
});
after(async () => {
  await server.close();
  await repo.remove();
});

test('HandleReloadConfigRequest moves the stable label and keeps the other models and labels', async () => {
  const mover = reloadConfigLabels(server.grpcAddress!, [{ name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1, pinned: 1 } }]);
  try {
    await mover.moveLabel('fraud', 'stable', '2');
    assert.deepEqual(server.manager.labels('fraud'), { stable: 2, pinned: 1 });
  } finally {
    mover.close();
  }
});

test('a label on a version that is not available is refused, and the refusal is the error', async () => {
  const mover = reloadConfigLabels(server.grpcAddress!, [{ name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1 } }]);
  try {
    await assert.rejects(mover.moveLabel('fraud', 'stable', '9'), /HandleReloadConfigRequest failed: .*not currently available/);
    await assert.rejects(mover.moveLabel('other', 'stable', '1'), /model "other" is not in the reload config list \(fraud\)/);
  } finally {
    mover.close();
  }
});
