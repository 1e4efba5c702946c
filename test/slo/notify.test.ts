import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../common/index.ts';
import { SloEngine } from '../../slo/engine.ts';
import type { AlertTransition } from '../../slo/status.ts';
import { AlertNotifier } from '../../slo/notify/notifier.ts';
import { fingerprint, ZERO_TIME } from '../../slo/notify/payload.ts';
import type { NotifyTarget } from '../../slo/notify/config.ts';
import { availabilitySlo, MINUTE, outcome } from './helpers.ts';

interface Received {
  path: string;
  body: unknown;
}

/** A real receiver on loopback; `respond` picks the status for the n-th request. */
async function receiver(respond: (n: number) => number | 'hang' = () => 200) {
  const received: Received[] = [];
  const hanging: Array<() => void> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = respond(received.length);
      received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      if (status === 'hang') hanging.push(() => res.end());
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    for (const h of hanging) h();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  after(close);
  return { url, received, close };
}

/** Drives an engine into a page firing, then resolved; returns the transitions. */
function pageTransitions(notify: string[]): AlertTransition[] {
  const clock = new ManualClock(60 * MINUTE);
  const out: AlertTransition[] = [];
  const engine = new SloEngine([availabilitySlo({ notify, alerting: { ...availabilitySlo().alerting, labels: { team: 'fraud' }, runbookUrl: 'https://runbooks/slo' } })], {
    clock,
    onTransition: (t) => out.push(t),
  });
  for (let i = 0; i < 100; i++) engine.record(outcome(clock.now() - i, '503'));
  engine.evaluate();
  clock.advance(61 * MINUTE);
  for (let i = 0; i < 100; i++) engine.record(outcome(clock.now() - i, '200'));
  engine.evaluate();
  return out.filter((t) => t.severity === 'page');
}

const target = (name: string, kind: NotifyTarget['kind'], url: string): NotifyTarget => ({ name, kind, url, timeoutMs: 2000 });

test('firing and resolved alerts reach a webhook as Alertmanager version 4 payloads', async () => {
  const rx = await receiver();
  const notifier = new AlertNotifier({ targets: [target('oncall', 'webhook', `${rx.url}/hook`)], clock: new ManualClock(0), externalUrl: 'http://proxy:9000' });
  const [firing, resolved] = pageTransitions(['oncall']);
  notifier.notify(firing!);
  notifier.notify(resolved!);
  await notifier.idle();
  assert.equal(rx.received.length, 2);
  const [a, b] = rx.received.map((r) => r.body as Record<string, any>);
  assert.equal(rx.received[0]!.path, '/hook');
  assert.equal(a!.version, '4');
  assert.equal(a!.status, 'firing');
  assert.equal(a!.receiver, 'oncall');
  assert.deepEqual(a!.groupLabels, { alertname: 'ModelgateSLOErrorBudgetBurn', slo: 'fraud-availability' });
  const alert = a!.alerts[0];
  assert.deepEqual(alert.labels, { alertname: 'ModelgateSLOErrorBudgetBurn', slo: 'fraud-availability', model: 'fraud', version: '2', severity: 'page', team: 'fraud' });
  assert.equal(alert.annotations.summary, 'fraud version 2 is burning the fraud-availability error budget fast');
  assert.equal(alert.annotations.runbook_url, 'https://runbooks/slo');
  assert.equal(alert.endsAt, ZERO_TIME);
  assert.equal(alert.fingerprint, fingerprint(alert.labels));
  assert.equal(alert.generatorURL, 'http://proxy:9000/api/v1/slos');
  assert.equal(b!.status, 'resolved');
  assert.equal(b!.alerts[0].startsAt, alert.startsAt);
  assert.ok(Date.parse(b!.alerts[0].endsAt) > Date.parse(alert.startsAt));
  assert.equal(b!.alerts[0].fingerprint, alert.fingerprint);
  assert.deepEqual(notifier.stats, { sent: 2, failed: 0, dropped: 0, retries: 0 });
  await notifier.close();
});

test('an Alertmanager target gets postable alerts at /api/v2/alerts, firing ones with a future endsAt', async () => {
  const rx = await receiver();
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const notifier = new AlertNotifier({ targets: [target('am', 'alertmanager', rx.url)], clock, resendMs: 60_000 });
  const [firing] = pageTransitions(['am']);
  notifier.notify(firing!);
  await notifier.idle();
  assert.equal(rx.received[0]!.path, '/api/v2/alerts');
  const [alert] = rx.received[0]!.body as Array<Record<string, any>>;
  assert.equal(alert!.labels.severity, 'page');
  assert.equal(alert!.endsAt, '2026-01-01T00:04:00.000Z');
  assert.equal(alert!.fingerprint, undefined);
  await notifier.close();
});

test('Alertmanager targets get firing alerts re-sent until they resolve, as Prometheus does', async () => {
  const rx = await receiver();
  const notifier = new AlertNotifier({ targets: [target('am', 'alertmanager', rx.url)], clock: new ManualClock(0), resendMs: 10 });
  const [firing, resolved] = pageTransitions(['am']);
  notifier.notify(firing!);
  while (rx.received.length < 3) await new Promise((r) => setTimeout(r, 5));
  notifier.notify(resolved!);
  await notifier.idle();
  const last = (rx.received[rx.received.length - 1]!.body as Array<Record<string, any>>)[0]!;
  assert.notEqual(last.endsAt, undefined);
  const count = rx.received.length;
  await new Promise((r) => setTimeout(r, 50));
  await notifier.idle();
  assert.equal(rx.received.length, count, 'no re-sends after resolving');
  await notifier.close();
});

test('a receiver that fails twice gets the alert on the third attempt', async () => {
  const rx = await receiver((n) => (n < 2 ? 503 : 200));
  const notifier = new AlertNotifier({ targets: [target('oncall', 'webhook', rx.url)], clock: new ManualClock(0), retry: { baseMs: 2, maxMs: 10 } });
  notifier.notify(pageTransitions(['oncall'])[0]!);
  await notifier.idle();
  assert.equal(rx.received.length, 3);
  assert.deepEqual(notifier.stats, { sent: 1, failed: 0, dropped: 0, retries: 2 });
  await notifier.close();
});

test('a receiver that is down never blocks notify; the notification is given up after the last retry', async () => {
  const rx = await receiver();
  await rx.close();
  const errors: string[] = [];
  const notifier = new AlertNotifier({
    targets: [target('oncall', 'webhook', rx.url)],
    clock: new ManualClock(0),
    retry: { attempts: 3, baseMs: 1, maxMs: 4 },
    onError: (_t, m) => errors.push(m),
  });
  const [firing] = pageTransitions(['oncall']);
  notifier.notify(firing!); // returns before any network I/O completes
  assert.equal(notifier.stats.sent + notifier.stats.failed, 0);
  await notifier.idle();
  assert.deepEqual(notifier.stats, { sent: 0, failed: 1, dropped: 0, retries: 2 });
  assert.match(errors[0]!, /giving up/);
  await notifier.close();
});

test('a receiver that does not answer fills a bounded queue; the oldest notifications are dropped and counted', async () => {
  const rx = await receiver(() => 'hang');
  const notifier = new AlertNotifier({ targets: [target('oncall', 'webhook', rx.url)], clock: new ManualClock(0), maxQueue: 2, retry: { attempts: 1 } });
  const [firing] = pageTransitions(['oncall']);
  for (let i = 0; i < 5; i++) notifier.notify(firing!); // 1 in flight, 2 queued, 2 dropped
  assert.equal(notifier.stats.dropped, 2);
  await notifier.close();
});

test('a 4xx from the receiver is not retried', async () => {
  const rx = await receiver(() => 400);
  const notifier = new AlertNotifier({ targets: [target('oncall', 'webhook', rx.url)], clock: new ManualClock(0), retry: { baseMs: 1 } });
  notifier.notify(pageTransitions(['oncall'])[0]!);
  await notifier.idle();
  assert.deepEqual([rx.received.length, notifier.stats.failed, notifier.stats.retries], [1, 1, 0]);
  await notifier.close();
});

test('fingerprints are FNV-1a 64 over sorted labels, as Alertmanager computes them', () => {
  assert.equal(fingerprint({}), 'cbf29ce484222325'); // the FNV-64 offset basis: the empty label set
  assert.equal(fingerprint({ a: '1', b: '2' }), fingerprint({ b: '2', a: '1' }));
  assert.notEqual(fingerprint({ a: '1' }), fingerprint({ a: '2' }));
  assert.notEqual(fingerprint({ ab: 'c' }), fingerprint({ a: 'bc' }));
  assert.match(fingerprint({ alertname: 'x' }), /^[0-9a-f]{16}$/);
});
