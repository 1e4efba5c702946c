// The little of the gRPC wire format the proxy reads: message framing, and the model spec
// of the inference services' requests and responses. Everything else passes as raw bytes.
//
// Framing (grpc/doc/PROTOCOL-HTTP2.md "Length-Prefixed-Message"): 1 byte compressed flag,
// 4 bytes big-endian length, then the message.
//
// Field numbers (read by a scanner over the bytes below, written with protobufjs's Writer;
// no generated code):
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
const WIRE_64 = 1;
const WIRE_LEN = 2;
const WIRE_GROUP_START = 3;
const WIRE_GROUP_END = 4;
const WIRE_32 = 5;

// The reading side scans the wire bytes in place: no Reader, closure, sub-view or Long per
// field, so labelling a call allocates only the strings it returns (protobufjs's Reader made
// about a tenth of what a proxied gRPC call allocated). Writing (pinRequestVersion, rare)
// keeps protobufjs. Malformed bytes throw RangeError, as protobufjs's Reader does.

/** Where the last varint() or skip() stopped: module state, so reads return plain numbers. */
let pos = 0;

function truncated(): never {
  throw new RangeError('protobuf message truncated');
}

/** A varint at `at` as an unsigned 32-bit number (higher bits dropped, as protobufjs uint32()); sets `pos`. */
function varint(buf: Uint8Array, at: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (at >= end) truncated();
    const b = buf[at++]!;
    if (shift < 32) value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      pos = at;
      return value >>> 0;
    }
  }
  throw new RangeError('protobuf varint longer than 10 bytes');
}

/**
 * A varint of at most 5 bytes whose fifth byte is at most `maxLast`; sets `pos`. Lengths
 * (protobufjs size()): 7, below 2^31. Tags inside groups (protobufjs tag()): 15, 32 bits.
 */
function shortVarint(buf: Uint8Array, at: number, end: number, maxLast: number): number {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (at >= end) truncated();
    const b = buf[at++]!;
    value |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      pos = at;
      return value >>> 0;
    }
  }
  if (at >= end) truncated();
  const last = buf[at++]!;
  if (last > maxLast) throw new RangeError(`protobuf varint too large (${maxLast === 7 ? 'a length of 2^31 or more' : 'a tag over 32 bits'})`);
  pos = at;
  return (value | (last << 28)) >>> 0;
}

const length = (buf: Uint8Array, at: number, end: number): number => shortVarint(buf, at, end, 7);
const groupTag = (buf: Uint8Array, at: number, end: number): number => shortVarint(buf, at, end, 15);

/** An int64 varint at `at` as its decimal string (signed, as protobufjs int64().toString()); sets `pos`. */
function int64String(buf: Uint8Array, at: number, end: number): string {
  let small = 0; // exact while at most 7 bytes (49 bits)
  for (let i = 0; i < 7; i++) {
    if (at + i >= end) truncated();
    const b = buf[at + i]!;
    small += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      pos = at + i + 1;
      return String(small);
    }
  }
  let big = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= end) truncated();
    const b = buf[at + i]!;
    big |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) {
      pos = at + i + 1;
      return BigInt.asIntN(64, big).toString();
    }
  }
  throw new RangeError('protobuf varint longer than 10 bytes');
}

/** Nested groups deeper than this are refused (protobufjs's and protoc's recursion limit). */
const MAX_GROUP_DEPTH = 100;

/**
 * Skips a field's value of wire type `wire` starting at `at`; sets `pos`. As protobufjs 8's
 * skipType: inside a group, field number 0 is refused and a nested group must end with its
 * own number; a varint being skipped may be of any length.
 */
function skip(buf: Uint8Array, at: number, end: number, wire: number, depth = 0, field = -1): void {
  if (depth > MAX_GROUP_DEPTH) throw new RangeError('protobuf groups nested too deep');
  switch (wire) {
    case WIRE_VARINT:
      do if (at >= end) truncated();
      while (buf[at++]! >= 0x80);
      pos = at;
      return;
    case WIRE_64:
      if (at + 8 > end) truncated();
      pos = at + 8;
      return;
    case WIRE_LEN: {
      const n = length(buf, at, end);
      if (pos + n > end) truncated();
      pos += n;
      return;
    }
    case WIRE_GROUP_START:
      for (;;) {
        const tag = groupTag(buf, at, end);
        const nested = tag >>> 3;
        if (nested === 0) throw new RangeError('protobuf field number 0');
        if ((tag & 7) === WIRE_GROUP_END) {
          if (field >= 0 && nested !== field) throw new RangeError('protobuf group ends with another field number');
          return;
        }
        skip(buf, pos, end, tag & 7, depth + 1, nested);
        at = pos;
      }
    case WIRE_32:
      if (at + 4 > end) truncated();
      pos = at + 4;
      return;
    default:
      throw new RangeError(`protobuf wire type ${wire} where a field was expected`);
  }
}

/** UTF-8 text of buf[from, to). */
function text(buf: Uint8Array, from: number, to: number): string {
  return Buffer.isBuffer(buf) ? buf.toString('utf8', from, to) : Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('utf8');
}

/** A model reference with only the members that are set (callers compare whole objects). */
function modelRef(model: string | undefined, version: string | undefined, label: string | undefined): ModelRef {
  const out: ModelRef = {};
  if (model !== undefined) out.model = model;
  if (version !== undefined) out.version = version;
  if (label !== undefined) out.label = label;
  return out;
}

// One ModelSpec's members (specInto's result), module state as `pos`.
let specModel: string | undefined;
let specVersion: string | undefined;
let specLabel: string | undefined;

/** Reads the ModelSpec in buf[from, end) into specModel / specVersion / specLabel. */
function specInto(buf: Uint8Array, from: number, end: number): void {
  specModel = specVersion = specLabel = undefined;
  for (let at = from; at < end; ) {
    const tag = varint(buf, at, end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_LEN && (field === 1 || field === 2 || field === 4)) {
      const n = length(buf, pos, end);
      const start = pos;
      const stop = start + n;
      if (stop > end) truncated();
      if (field === 1) specModel = text(buf, start, stop);
      else if (field === 4) {
        specLabel = text(buf, start, stop);
        specVersion = undefined; // oneof: the last member on the wire wins
      } else {
        // Int64Value { int64 value = 1 }: the default 0 is encoded as an empty message.
        let value = '0';
        for (let i = start; i < stop; ) {
          const t = varint(buf, i, stop);
          if (t >>> 3 === 1 && (t & 7) === WIRE_VARINT) value = int64String(buf, pos, stop);
          else skip(buf, pos, stop, t & 7);
          i = pos;
        }
        specVersion = value;
        specLabel = undefined;
      }
      at = stop;
    } else {
      skip(buf, pos, end, wire);
      at = pos;
    }
  }
}

/** Decodes a TF Serving ModelSpec message. */
export function decodeModelSpec(buf: Uint8Array): ModelRef {
  specInto(buf, 0, buf.length);
  return modelRef(specModel, specVersion, specLabel);
}

/** Reads the model spec out of a message where it sits at `field` (merging repeated occurrences). */
function findModelSpec(buf: Uint8Array, at: number): ModelRef {
  let model: string | undefined;
  let version: string | undefined;
  let label: string | undefined;
  const end = buf.length;
  for (let i = 0; i < end; ) {
    const tag = varint(buf, i, end);
    if (tag >>> 3 === at && (tag & 7) === WIRE_LEN) {
      const n = length(buf, pos, end);
      const start = pos;
      if (start + n > end) truncated();
      specInto(buf, start, start + n);
      // Later occurrences override what they set, keep what they do not.
      if (specModel !== undefined) model = specModel;
      if (specVersion !== undefined) version = specVersion;
      if (specLabel !== undefined) label = specLabel;
      i = start + n;
    } else {
      skip(buf, pos, end, tag & 7);
      i = pos;
    }
  }
  return modelRef(model, version, label);
}

/** KServe messages: name at 1, version at 2, both strings. */
function findKserve(buf: Uint8Array): ModelRef {
  let model: string | undefined;
  let version: string | undefined;
  const end = buf.length;
  for (let i = 0; i < end; ) {
    const tag = varint(buf, i, end);
    const field = tag >>> 3;
    if ((tag & 7) === WIRE_LEN && (field === 1 || field === 2)) {
      const n = length(buf, pos, end);
      const start = pos;
      if (start + n > end) truncated();
      if (field === 1) model = text(buf, start, start + n);
      else version = n > 0 ? text(buf, start, start + n) : undefined; // proto3: "" means "server's choice"
      i = start + n;
    } else {
      skip(buf, pos, end, tag & 7);
      i = pos;
    }
  }
  return modelRef(model, version, undefined);
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
