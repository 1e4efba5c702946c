// Symbolic links in the model repository are followed while they stay inside the model's
// base path; a link leading outside is refused, with a log line and an error in status.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { halfPlusTwo } from '../../examples/models.ts';
import { buildModel } from '../../examples/lib/onnx-builder.ts';
import { scanRepository } from '../../server/repository/scan.ts';
import { startServer, type RunningServer } from '../../server/index.ts';
import { eventually, getJson, postJson, TempRepo } from '../helpers/repo.ts';

type Status = { version: string; state: string; status: { error_code: string; error_message: string } };
const statusOf = async (url: string, model: string): Promise<Status[]> => (await getJson(`${url}/v1/models/${model}`)).json.model_version_status;

describe('symbolic links in the model repository', () => {
  let repo: TempRepo;
  let srv: RunningServer;
  const logs: string[] = [];
  before(async () => {
    repo = await TempRepo.create();
    // Outside every base path: a model someone wants served without copying it in.
    await repo.writeVersion('elsewhere', 1, halfPlusTwo(1, 100));
    // "out": version 1 is real; 2 is a folder link and 3 a model.onnx link, both leading outside.
    await repo.writeVersion('out', 1, halfPlusTwo());
    await symlink(repo.path('elsewhere', '1'), repo.path('out', '2'));
    await mkdir(repo.path('out', '3'));
    await symlink(repo.path('elsewhere', '1', 'model.onnx'), repo.path('out', '3', 'model.onnx'));
    // "in": version 1 is a folder link and version 2 a model.onnx link, both to places inside its base path.
    await repo.writeVersion('in', 7, halfPlusTwo(1, 1)); // the real files live in in/7 ...
    await mkdir(repo.path('in', 'store'));
    await writeFile(repo.path('in', 'store', 'b.onnx'), buildModel(halfPlusTwo(1, 2)));
    await repo.age(repo.path('in', 'store'));
    await symlink(repo.path('in', '7'), repo.path('in', '1'));
    await mkdir(repo.path('in', '2'));
    await symlink('../store/b.onnx', repo.path('in', '2', 'model.onnx'));
    srv = await startServer({
      host: '127.0.0.1', restPort: 0, pollMs: 100,
      models: [
        { name: 'out', basePath: repo.path('out'), policy: { kind: 'latest', numVersions: 1 }, labels: {} },
        { name: 'in', basePath: repo.path('in'), policy: { kind: 'specific', versions: [1, 2] }, labels: {} },
      ],
      log: (m) => logs.push(m),
    });
  });
  after(async () => {
    await srv.close();
    await repo.remove();
  });

  test('a link leading outside the base path is refused: not loaded, an error in status, one log line each', async () => {
    const r = await postJson(`${srv.restUrl}/v1/models/out:predict`, { instances: [1] });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-model-version'), '1', 'the newest version that is not refused serves');
    const st = await statusOf(srv.restUrl, 'out');
    assert.deepEqual(st.map((s) => [s.version, s.state, s.status.error_code]), [['3', 'END', 'PERMISSION_DENIED'], ['2', 'END', 'PERMISSION_DENIED'], ['1', 'AVAILABLE', 'OK']]);
    assert.match(st[0]!.status.error_message, /3\/model\.onnx is a symbolic link to .*elsewhere\/1\/model\.onnx, outside the model's base path/);
    assert.match(st[1]!.status.error_message, /out\/2 is a symbolic link to .*elsewhere\/1, outside/);
    // Pinned requests do not reach the refused versions either.
    assert.notEqual((await postJson(`${srv.restUrl}/v1/models/out/versions/3:predict`, { instances: [1] })).status, 200);
    await new Promise((res) => setTimeout(res, 300)); // several more scans
    for (const v of ['2', '3']) assert.equal(logs.filter((l) => l.startsWith(`Version ${v} of out is refused`)).length, 1, logs.join('\n'));
  });

  test('links that stay inside the base path are followed', async () => {
    const st = await statusOf(srv.restUrl, 'in');
    assert.deepEqual(st.map((s) => [s.version, s.state]), [['2', 'AVAILABLE'], ['1', 'AVAILABLE']]);
    assert.equal((await postJson(`${srv.restUrl}/v1/models/in/versions/1:predict`, { instances: [1] })).text, '{"predictions":[2.0]}');
    assert.equal((await postJson(`${srv.restUrl}/v1/models/in/versions/2:predict`, { instances: [1] })).text, '{"predictions":[3.0]}');
  });

  test('a refused version is loaded once its link is replaced by a real folder', async () => {
    await rm(repo.path('out', '3'), { recursive: true });
    await repo.writeVersion('out', 3, halfPlusTwo(1, 3));
    const r = await eventually(async () => {
      const x = await postJson(`${srv.restUrl}/v1/models/out:predict`, { instances: [1] });
      return x.headers.get('x-model-version') === '3' && x;
    });
    assert.equal(r.text, '{"predictions":[4.0]}');
  });
});

describe('the repository scan', () => {
  test('refuses a warmup file that leads outside, and resolves the base path itself through links', async () => {
    const repo = await TempRepo.create();
    try {
      await writeFile(repo.path('secret.txt'), 'not for clients');
      await repo.writeVersion('m', 1, halfPlusTwo());
      await symlink(repo.path('secret.txt'), repo.path('m', '1', 'warmup.jsonl'));
      await repo.writeVersion('m', 2, halfPlusTwo());
      await symlink(repo.path('m'), repo.path('m-link'));
      const scan = await scanRepository(repo.path('m-link'));
      assert.deepEqual(scan.files.map((f) => f.version), [2]);
      assert.deepEqual(scan.refused.map((r) => r.version), [1]);
      assert.match(scan.refused[0]!.reason, /warmup\.jsonl is a symbolic link to .*secret\.txt/);
    } finally {
      await repo.remove();
    }
  });
});
