import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from '../../common/index.ts';
import { PROXY_DEFAULTS, readProxyConfig } from '../../proxy/index.ts';

test('a minimal REST section gets the documented defaults and is frozen', () => {
  const issues = new Issues();
  const c = readProxyConfig({ rest: { upstream: 'http://127.0.0.1:8601' } }, 'proxy', issues);
  assert.deepEqual(issues.list, []);
  assert.equal(c.rest?.port, 8501);
  assert.equal(c.admin.host, '127.0.0.1');
  assert.equal(c.timeouts.upstreamMs, PROXY_DEFAULTS.upstreamMs);
  assert.equal(c.limits.maxBodyBytes, 64 * 1024 * 1024);
  assert.equal(c.grpc, undefined);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.timeouts));
});

test('every problem is reported at once, with its path and a fix', () => {
  const issues = new Issues();
  readProxyConfig(
    {
      rest: { upstream: 'localhost:8601', Port: 1 },
      grpc: { upstream: 'http://x:1' },
      timeouts: { upstream: 30 },
      limits: { maxBodyBytes: '10 megs' },
      splits: { fraud: { stable: '1', weight: 10 } },
      labels: { statusApi: 'triton' },
      bodies: { sampleRate: 5 },
    },
    'proxy',
    issues,
  );
  const byPath = Object.fromEntries(issues.errors.map((i) => [i.path, i.message]));
  assert.match(byPath['proxy.rest.upstream']!, /base URL/);
  assert.match(byPath['proxy.rest.Port']!, /did you mean "port"/);
  assert.match(byPath['proxy.grpc.upstream']!, /host:port/);
  assert.match(byPath['proxy.timeouts.upstream']!, /needs a unit/);
  assert.match(byPath['proxy.limits.maxBodyBytes']!, /64MiB/);
  assert.match(byPath['proxy.splits.fraud.weight']!, /needs a canary/);
  assert.match(byPath['proxy.labels.statusApi']!, /tfserving/);
  assert.match(byPath['proxy.bodies.sampleRate']!, /<= 1/);
});

test('a section with neither REST nor gRPC is an error', () => {
  const issues = new Issues();
  readProxyConfig({}, 'proxy', issues);
  assert.match(issues.errors[0]!.message, /at least one of "rest" or "grpc"/);
});

test('a token written in the file and an admin port beyond loopback are warnings', () => {
  const issues = new Issues();
  readProxyConfig({ grpc: { upstream: '127.0.0.1:8500' }, admin: { host: '0.0.0.0', token: 's3cret' } }, 'proxy', issues);
  assert.ok(issues.ok);
  assert.deepEqual(issues.warnings.map((w) => w.path).sort(), ['proxy.admin.host', 'proxy.admin.token']);
});

test('connection shares, the client body timeout and the drain timeout have defaults and are checked', () => {
  const issues = new Issues();
  const c = readProxyConfig({ rest: { upstream: 'http://127.0.0.1:8601' } }, 'proxy', issues);
  assert.equal(c.limits.upstreamConnections, 128);
  assert.equal(c.limits.modelConnections, 64);
  assert.equal(c.timeouts.clientBodyMs, 30_000);
  assert.equal(c.timeouts.drainMs, 30_000);
  const bad = new Issues();
  readProxyConfig({ rest: { upstream: 'http://127.0.0.1:8601' }, limits: { upstreamConnections: 8, modelConnections: 9 }, timeouts: { clientBody: '0s', drain: '-1s' } }, 'proxy', bad);
  const byPath = Object.fromEntries(bad.errors.map((i) => [i.path, i.message]));
  assert.match(byPath['proxy.limits.modelConnections']!, /must not exceed limits.upstreamConnections \(8\)/);
  assert.match(byPath['proxy.timeouts.clientBody']!, /longer than 0/);
  assert.ok(byPath['proxy.timeouts.drain'], 'a negative drain timeout is refused');
});
