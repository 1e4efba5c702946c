import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Issues } from '../../common/index.ts';
import { proxyConfigFrom } from '../../cli/commands/proxy-bare.ts';
import { PROXY_DEFAULTS } from '../../proxy/index.ts';
import { startUpstream } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/modelgate.js', import.meta.url));

test('flags override the file: upstreams, ports and host', () => {
  const issues = new Issues();
  const c = proxyConfigFrom(
    { rest: { upstream: 'http://127.0.0.1:1', port: 9000 }, admin: { port: 9100 } },
    { upstream_grpc: '127.0.0.1:2', rest_port: 0, host: '127.0.0.1', admin_port: 0 },
    issues,
  );
  assert.ok(issues.ok, JSON.stringify(issues.list));
  assert.deepEqual(c.rest, { host: '127.0.0.1', port: 0, upstream: 'http://127.0.0.1:1', client: PROXY_DEFAULTS.restClient, server: PROXY_DEFAULTS.restServer });
  assert.deepEqual(c.grpc, { host: '127.0.0.1', port: 8500, upstream: '127.0.0.1:2', server: PROXY_DEFAULTS.grpcEngine, client: PROXY_DEFAULTS.grpcEngine });
  assert.equal(c.admin.port, 0);
});

test('`modelgate proxy --config` forwards to the upstream and stops on SIGTERM', async () => {
  const up = await startUpstream((_req, res) => res.end('{"predictions":[1]}'));
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-proxy-cli-'));
  const file = join(dir, 'modelgate.yaml');
  await writeFile(file, `apiVersion: modelgate/v1\nproxy:\n  rest:\n    host: 127.0.0.1\n    port: 0\n    upstream: ${up.url}\n  admin:\n    port: 0\n`);
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const deadline = Date.now() + 15_000;
    while (!/admin http/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`proxy did not start: ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const restUrl = /REST (http:\/\/\S+)/.exec(out)![1]!;
    const r = await fetch(`${restUrl}/v1/models/m:predict`, { method: 'POST', body: '{}' });
    assert.equal(await r.text(), '{"predictions":[1]}');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await up.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('`modelgate proxy` with nothing to forward is a usage error (exit 2)', async () => {
  const child = spawn(process.execPath, [BIN, 'proxy'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(err, /configure at least one of "rest" or "grpc"/);
});
