// `modelgate start`, `serve` and `proxy` on a port that is already taken: each exits non-zero
// within seconds, after closing what it had started, with a message that names the flag
// that changes the port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES } from '../helpers/repo.ts';

const ROOT = join(EXAMPLES, '..', '..');
const BIN = join(ROOT, 'bin', 'modelgate.js');

/** Runs the CLI to its exit; a process still running after `limitMs` is killed and reported. */
function run(args: string[], limitMs = 60_000): Promise<{ code: number | null; out: string; killed: boolean }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, out, killed });
  }));
}

describe('a port already taken', () => {
  let holder: Server;
  let port: number;
  let dir: string;
  before(async () => {
    holder = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    port = (holder.address() as { port: number }).port;
    dir = await mkdtemp(join(tmpdir(), 'modelgate-port-in-use-'));
  });
  after(async () => {
    holder.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: Array<{ name: string; flag: string; args: () => string[] }> = [
    { name: 'modelgate proxy (REST port)', flag: 'rest_port', args: () => ['proxy', '--host', '127.0.0.1', '--upstream_rest', 'http://127.0.0.1:9', '--rest_port', String(port), '--admin_port', '0'] },
    { name: 'modelgate proxy --config (admin port)', flag: 'admin_port', args: () => ['proxy', '--config', 'examples/modelgate.yaml', '--host', '127.0.0.1', '--upstream_rest', 'http://127.0.0.1:9', '--rest_port', '0', '--admin_port', String(port), '--state_dir', join(dir, 'p')] },
    { name: 'modelgate serve (REST port)', flag: 'rest_api_port', args: () => ['serve', '--host', '127.0.0.1', '--model_name', 'half_plus_two', '--model_base_path', join(EXAMPLES, 'half_plus_two'), '--rest_api_port', String(port), '--port', '-1'] },
    // The server is up and its models loaded when the proxy's port turns out taken: it must be closed too.
    { name: 'modelgate start (proxy REST port, after the server started)', flag: 'rest_port', args: () => ['start', '--rest_port', String(port), '--grpc_port', '0', '--admin_port', '0', '--server_rest_port', '0', '--server_grpc_port', '0', '--state_dir', join(dir, 's1')] },
    { name: 'modelgate start (server REST port)', flag: 'server_rest_port', args: () => ['start', '--rest_port', '0', '--grpc_port', '0', '--admin_port', '0', '--server_rest_port', String(port), '--server_grpc_port', '0', '--state_dir', join(dir, 's2')] },
  ];
  for (const c of cases) {
    test(`${c.name}: exits non-zero, naming --${c.flag}`, { timeout: 90_000 }, async () => {
      const r = await run(c.args());
      assert.equal(r.killed, false, `still running after 60 s:\n${r.out}`);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`--${c.flag}\\b`), r.out);
      assert.match(r.out, new RegExp(`:${port} is already in use`), r.out);
      assert.doesNotMatch(r.out, /\n\s+at /, 'a message, not a stack trace');
    });
  }
});
