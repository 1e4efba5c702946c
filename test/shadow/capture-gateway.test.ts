// Capture as users run it: the gateway in front of the real server writes a sampled share of
// the fraud model's REST and gRPC exchanges to capture.jsonl, and `modelgate replay` of that
// file finds exactly the rows a wrong version changes.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Issues } from '../../common/index.ts';
import { SHADOW_METRIC } from '../../common/conventions.ts';
import { fraud, fraudFlipping, fraudFlips } from '../../examples/models.ts';
import { fraudRows, type FraudRow } from '../../examples/data/fraud-reference.ts';
import type { RunningServer } from '../../server/index.ts';
import { servingServices } from '../../server/grpc/protos.ts';
import { CAPTURE_FILE, parseRecord, validateCapture, type CaptureRecord } from '../../shadow/index.ts';
import { run as replayCli } from '../../cli/commands/replay.ts';
import { TempRepo } from '../helpers/repo.ts';
import { fraudPredictRequest } from './fraud-grpc.ts';
import { ALL_VERSIONS, servedModel, startTestServer } from '../helpers/server.ts';
import { exampleConfig, startTestGateway, withoutDrift, type TestGateway } from '../helpers/gateway.ts';
import { parseMetrics, sample } from '../proxy/helpers.ts';

const REST = 400;
const GRPC = 100;
const OTHER = 50;
const FLIP = 0.1;

describe('capture through the gateway, then replay', () => {
  let repo: TempRepo;
  let server: RunningServer;
  let gw: TestGateway;
  let dir: string;
  let rows: FraudRow[];
  let records: CaptureRecord[];
  let metrics: ReturnType<typeof parseMetrics>;

  before(async () => {
    repo = await TempRepo.create();
    await repo.writeVersion('fraud', 1, fraud(1));
    await repo.writeVersion('fraud', 2, fraudFlipping(FLIP));
    await repo.writeVersion('fraud', 3, fraud(1));
    await repo.copyExample('half_plus_two');
    server = await startTestServer(
      [servedModel('fraud', repo.path('fraud'), { policy: ALL_VERSIONS, labels: { stable: 1 } }), servedModel('half_plus_two', repo.path('half_plus_two'))],
      { grpcPort: 0 },
    );
    dir = await mkdtemp(join(tmpdir(), 'modelgate-capture-'));
    const issues = new Issues();
    // Every fraud exchange, none of half_plus_two's.
    const capture = validateCapture({ dir, sample: 1, models: ['fraud'], fields: ['time', 'requestId', 'model', 'version', 'api', 'protocol', 'path', 'method', 'contentType', 'request', 'response', 'latency'] }, 'capture', issues);
    assert.ok(issues.ok && capture);
    gw = await startTestGateway(server.restUrl, {
      config: { ...withoutDrift(exampleConfig()), capture },
      proxy: (p) => ({ ...p, grpc: { host: '127.0.0.1', port: 0, upstream: server.grpcAddress! } }),
    });
    rows = fraudRows(REST + GRPC, 11);
    for (let i = 0; i < REST; i += 50) {
      await Promise.all(rows.slice(i, i + 50).map(async (row) => {
        const res = await fetch(`${gw.proxy.restUrl}/v1/models/fraud/versions/1:predict`, { method: 'POST', body: JSON.stringify({ instances: [row] }) });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }));
    }
    for (let i = 0; i < OTHER; i++) {
      const res = await fetch(`${gw.proxy.restUrl}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances":[1.0]}' });
      await res.arrayBuffer();
    }
    const svc = servingServices().predictionService;
    const Client = grpc.makeGenericClientConstructor(svc, 'PredictionService');
    const client = new Client(gw.proxy.grpcAddress!, grpc.credentials.createInsecure()) as unknown as Record<string, Function>;
    for (const row of rows.slice(REST)) {
      const req = fraudPredictRequest(row, '1');
      await new Promise((resolve, reject) => client['Predict']!.call(client, req, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
    }
    (client as unknown as grpc.Client).close();
    // The drain flushes the capture file: nothing offered before it is lost.
    await gw.drain(5_000);
    metrics = parseMetrics(await gw.registry.metrics());
    records = (await readFile(join(dir, CAPTURE_FILE), 'utf8')).trim().split('\n').map((l) => {
      const r = parseRecord(l);
      assert.ok(typeof r !== 'string', r as string);
      return r;
    });
  });

  after(async () => {
    await gw?.close();
    await server?.close();
    await repo?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function replay(t: TestContext, ...args: string[]): Promise<{ code: number; report: any }> {
    const out: string[] = [];
    t.mock.method(console, 'log', (...a: unknown[]) => out.push(a.join(' ')));
    const code = await replayCli(['--from', join(dir, CAPTURE_FILE), '--target', server.restUrl, '--grpc_target', server.grpcAddress!, '--json', ...args]);
    t.mock.restoreAll();
    return { code, report: JSON.parse(out.join('\n')) };
  }

  test('every fraud exchange of both protocols is written once, with its request id and latency; other models are not captured', () => {
    assert.equal(records.length, REST + GRPC);
    assert.ok(records.every((r) => r.model === 'fraud' && r.version === '1'));
    assert.equal(records.filter((r) => r.protocol === 'rest').length, REST);
    assert.equal(records.filter((r) => r.protocol === 'grpc').length, GRPC);
    assert.equal(new Set(records.map((r) => r.requestId)).size, REST + GRPC, 'request ids are unique');
    assert.ok(records.every((r) => typeof r.latencyMs === 'number' && r.latencyMs >= 0));
    assert.equal(records.find((r) => r.protocol === 'rest')!.path, '/v1/models/fraud/versions/1:predict');
  });

  test('what was written is counted per model', () => {
    assert.equal(sample(metrics, SHADOW_METRIC.captured, { model: 'fraud', outcome: 'written' }), REST + GRPC);
    assert.equal(sample(metrics, SHADOW_METRIC.captured, { model: 'half_plus_two', outcome: 'written' }), undefined);
  });

  test('replaying the capture against a version wrong on 10% of rows finds exactly those rows and fails the gate', async (t) => {
    const { code, report } = await replay(t, '--version', '2', '--max_disagreement', '1%');
    assert.equal(code, 1);
    assert.equal(report.replayed, REST + GRPC);
    const expected = rows.filter((r) => fraudFlips(FLIP, r.amount, r.distance_km)).length;
    assert.equal(report.comparison.disagreeingRows, expected);
  });

  test('replaying it against an identical version finds no difference and passes', async (t) => {
    const { code, report } = await replay(t, '--version', '3', '--max_disagreement', '1%');
    assert.equal(code, 0);
    assert.equal(report.comparison.disagreeingRows, 0);
  });
});
