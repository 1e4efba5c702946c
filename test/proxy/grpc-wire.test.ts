import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { FrameReader, KNOWN_METHODS, frame, parseGrpcTimeout, pinRequestVersion, readRequestModel, readResponseVersion } from '../../proxy/index.ts';

// Reference encoder: protobufjs from a JSON descriptor of the upstream protos' fields.
const root = protobuf.Root.fromJSON({
  nested: {
    Int64Value: { fields: { value: { type: 'int64', id: 1 } } },
    ModelSpec: {
      oneofs: { versionChoice: { oneof: ['version', 'versionLabel'] } },
      fields: { name: { type: 'string', id: 1 }, version: { type: 'Int64Value', id: 2 }, signatureName: { type: 'string', id: 3 }, versionLabel: { type: 'string', id: 4 } },
    },
    PredictRequest: { fields: { modelSpec: { type: 'ModelSpec', id: 1 }, outputFilter: { rule: 'repeated', type: 'string', id: 3 } } },
    PredictResponse: { fields: { modelSpec: { type: 'ModelSpec', id: 2 } } },
    ModelInferRequest: { fields: { modelName: { type: 'string', id: 1 }, modelVersion: { type: 'string', id: 2 }, id: { type: 'string', id: 3 } } },
  },
});
const PredictRequest = root.lookupType('PredictRequest');
const PredictResponse = root.lookupType('PredictResponse');
const ModelInferRequest = root.lookupType('ModelInferRequest');
const predict = KNOWN_METHODS.get('/tensorflow.serving.PredictionService/Predict')!;
const infer = KNOWN_METHODS.get('/inference.GRPCInferenceService/ModelInfer')!;

const REQUESTS: Array<[string, Record<string, unknown>, Record<string, string>]> = [
  ['a name only', { modelSpec: { name: 'fraud' } }, { model: 'fraud' }],
  ['a name and a version', { modelSpec: { name: 'fraud', version: { value: 2 } } }, { model: 'fraud', version: '2' }],
  ['a version of 0 (an empty Int64Value)', { modelSpec: { name: 'fraud', version: {} } }, { model: 'fraud', version: '0' }],
  ['a large int64 version', { modelSpec: { name: 'm', version: { value: '9007199254740993' } } }, { model: 'm', version: '9007199254740993' }],
  ['a label and other fields', { modelSpec: { name: 'fraud', versionLabel: 'canary', signatureName: 's' }, outputFilter: ['a'] }, { model: 'fraud', label: 'canary' }],
];
for (const [name, msg, want] of REQUESTS) {
  test(`a PredictRequest with ${name} decodes to ${JSON.stringify(want)}`, () => {
    assert.deepEqual(readRequestModel(predict, PredictRequest.encode(msg).finish()), want);
  });
}

test('a ModelInferRequest names its model and version; an empty version means none', () => {
  assert.deepEqual(readRequestModel(infer, ModelInferRequest.encode({ modelName: 'fraud', modelVersion: '2', id: 'x' }).finish()), { model: 'fraud', version: '2' });
  assert.deepEqual(readRequestModel(infer, ModelInferRequest.encode({ modelName: 'fraud', id: 'x' }).finish()), { model: 'fraud' });
});

test('garbage bytes decode to nothing instead of throwing', () => {
  assert.deepEqual(readRequestModel(predict, Buffer.from([0x0a, 0xff, 0xff, 0xff])), {});
});

test('pinning a PredictRequest that named a label leaves the version set and the label gone, other fields intact', () => {
  const msg = PredictRequest.encode({ modelSpec: { name: 'fraud', versionLabel: 'canary', signatureName: 'sig' }, outputFilter: ['label'] }).finish();
  const pinned = PredictRequest.toObject(PredictRequest.decode(pinRequestVersion(predict, msg, '2')), { longs: String, oneofs: true });
  assert.deepEqual(pinned, { modelSpec: { name: 'fraud', version: { value: '2' }, signatureName: 'sig', versionChoice: 'version' }, outputFilter: ['label'] });
});

test('pinning a ModelInferRequest replaces its version', () => {
  const msg = ModelInferRequest.encode({ modelName: 'fraud', modelVersion: '1', id: 'r' }).finish();
  assert.deepEqual(ModelInferRequest.toObject(ModelInferRequest.decode(pinRequestVersion(infer, msg, '2'))), { modelName: 'fraud', modelVersion: '2', id: 'r' });
});

test('a PredictResponse names the version that served', () => {
  assert.equal(readResponseVersion(predict, PredictResponse.encode({ modelSpec: { name: 'fraud', version: { value: 3 } } }).finish()), '3');
});

test('the frame reader splits messages across and within chunks and refuses oversized ones', () => {
  const a = frame(Buffer.from('hello'));
  const b = frame(Buffer.from('world!'));
  const all = Buffer.concat([a, b]);
  const r = new FrameReader(100);
  const got: string[] = [];
  for (let i = 0; i < all.length; i += 3) for (const m of r.push(all.subarray(i, i + 3))) got.push(m.message.toString());
  assert.deepEqual(got, ['hello', 'world!']);
  assert.throws(() => new FrameReader(3).push(a), RangeError);
  // A chunk that is exactly one message, then one holding two, then a message in halves.
  const whole = new FrameReader(100);
  assert.deepEqual(whole.push(a).map((m) => m.message.toString()), ['hello']);
  assert.deepEqual(whole.push(all).map((m) => m.message.toString()), ['hello', 'world!']);
  assert.deepEqual(whole.push(b.subarray(0, 7)), []);
  assert.deepEqual(whole.push(b.subarray(7)).map((m) => m.message.toString()), ['world!']);
  assert.equal(whole.buffered, 0);
});

const TIMEOUTS: Array<[string | undefined, number | undefined]> = [
  ['100m', 100], ['2S', 2000], ['1M', 60_000], ['1H', 3_600_000], ['5000u', 5], ['7', undefined], [undefined, undefined], ['123456789S', undefined],
];
for (const [v, ms] of TIMEOUTS) test(`grpc-timeout ${v} is ${ms} ms`, () => assert.equal(parseGrpcTimeout(v), ms));

test('a pinned PredictRequest carries exactly one model_spec, so decoders that replace rather than merge keep the name (regression: protobufjs 7 lost it)', () => {
  const msg = PredictRequest.encode({ modelSpec: { name: 'fraud', signatureName: 'sig' }, outputFilter: ['label'] }).finish();
  const pinned = pinRequestVersion(predict, msg, '2');
  const r = protobuf.Reader.create(pinned);
  let specs = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) specs++;
    r.skipType(tag & 7);
  }
  assert.equal(specs, 1);
  assert.deepEqual(readRequestModel(predict, pinned), { model: 'fraud', version: '2' });
});
