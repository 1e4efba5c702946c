// `modelgate demo` runs the production wiring (the config loader and startGateway, as
// `modelgate start` does), so what it shows is what users run: its admin port has what only
// the gateway mounts (SLO snapshot, status page), and the story ends as it says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/modelgate.js', import.meta.url));

test('modelgate demo rolls back the failing canary and promotes the healthy one through the gateway users run', { timeout: 170_000 }, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'modelgate-demo-test-'));
  const child = spawn(process.execPath, [BIN, 'demo', '--interval', '1s'], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    let admin: string | undefined;
    const deadline = Date.now() + 60_000;
    while (!(admin = /admin (http:\/\/[\d.:]+)/.exec(out)?.[1]) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(admin, `no admin URL:\n${out}`);
    const slos = await fetch(`${admin}/api/v1/slos`);
    assert.equal(slos.status, 200, 'the SLO snapshot the gateway mounts');
    assert.match(JSON.stringify(await slos.json()), /fraud-availability/);
    assert.equal((await fetch(`${admin}/status`)).status, 200, 'the status page the gateway mounts');
    const config = /config (\S+modelgate\.yaml)/.exec(out)?.[1];
    assert.ok(config, 'the demo names the modelgate.yaml it runs');
    assert.match(await readFile(config, 'utf8'), /^rollouts:/m);
    assert.equal(await exited, 0, out);
    assert.match(out, /version 2: RolledBack/);
    assert.match(out, /version 3: Succeeded/);
    assert.match(out, /server label stable → 3/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(tmp, { recursive: true, force: true });
  }
});
