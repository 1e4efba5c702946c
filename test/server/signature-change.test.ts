// A new version whose signature differs from the serving one is not swapped in: the old
// version keeps serving and the new one is reported as failed with the difference, unless
// the model config allows signature changes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from '../../common/validate.ts';
import { halfPlusTwo } from '../../examples/models.ts';
import type { GraphSpec } from '../../examples/lib/onnx-builder.ts';
import { readModels, startServer, type ModelConfig } from '../../server/index.ts';
import { signatureDiff } from '../../server/models/signature.ts';
import { eventually, getJson, postJson, TempRepo } from '../helpers/repo.ts';

/** half_plus_two taking x[N,1] instead of x[N]: the same maths, a different signature. */
function columnVersion(): GraphSpec {
  const g = halfPlusTwo(1, 5);
  return { ...g, inputs: [{ name: 'x', type: 'float', shape: ['N', 1] }], outputs: [{ name: 'y', type: 'float', shape: ['N', 1] }] };
}

type Status = { version: string; state: string; status: { error_code: string; error_message: string } };
const statusOf = async (url: string, model: string): Promise<Status[]> => (await getJson(`${url}/v1/models/${model}`)).json.model_version_status;

describe('a new version with a different signature', () => {
  let repo: TempRepo;
  before(async () => {
    repo = await TempRepo.create();
  });
  after(async () => repo.remove());

  test('is not swapped in: the old version keeps serving, the new one fails with the difference in status and the log', async () => {
    await repo.writeVersion('strict', 1, halfPlusTwo());
    const logs: string[] = [];
    const models: ModelConfig[] = [{ name: 'strict', basePath: repo.path('strict'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }];
    const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 100, models, log: (m) => logs.push(m) });
    try {
      await repo.writeVersion('strict', 2, columnVersion());
      const v2 = await eventually(async () => (await statusOf(srv.restUrl, 'strict')).find((s) => s.version === '2' && s.state === 'END'));
      assert.equal(v2.status.error_code, 'FAILED_PRECONDITION');
      assert.match(v2.status.error_message, /signature differs from version 1, which keeps serving: input "x" shape \[-1\] -> \[-1,1\]; output "y" shape \[-1\] -> \[-1,1\]/);
      assert.match(v2.status.error_message, /allow_signature_change: true/);
      assert.ok(logs.some((l) => /Version 2 of strict is not served/.test(l)), logs.join('\n'));
      // Several polls later it is still refused (not retried), and version 1 answers.
      await new Promise((r) => setTimeout(r, 300));
      const r = await postJson(`${srv.restUrl}/v1/models/strict:predict`, { instances: [1] });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-model-version'), '1');
      assert.equal(r.text, '{"predictions":[2.5]}');
      const st = await statusOf(srv.restUrl, 'strict');
      assert.deepEqual(st.map((s) => [s.version, s.state]), [['2', 'END'], ['1', 'AVAILABLE']]);
      assert.equal(logs.filter((l) => /Version 2 of strict is not served/.test(l)).length, 1, logs.join("\n"));
      // Allowing the change at run time (HandleReloadConfigRequest) serves it.
      await srv.manager.reconfigure([{ ...models[0]!, allowSignatureChange: true }]);
      const swapped = await eventually(async () => {
        const x = await postJson(`${srv.restUrl}/v1/models/strict:predict`, { instances: [[1]] });
        return x.status === 200 && x;
      });
      assert.equal(swapped.headers.get('x-model-version'), '2');
      assert.equal(swapped.text, '{"predictions":[[6.0]]}');
    } finally {
      await srv.close();
    }
  });

  test('is swapped in when the model config allows signature changes', async () => {
    await repo.writeVersion('loose', 1, halfPlusTwo());
    const srv = await startServer({
      host: '127.0.0.1', restPort: 0, pollMs: 100,
      models: [{ name: 'loose', basePath: repo.path('loose'), policy: { kind: 'latest', numVersions: 1 }, labels: {}, allowSignatureChange: true }],
    });
    try {
      await repo.writeVersion('loose', 2, columnVersion());
      const r = await eventually(async () => {
        const x = await postJson(`${srv.restUrl}/v1/models/loose:predict`, { instances: [[1]] });
        return x.status === 200 && x;
      });
      assert.equal(r.headers.get('x-model-version'), '2');
    } finally {
      await srv.close();
    }
  });
});

describe('signature differences and the config key', () => {
  test('the difference names every changed, removed and added input and output, and ignores free dimension names', () => {
    const a = { inputs: [{ name: 'x', dtype: 'FP32' as const, shape: [-1], dimNames: ['N'] }, { name: 'gone', dtype: 'INT64' as const, shape: [3] }], outputs: [{ name: 'y', dtype: 'FP32' as const, shape: [-1] }] };
    const b = { inputs: [{ name: 'x', dtype: 'FP64' as const, shape: [-1], dimNames: ['batch'] }, { name: 'new', dtype: 'BOOL' as const, shape: [] }], outputs: [{ name: 'y', dtype: 'FP32' as const, shape: [-1, 2] }] };
    assert.deepEqual(signatureDiff(a, b), ['input "x" dtype FP32 -> FP64', 'input "gone" removed', 'input "new" BOOL [] added', 'output "y" shape [-1] -> [-1,2]']);
    assert.deepEqual(signatureDiff(a, { ...a, inputs: [{ ...a.inputs[0]!, dimNames: ['batch'] }, a.inputs[1]!] }), []);
  });

  test('allow_signature_change is read from the model config, off by default, and must be a boolean', () => {
    const issues = new Issues();
    const [on, off] = readModels([{ name: 'a', base_path: 'a', allow_signature_change: true }, { name: 'b', base_path: 'b' }], 'models', issues, '/');
    assert.ok(issues.ok);
    assert.equal(on!.allowSignatureChange, true);
    assert.equal(off!.allowSignatureChange, false);
    const bad = new Issues();
    readModels([{ name: 'a', base_path: 'a', allow_signature_change: 'yes' }], 'models', bad, '/');
    assert.match(bad.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /models\[0\]\.allow_signature_change: must be true or false/);
  });
});
