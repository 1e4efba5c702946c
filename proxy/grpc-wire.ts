// The little of the gRPC wire format the proxy reads: message framing, and the model spec
// of the inference services' requests and responses. Everything else passes as raw bytes.
//
// Framing (grpc/doc/PROTOCOL-HTTP2.md "Length-Prefixed-Message"): 1 byte compressed flag,
// 4 bytes big-endian length, then the message.
//
// Field numbers (hand-decoded with protobufjs Reader, no generated code):
//  tensorflow_serving/apis/model.proto       ModelSpec { name = 1; google.protobuf.Int64Value version = 2;
//                                            signature_name = 3; version_label = 4 }  (version/version_label: oneof)
//  google/protobuf/wrappers.proto            Int64Value { int64 value = 1 }
//  tensorflow_serving/apis/predict.proto     PredictRequest { ModelSpec model_spec = 1 }  PredictResponse { ModelSpec model_spec = 2 }
//  .../classification.proto, regression.proto  *Request { model_spec = 1 }  *Response { model_spec = 2 }
//  .../get_model_metadata.proto              GetModelMetadataRequest/Response { model_spec = 1 }
//  .../get_model_status.proto                GetModelStatusRequest { model_spec = 1 }
//  kserve grpc_predict_v2.proto              ModelInferRequest/Response { model_name = 1; model_version = 2 }
//                                            ModelReadyRequest, ModelMetadataRequest { name = 1; version = 2 }
import protobuf from 'protobufjs/minimal.js';
import type { Api } from '../common/index.ts';

const { Reader, Writer } = protobuf;

export const FRAME_HEADER_BYTES = 5;

/** What a method's messages look like, for the methods the proxy understands. */
export interface MethodShape {
  api: Api;
  /** Where the model is named in the request: TF Serving ModelSpec at a field, or KServe name/version fields. */
  request: { kind: 'modelSpec'; field: number } | { kind: 'kserve' } | { kind: 'none' };
  /** Where the response names the version that served, if anywhere. */
  response: { kind: 'modelSpec'; field: number } | { kind: 'kserve' } | { kind: 'none' };
}

const TF = 'tensorflow.serving.PredictionService';
const TF_MODEL = 'tensorflow.serving.ModelService';
const V2 = 'inference.GRPCInferenceService';

const spec = (field: number) => ({ kind: 'modelSpec' as const, field });
const kserve = { kind: 'kserve' as const };
const none = { kind: 'none' as const };

export const KNOWN_METHODS: ReadonlyMap<string, MethodShape> = new Map<string, MethodShape>([
  [`/${TF}/Predict`, { api: 'predict', request: spec(1), response: spec(2) }],
  [`/${TF}/Classify`, { api: 'classify', request: spec(1), response: spec(2) }],
  [`/${TF}/Regress`, { api: 'regress', request: spec(1), response: spec(2) }],
  [`/${TF}/GetModelMetadata`, { api: 'metadata', request: spec(1), response: spec(1) }],
  [`/${TF_MODEL}/GetModelStatus`, { api: 'status', request: spec(1), response: none }],
  [`/${V2}/ModelInfer`, { api: 'infer', request: kserve, response: kserve }],
  [`/${V2}/ModelStreamInfer`, { api: 'infer', request: kserve, response: none }],
  [`/${V2}/ModelReady`, { api: 'status', request: kserve, response: none }],
  [`/${V2}/ModelMetadata`, { api: 'metadata', request: kserve, response: none }],
  [`/${V2}/ServerLive`, { api: 'health', request: none, response: none }],
  [`/${V2}/ServerReady`, { api: 'health', request: none, response: none }],
  [`/${V2}/ServerMetadata`, { api: 'metadata', request: none, response: none }],
]);

export interface ModelRef {
  model?: string;
  version?: string;
  label?: string;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/**
 * Calls `visit` with each field of a message; a field it does not read (it returns false)
 * is skipped.
 */
function eachField(buf: Uint8Array, visit: (field: number, wire: number, r: protobuf.Reader) => boolean): void {
  const r = Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (!visit(tag >>> 3, tag & 7, r)) r.skipType(tag & 7);
  }
}

/** Decodes a TF Serving ModelSpec message. */
export function decodeModelSpec(buf: Uint8Array): ModelRef {
  const out: ModelRef = {};
  eachField(buf, (field, wire, r) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) out.model = r.string();
    else if (field === 2) {
      let value = '0'; // Int64Value with the default 0 is encoded as an empty message
      eachField(r.bytes(), (f, w, inner) => {
        if (f !== 1 || w !== WIRE_VARINT) return false;
        value = inner.int64().toString();
        return true;
      });
      out.version = value;
      delete out.label; // oneof: the last member on the wire wins
    } else if (field === 4) {
      out.label = r.string();
      delete out.version;
    } else return false;
    return true;
  });
  return out;
}

/** Reads the model spec out of a message where it sits at `field` (merging repeated occurrences). */
function findModelSpec(buf: Uint8Array, at: number): ModelRef {
  let out: ModelRef = {};
  eachField(buf, (field, wire, r) => {
    if (field !== at || wire !== WIRE_LEN) return false;
    out = { ...out, ...decodeModelSpec(r.bytes()) };
    return true;
  });
  return out;
}

/** KServe messages: name at 1, version at 2, both strings. */
function findKserve(buf: Uint8Array): ModelRef {
  const out: ModelRef = {};
  eachField(buf, (field, wire, r) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) out.model = r.string();
    else if (field === 2) {
      const v = r.string();
      if (v) out.version = v; // proto3: "" means "server's choice"
      else delete out.version;
    } else return false;
    return true;
  });
  return out;
}

/** The model named by a request message, or {} if the method is unknown or the bytes do not parse. */
export function readRequestModel(shape: MethodShape, message: Uint8Array): ModelRef {
  try {
    if (shape.request.kind === 'modelSpec') return findModelSpec(message, shape.request.field);
    if (shape.request.kind === 'kserve') return findKserve(message);
  } catch {
    // Not our business to reject a message the upstream may accept; it is just not labelled.
  }
  return {};
}

/** The version named by a response message, if the shape carries one. */
export function readResponseVersion(shape: MethodShape, message: Uint8Array): string | undefined {
  try {
    if (shape.response.kind === 'modelSpec') return findModelSpec(message, shape.response.field).version;
    if (shape.response.kind === 'kserve') return findKserve(message).version;
  } catch {
    // see readRequestModel
  }
  return undefined;
}

/** Splits a message into the raw bytes of the fields it keeps and the payloads of LEN fields it drops. */
function partition(buf: Uint8Array, drop: ReadonlySet<number>): { kept: Uint8Array[]; dropped: Map<number, Uint8Array[]> } {
  const r = Reader.create(buf);
  const kept: Uint8Array[] = [];
  const dropped = new Map<number, Uint8Array[]>();
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    if (drop.has(field)) {
      if ((tag & 7) === WIRE_LEN) {
        const list = dropped.get(field) ?? [];
        list.push(r.bytes());
        dropped.set(field, list);
      } else r.skipType(tag & 7);
      continue;
    }
    r.skipType(tag & 7);
    kept.push(buf.subarray(start, r.pos));
  }
  return { kept, dropped };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/**
 * The request message with its version pinned. The model spec is rebuilt rather than
 * patched by appending a second occurrence: protobuf merges repeated embedded messages
 * (encoding guide, "Last One Wins"), but protobufjs 7 decoders — grpc-js servers built
 * with @grpc/proto-loader, modelgate's own among them — replace the first occurrence with
 * the second, losing the model name. So: every other field stays byte for byte; the spec's
 * name, signature and unknown fields stay; its version/version_label (a oneof) become the
 * pinned version. KServe's model_version (a string) is replaced the same way.
 */
export function pinRequestVersion(shape: MethodShape, message: Uint8Array, version: string): Uint8Array {
  if (shape.request.kind === 'modelSpec') {
    if (!/^\d+$/.test(version)) return message; // TF Serving versions are int64
    const field = shape.request.field;
    const outer = partition(message, new Set([field]));
    // Merging several occurrences = concatenating their bytes (protobuf merge semantics).
    const spec = partition(concat(outer.dropped.get(field) ?? []), new Set([2, 4]));
    const w = Writer.create();
    w.uint32((field << 3) | WIRE_LEN).fork();
    for (const part of spec.kept) w.raw(part);
    w.uint32((2 << 3) | WIRE_LEN).fork().uint32((1 << 3) | WIRE_VARINT).int64(version).ldelim();
    w.ldelim();
    return concat([w.finish(), ...outer.kept]);
  }
  if (shape.request.kind === 'kserve') {
    const outer = partition(message, new Set([2]));
    const w = Writer.create();
    w.uint32((2 << 3) | WIRE_LEN).string(version);
    return concat([...outer.kept, w.finish()]);
  }
  return message;
}

/** Frames a message: the compressed flag, big-endian length, bytes. */
export function frame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}

/** Splits a byte stream into length-prefixed messages. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #maxMessageBytes: number;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Adds bytes; returns the complete messages. Throws RangeError for a message over the limit. */
  push(chunk: Buffer): Array<{ compressed: boolean; message: Buffer }> {
    // The common case, a chunk that is exactly one whole message: no copy, no bookkeeping.
    if (this.#buffered === 0 && chunk.length >= FRAME_HEADER_BYTES) {
      const length = chunk.readUInt32BE(1);
      if (length > this.#maxMessageBytes) throw new RangeError(`message of ${length} bytes exceeds ${this.#maxMessageBytes}`);
      if (chunk.length === FRAME_HEADER_BYTES + length) return [{ compressed: chunk[0] === 1, message: chunk.subarray(FRAME_HEADER_BYTES) }];
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Array<{ compressed: boolean; message: Buffer }> = [];
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const head = this.#peek(FRAME_HEADER_BYTES);
      const length = head.readUInt32BE(1);
      if (length > this.#maxMessageBytes) throw new RangeError(`message of ${length} bytes exceeds ${this.#maxMessageBytes}`);
      if (this.#buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.#take(FRAME_HEADER_BYTES + length);
      out.push({ compressed: all[0] === 1, message: all.subarray(FRAME_HEADER_BYTES) });
    }
    return out;
  }

  get buffered(): number {
    return this.#buffered;
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined;
  }

  #take(n: number): Buffer {
    const joined = this.#peek(n);
    this.#buffered -= n;
    if (n === joined.length) {
      this.#chunks.length = 0;
      return joined;
    }
    this.#chunks = [joined.subarray(n)];
    return joined.subarray(0, n);
  }
}
