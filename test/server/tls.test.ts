import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../server/index.ts';
import { configFromFlags } from '../../server/config.ts';
import { ConfigError } from '../../common/index.ts';
import { TempRepo, eventually } from '../helpers/repo.ts';
import { TestCa, TlsDir, httpsRequest, rotateUnderLoad } from '../helpers/certs.ts';

const PREDICT = '/v1/models/half_plus_two:predict';
const BODY = JSON.stringify({ instances: [1, 2, 5] });

async function setup(withClientCa = false) {
  const repo = await TempRepo.create();
  await repo.copyExample('half_plus_two');
  const ca = TestCa.create('server CA');
  const clients = TestCa.create('client CA');
  const dir = await TlsDir.create();
  const files = await dir.putPair(ca.issue());
  const clientCa = withClientCa ? await dir.put('client-ca.crt', clients.cert) : undefined;
  const logs: string[] = [];
  const srv = await startServer({
    host: '127.0.0.1', restPort: 0, pollMs: 0, log: (m) => logs.push(m),
    models: [{ name: 'half_plus_two', basePath: repo.path('half_plus_two'), policy: { kind: 'latest', numVersions: 1 }, labels: {} }],
    tls: { ...files, ...(clientCa ? { clientCa } : {}) },
  });
  return {
    ca, clients, dir, srv, logs,
    async close() {
      await srv.close();
      await dir.remove();
      await repo.remove();
    },
  };
}

test('modelgate serve answers REST over TLS, and keeps answering without a failed request while its certificate is replaced; new connections get the new one', async () => {
  const s = await setup();
  try {
    assert.match(s.srv.restUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const first = await httpsRequest(s.srv.restUrl + PREDICT, { ca: s.ca.cert, body: BODY });
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.body), { predictions: [2.5, 3, 4.5] });

    // Clients keep sending, on new and on kept-alive connections, while the files are replaced.
    const next = s.ca.issue();
    const { ok, failures } = await rotateUnderLoad({ url: s.srv.restUrl + PREDICT, ca: s.ca.cert, body: BODY, next, newConnections: 2, keptAlive: 2, swap: () => s.dir.putPair(next) }, eventually);
    assert.equal(failures, 0, `${failures} failed of ${ok + failures}`);
    assert.ok(s.logs.some((l) => l.includes(`TLS certificate reloaded (serial ${next.serial})`)), s.logs.join('\n'));
  } finally {
    await s.close();
  }
});

test('with --ssl_client_ca_file, a client certificate from that CA is served; none, an expired one and one from another CA are refused', async () => {
  const s = await setup(true);
  try {
    const good = s.clients.issue({ cn: 'caller', client: true });
    assert.equal((await httpsRequest(s.srv.restUrl + PREDICT, { ca: s.ca.cert, body: BODY, ...good })).status, 200);
    await assert.rejects(httpsRequest(s.srv.restUrl + PREDICT, { ca: s.ca.cert, body: BODY }));
    const expired = s.clients.issue({ cn: 'late', client: true, notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    await assert.rejects(httpsRequest(s.srv.restUrl + PREDICT, { ca: s.ca.cert, body: BODY, ...expired }));
    const stranger = TestCa.create('another CA').issue({ cn: 'stranger', client: true });
    await assert.rejects(httpsRequest(s.srv.restUrl + PREDICT, { ca: s.ca.cert, body: BODY, ...stranger }));
  } finally {
    await s.close();
  }
});

test('the TLS flags are checked together: a key without a certificate, or a client CA alone, is refused with what to add', async () => {
  const base = { model_name: 'm', model_base_path: '/tmp/m', rest_api_port: 0, port: -1, rest_api_timeout_in_ms: 1000, grpc_max_message_bytes: 1024, host: '127.0.0.1', file_system_poll_wait_seconds: 0, max_num_load_retries: 1, load_retry_interval: 1000, intra_op_threads: 0, drain_timeout: 0 };
  await assert.rejects(configFromFlags({ ...base, ssl_key_file: '/tmp/k.pem' }), (e: unknown) => e instanceof ConfigError && /--ssl_cert_file: is required with --ssl_key_file/.test(e.message));
  await assert.rejects(configFromFlags({ ...base, ssl_client_ca_file: '/tmp/ca.pem' }), (e: unknown) => e instanceof ConfigError && /--ssl_client_ca_file: needs --ssl_cert_file and --ssl_key_file/.test(e.message));
  const c = await configFromFlags({ ...base, ssl_cert_file: 'c.pem', ssl_key_file: 'k.pem' });
  assert.match(c.tls!.cert, /\/c\.pem$/);
});
