// Outcome batches between a proxy worker and the primary: what the worker's recorder made is
// what the primary reads, field for field, after the structured clone the IPC channel does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestOutcome } from '../../common/index.ts';
import { OutcomeColumnsWriter, readOutcomeColumns } from '../../app/outcome-batch.ts';

const plain: RequestOutcome = {
  model: 'fraud', version: '2', api: 'predict', protocol: 'rest', variant: 'canary', code: '200',
  durationSeconds: 0.0123, endMs: 1_796_000_000_123, httpStatus: 200,
  requestId: '0f0e6a4c-5b1d-4c1e-9a43-6d2f3b9c8e71', traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  requestBytes: 161, responseBytes: 98,
};
const grpcRejected: RequestOutcome = {
  model: 'fraud', version: 'unknown', api: 'predict', protocol: 'grpc', variant: 'direct', code: 'RESOURCE_EXHAUSTED',
  durationSeconds: 0, endMs: 1_796_000_000_200, grpcCode: 8, pinned: true, requestId: 'client.id:7_x-y',
  identity: 'team a', rejected: 'rate_limited', requestBytes: 0, responseBytes: 0,
};
const bare: RequestOutcome = {
  model: '', version: 'unknown', api: 'health', protocol: 'rest', variant: 'direct', code: '0',
  durationSeconds: 1.5e-7, endMs: 0,
};

const overIpc = <T>(v: T): T => structuredClone(v);

test('a batch read in the primary holds the outcomes the worker wrote, optional fields absent where they were', () => {
  const w = new OutcomeColumnsWriter(8);
  for (const o of [plain, grpcRejected, bare, plain]) w.push(o);
  assert.equal(w.length, 4);
  const read = readOutcomeColumns(overIpc(w.take()));
  assert.deepEqual(read, [plain, grpcRejected, bare, plain]);
  assert.equal('httpStatus' in read[2]!, false);
  assert.equal('pinned' in read[0]!, false);
  assert.equal('traceId' in read[1]!, false);
});

test('each repeating string crosses once per batch', () => {
  const w = new OutcomeColumnsWriter(256);
  for (let i = 0; i < 256; i++) w.push({ ...plain, requestId: `id-${i}` });
  const c = w.take();
  assert.deepEqual(c.strings, ['fraud', '2', 'predict', 'rest', 'canary', '200']);
  assert.equal(readOutcomeColumns(overIpc(c))[255]!.requestId, 'id-255');
});

test('the writer starts empty after take, and a batch of none reads as none', () => {
  const w = new OutcomeColumnsWriter(2);
  w.push(plain);
  w.push(bare);
  assert.throws(() => w.push(plain), /at most 2 outcomes/);
  assert.deepEqual(readOutcomeColumns(w.take()), [plain, bare]);
  assert.equal(w.length, 0);
  assert.deepEqual(readOutcomeColumns(w.take()), []);
  w.push(grpcRejected);
  const again = w.take();
  assert.deepEqual(again.strings, ['fraud', 'unknown', 'predict', 'grpc', 'direct', 'RESOURCE_EXHAUSTED', 'team a', 'rate_limited']);
  assert.deepEqual(readOutcomeColumns(again), [grpcRejected]);
});

test('an id with a space is refused at the writer, not turned into a batch the primary misreads', () => {
  const w = new OutcomeColumnsWriter(4);
  assert.throws(() => w.push({ ...plain, requestId: 'a b' }), /id with a space/);
  w.push(plain);
  assert.deepEqual(readOutcomeColumns(w.take()), [plain]);
});

test('a malformed batch is an error, not outcomes made up', () => {
  const w = new OutcomeColumnsWriter(4);
  w.push(plain);
  w.push(bare);
  const c = w.take();
  assert.throws(() => readOutcomeColumns({ ...c, n: 3 }), /malformed outcome batch/);
  assert.throws(() => readOutcomeColumns({ ...c, ids: 'x y z' }), /malformed outcome batch/);
  assert.throws(() => readOutcomeColumns({ ...c, strings: ['fraud'] }), /malformed outcome batch: string 2 of 1/);
});
