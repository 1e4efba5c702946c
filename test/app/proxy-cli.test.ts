import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../server/index.ts';
import { eventually, EXAMPLES } from '../helpers/repo.ts';

const BIN = join(EXAMPLES, '..', '..', 'bin', 'modelgate.js');

test('modelgate proxy --config runs the gateway: SLOs, drift and the status page on the admin port', async () => {
  const server = await startServer({ host: '127.0.0.1', restPort: 0, grpcPort: -1, pollMs: 0, models: [{ name: 'half_plus_two', basePath: join(EXAMPLES, 'half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }] });
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-proxy-cli-'));
  const file = join(dir, 'modelgate.yaml');
  await writeFile(file, [
    'apiVersion: modelgate/v1',
    'slos:',
    '  - name: hpt-availability',
    '    model: half_plus_two',
    '    version: each',
    '    sli: {availability: {}}',
    '    objective: 99.9',
    '    period: 30d',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', file, '--host', '127.0.0.1', '--rest_port', '0', '--admin_port', '0', '--upstream_rest', server.restUrl, '--state_dir', join(dir, 'state'), '--tick', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  try {
    const rest = await eventually(() => /\[proxy\] REST (http:\/\/[\d.:]+)/.exec(out)?.[1], 15_000);
    const admin = await eventually(() => /\[proxy\] admin (http:\/\/[\d.:]+)/.exec(out)?.[1], 5_000);
    const r = await fetch(`${rest}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances":[1.0]}' });
    assert.equal(await r.text(), '{"predictions":[2.5]}');
    const slos = await eventually(async () => {
      const s = (await (await fetch(`${admin}/api/v1/slos`)).json()) as { slos: { name: string; series: { version: string }[] }[] };
      return s.slos[0]?.series.some((x) => x.version === '123') ? s : undefined;
    }, 10_000);
    assert.equal(slos.slos[0]!.name, 'hpt-availability');
    assert.equal((await fetch(`${admin}/status`)).status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
