// `modelgate replay` against a real server on loopback: 1000 captured fraud requests (REST
// and gRPC Predict) recorded from version 1, replayed against a version that flips ~10% of
// the labels and against an identical copy.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fraud, fraudFlipping, fraudFlips } from '../../examples/models.ts';
import { fraudRows, type FraudRow } from '../../examples/data/fraud-reference.ts';
import { startServer, type RunningServer } from '../../server/index.ts';
import { servingServices } from '../../server/grpc/protos.ts';
import { systemClock } from '../../common/index.ts';
import { CaptureWriter, CAPTURE_FIELDS, parseRecord, type CaptureOutcome } from '../../shadow/index.ts';
import { run as replayCli } from '../../cli/commands/replay.ts';
import { TempRepo } from '../helpers/repo.ts';
import { fraudPredictRequest } from './fraud-grpc.ts';

const REST_ROWS = 900;
const GRPC_ROWS = 100;
const FLIP = 0.1;

describe('modelgate replay', () => {
  let repo: TempRepo;
  let server: RunningServer;
  let dir: string;
  let capture: string;
  let rows: FraudRow[];
  const counted = new Map<CaptureOutcome, number>();

  before(async () => {
    repo = await TempRepo.create();
    await repo.writeVersion('fraud', 1, fraud(1));
    await repo.writeVersion('fraud', 2, fraudFlipping(FLIP));
    await repo.writeVersion('fraud', 3, fraud(1));
    server = await startServer({
      host: '127.0.0.1', restPort: 0, grpcPort: 0, pollMs: 0, warmup: false,
      models: [{ name: 'fraud', basePath: repo.path('fraud'), policy: { kind: 'all' }, labels: { stable: 1 } }],
    });
    dir = await mkdtemp(join(tmpdir(), 'modelgate-replay-'));
    const writer = new CaptureWriter(
      { dir, fileName: 'capture.jsonl', maxFileBytes: 64 * 1024 * 1024, maxFiles: 2, fields: new Set(CAPTURE_FIELDS), maxQueueBytes: 64 * 1024 * 1024 },
      systemClock,
      { count: (_m, o) => counted.set(o, (counted.get(o) ?? 0) + 1) },
    );
    capture = writer.path;
    rows = fraudRows(REST_ROWS + GRPC_ROWS, 7);
    // REST: one row per request to the stable label, as clients send them through the proxy.
    for (let i = 0; i < REST_ROWS; i += 50) {
      await Promise.all(rows.slice(i, i + 50).map(async (row, k) => {
        const path = '/v1/models/fraud/labels/stable:predict';
        const body = JSON.stringify({ instances: [row] });
        const res = await fetch(`${server.restUrl}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 200);
        writer.offer({
          model: 'fraud', version: '1', api: 'predict', protocol: 'rest', path, contentType: 'application/json',
          requestBody: Buffer.from(body), responseBody: Buffer.from(await res.arrayBuffer()), requestId: `rest-${i + k}`, durationSeconds: 0.002,
        });
      }));
    }
    // gRPC Predict, version 1 named in the ModelSpec; the messages as they crossed the wire.
    const svc = servingServices().predictionService;
    const Client = grpc.makeGenericClientConstructor(svc, 'PredictionService');
    const client = new Client(server.grpcAddress!, grpc.credentials.createInsecure()) as unknown as Record<string, Function>;
    const predict = svc['Predict']!;
    for (const [k, row] of rows.slice(REST_ROWS).entries()) {
      const req = fraudPredictRequest(row, '1');
      const res = await new Promise<Record<string, unknown>>((resolve, reject) => client['Predict']!.call(client, req, (e: Error | null, r: Record<string, unknown>) => (e ? reject(e) : resolve(r))));
      writer.offer({
        model: 'fraud', version: '1', api: 'predict', protocol: 'grpc', method: predict.path, contentType: 'application/grpc',
        requestBody: predict.requestSerialize(req), responseBody: predict.responseSerialize(res), requestId: `grpc-${k}`,
      });
    }
    (client as unknown as grpc.Client).close();
    await writer.close();
  });

  after(async () => {
    await server?.close();
    await repo?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function replay(t: TestContext, ...args: string[]): Promise<{ code: number; report: any }> {
    const out: string[] = [];
    t.mock.method(console, 'log', (...a: unknown[]) => out.push(a.join(' ')));
    const code = await replayCli(['--from', capture, '--target', server.restUrl, '--grpc_target', server.grpcAddress!, '--json', ...args]);
    t.mock.restoreAll();
    return { code, report: JSON.parse(out.join('\n')) };
  }

  test('the capture file holds one replayable line per exchange', async () => {
    const lines = (await readFile(capture, 'utf8')).trim().split('\n');
    assert.equal(lines.length, REST_ROWS + GRPC_ROWS);
    assert.equal(counted.get('written'), REST_ROWS + GRPC_ROWS);
    const first = parseRecord(lines[0]!);
    assert.ok(typeof first !== 'string');
    assert.equal(first.path, '/v1/models/fraud/labels/stable:predict');
    const last = parseRecord(lines.at(-1)!);
    assert.ok(typeof last !== 'string' && last.requestBase64 && last.responseBase64, 'gRPC messages are kept as base64');
  });

  test('against a version that flips 10% of labels, replay reports ~10% disagreement and exits 1 at --max_disagreement 1%', async (t) => {
    const { code, report } = await replay(t, '--version', '2', '--max_disagreement', '1%', '--concurrency', '16');
    assert.equal(code, 1);
    assert.equal(report.replayed, REST_ROWS + GRPC_ROWS);
    assert.deepEqual(report.errors, {});
    const expected = rows.filter((r) => fraudFlips(FLIP, r.amount, r.distance_km)).length;
    assert.equal(report.comparison.disagreeingRows, expected, 'exactly the rows the flipping graph flips');
    const share = 1 - report.comparison.agreement;
    assert.ok(share > 0.07 && share < 0.13, `disagreement ${share}`);
    const label = report.comparison.columns.find((c: any) => c.key === 'label');
    assert.equal(label.kind, 'class');
    assert.equal(label.flips.reduce((a: number, f: any) => a + f.count, 0), expected);
    assert.equal(report.verdict.verdict, 'fail');
    assert.match(report.verdict.reasons[0], /of rows disagree \(max 1%\)/);
  });

  test('against an identical version, replay reports no disagreement and exits 0', async (t) => {
    const { code, report } = await replay(t, '--version', '3', '--max_disagreement', '1%');
    assert.equal(code, 0);
    assert.equal(report.comparison.pairs, REST_ROWS + GRPC_ROWS);
    assert.equal(report.comparison.disagreeingRows, 0);
    assert.equal(report.verdict.verdict, 'pass');
    assert.ok(report.latencySeconds.p99 > 0);
  });

  test('a version the server does not have is counted as errors, and fails the gate', async (t) => {
    const { code, report } = await replay(t, '--version', '9', '--model', 'fraud', '--rate', '2000');
    assert.equal(code, 1);
    assert.equal(report.errors['http_404'], REST_ROWS);
    assert.equal(report.errors['grpc_5'], GRPC_ROWS);
    assert.match(report.errorSamples[0].error, /404/);
  });

  test('usage errors exit through UsageError with a message that says what to give', async () => {
    await assert.rejects(replayCli(['--target', 'http://127.0.0.1:1']), /--from is required/);
    await assert.rejects(replayCli(['--from', capture, '--target', 'localhost:8501']), /base URL/);
    await assert.rejects(replayCli(['--from', capture, '--target', 'http://127.0.0.1:1', '--max_disagreement', 'lots']), /share such as 1%/);
  });
});
