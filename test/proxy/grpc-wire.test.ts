import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { seededRandom } from '../../common/random.ts';
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

// The reading side scans bytes itself; protobufjs's Reader (what it replaced) is the oracle:
// on any bytes, valid or not, both give the same model reference (or both {} when malformed).
const { Reader, Writer } = protobuf;
type Ref = { model?: string; version?: string; label?: string };
function eachFieldRef(buf: Uint8Array, visit: (field: number, wire: number, r: protobuf.Reader) => boolean): void {
  const r = Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (!visit(tag >>> 3, tag & 7, r)) r.skipType(tag & 7);
  }
}
function specRef(buf: Uint8Array): Ref {
  const out: Ref = {};
  eachFieldRef(buf, (field, wire, r) => {
    if (wire !== 2) return false;
    if (field === 1) out.model = r.string();
    else if (field === 2) {
      let value = '0';
      eachFieldRef(r.bytes(), (f, w, inner) => {
        if (f !== 1 || w !== 0) return false;
        value = inner.int64().toString();
        return true;
      });
      out.version = value;
      delete out.label;
    } else if (field === 4) {
      out.label = r.string();
      delete out.version;
    } else return false;
    return true;
  });
  return out;
}
function oracle(kind: 'spec1' | 'spec2' | 'kserve', buf: Uint8Array): Ref {
  try {
    if (kind === 'kserve') {
      const out: Ref = {};
      eachFieldRef(buf, (field, wire, r) => {
        if (wire !== 2) return false;
        if (field === 1) out.model = r.string();
        else if (field === 2) {
          const v = r.string();
          if (v) out.version = v;
          else delete out.version;
        } else return false;
        return true;
      });
      return out;
    }
    const at = kind === 'spec1' ? 1 : 2;
    let out: Ref = {};
    eachFieldRef(buf, (field, wire, r) => {
      if (field !== at || wire !== 2) return false;
      out = { ...out, ...specRef(r.bytes()) };
      return true;
    });
    return out;
  } catch {
    return {};
  }
}

function randomMessage(rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  const name = () => ['fraud', 'm', '', 'ünïcode', 'a'.repeat(int(200))][int(5)]!;
  const int64 = () => [0, 1, 7, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, -1, -300, '9007199254740993', '-9223372036854775808', '9223372036854775807'][int(13)]!;
  const unknown = (w: protobuf.Writer, depth: number) => {
    const field = 1 + int(20);
    switch (int(5)) {
      case 0: w.uint32((field << 3) | 0).int64(int64()); break;
      case 1: w.uint32((field << 3) | 1).fixed64(int(1000)); break;
      case 2: w.uint32((field << 3) | 2).bytes(Buffer.from(name())); break;
      case 3: w.uint32((field << 3) | 5).fixed32(int(1000)); break;
      default:
        w.uint32((field << 3) | 3);
        if (depth < 2) unknown(w, depth + 1);
        w.uint32((field << 3) | 4);
    }
  };
  const spec = () => {
    const w = Writer.create();
    for (let i = int(5); i > 0; i--) {
      const k = int(5);
      if (k === 0) w.uint32((1 << 3) | 2).string(name());
      else if (k === 1) {
        const v = Writer.create();
        for (let j = int(3); j > 0; j--) (rand() < 0.8 ? v.uint32((1 << 3) | 0).int64(int64()) : unknown(v, 0));
        w.uint32((2 << 3) | 2).bytes(v.finish());
      } else if (k === 2) w.uint32((4 << 3) | 2).string(name());
      else if (k === 3) w.uint32((3 << 3) | 2).string('serving_default');
      else unknown(w, 0);
    }
    return w.finish();
  };
  const w = Writer.create();
  for (let i = int(5); i > 0; i--) {
    const k = int(4);
    if (k <= 1) w.uint32(((1 + k) << 3) | 2).bytes(spec());
    else if (k === 2) w.uint32((1 << 3) | 2).string(name()); // KServe's model_name (and a bad spec for TF)
    else unknown(w, 0);
  }
  let bytes: Uint8Array = w.finish();
  // A third of them damaged: cut short, or a byte changed.
  const damage = int(3);
  if (damage === 1 && bytes.length > 0) bytes = bytes.subarray(0, int(bytes.length));
  else if (damage === 2 && bytes.length > 0) {
    bytes = Buffer.from(bytes);
    bytes[int(bytes.length)] = int(256);
  }
  return bytes;
}

test('model references read from 20,000 random messages, valid and damaged, are what protobufjs reads', () => {
  const rand = seededRandom(20261207);
  const response = KNOWN_METHODS.get('/tensorflow.serving.PredictionService/Predict')!;
  for (let i = 0; i < 20_000; i++) {
    const bytes = randomMessage(rand);
    const hex = Buffer.from(bytes).toString('hex');
    assert.deepEqual(readRequestModel(predict, bytes), oracle('spec1', bytes), `request spec ${hex}`);
    assert.equal(readResponseVersion(response, bytes), oracle('spec2', bytes).version, `response spec ${hex}`);
    assert.deepEqual(readRequestModel(infer, bytes), oracle('kserve', bytes), `kserve ${hex}`);
  }
});
