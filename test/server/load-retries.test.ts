// A version that fails to load is retried with backoff and then left alone until its file
// changes, with the defaults too (options the caller leaves undefined keep their defaults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/clock.ts';
import { halfPlusTwo } from '../../examples/models.ts';
import { startServer } from '../../server/index.ts';
import { eventually, TempRepo } from '../helpers/repo.ts';

test('with the default retry options a failing version is not reloaded at every scan', async () => {
  const repo = await TempRepo.create();
  await repo.writeVersion('m', 1, halfPlusTwo());
  await repo.writeVersion('m', 2, new Uint8Array([1, 2, 3])); // not an ONNX model
  const logs: string[] = [];
  // retryBaseMs and maxLoadRetries not given: 1 s doubling, 5 retries.
  const clock = new ManualClock(Date.now());
  const srv = await startServer({ host: '127.0.0.1', restPort: 0, pollMs: 0, clock, log: (m) => logs.push(m), models: [{ name: 'm', basePath: repo.path('m'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
  try {
    const failures = () => logs.filter((l) => l.startsWith('Failed to load m version 2'));
    await eventually(() => failures().length >= 1);
    const scans = async (n: number) => { for (let i = 0; i < n; i++) await srv.manager.poll(); };
    // Scans before the first retry is due (1 s after the failure) do not load it again.
    await scans(5);
    clock.advance(999);
    await scans(5);
    assert.equal(failures().length, 1, failures().join('\n'));
    assert.match(failures()[0]!, /retrying in 1000 ms/);
    // Then it is retried at 1 s, 2 s, 4 s, 8 s, 16 s, and left alone after the fifth retry.
    for (let i = 0; i < 10; i++) {
      clock.advance(20_000);
      await scans(1);
    }
    assert.equal(failures().length, 6, failures().join('\n'));
    assert.match(failures()[5]!, /attempt 6, giving up until the file changes/);
  } finally {
    await srv.close();
    await repo.remove();
  }
});
