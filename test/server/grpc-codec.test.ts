import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeInferInputs, encodeGrpcMessage, encodeInferOutputs, parseGrpcTimeout, tensorFromProto, tensorToProto } from '../../server/grpc/index.ts';

const shape = (...dims: number[]) => ({ dim: dims.map((size) => ({ size: String(size) })) });

describe('TensorProto decoding', () => {
  test('each dtype is read from its own typed field', () => {
    const table: [string, Record<string, unknown>, string, unknown[]][] = [
      ['DT_FLOAT', { float_val: [1.5, -2] }, 'FP32', [1.5, -2]],
      ['DT_DOUBLE', { double_val: [0.1, 2] }, 'FP64', [0.1, 2]],
      ['DT_INT32', { int_val: [-7, 9] }, 'INT32', [-7, 9]],
      ['DT_UINT8', { int_val: [0, 255] }, 'UINT8', [0, 255]],
      ['DT_INT64', { int64_val: ['9007199254740993', '-1'] }, 'INT64', [9007199254740993n, -1n]],
      ['DT_UINT64', { uint64_val: ['18446744073709551615', '0'] }, 'UINT64', [18446744073709551615n, 0n]],
      ['DT_UINT32', { uint32_val: [4294967295, 1] }, 'UINT32', [4294967295, 1]],
      ['DT_BOOL', { bool_val: [true, false] }, 'BOOL', [1, 0]],
      ['DT_HALF', { half_val: [0x3c00, 0xc000] }, 'FP16', [0x3c00, 0xc000]],
      ['DT_STRING', { string_val: [Buffer.from('héllo'), Buffer.from('')] }, 'BYTES', ['héllo', '']],
    ];
    for (const [tf, fields, dtype, want] of table) {
      const t = tensorFromProto({ dtype: tf, tensor_shape: shape(2), ...fields }, 'x');
      assert.equal(t.dtype, dtype, tf);
      assert.deepEqual(t.shape, [2], tf);
      assert.deepEqual(Array.from(t.data as ArrayLike<unknown>), want, tf);
    }
  });

  test('fewer values than the shape holds are completed with the last one; none means zeros (tensor.cc FromProtoField)', () => {
    assert.deepEqual(Array.from(tensorFromProto({ dtype: 'DT_FLOAT', tensor_shape: shape(2, 2), float_val: [3] }, 'x').data as Float32Array), [3, 3, 3, 3]);
    assert.deepEqual(Array.from(tensorFromProto({ dtype: 'DT_INT32', tensor_shape: shape(4), int_val: [1, 2] }, 'x').data as Int32Array), [1, 2, 2, 2]);
    assert.deepEqual(Array.from(tensorFromProto({ dtype: 'DT_FLOAT', tensor_shape: shape(3) }, 'x').data as Float32Array), [0, 0, 0]);
  });

  test('tensor_content is read as little-endian bytes of the dtype, and must match the shape', () => {
    const ints = BigInt64Array.of(5n, -6n);
    const t = tensorFromProto({ dtype: 'DT_INT64', tensor_shape: shape(2), tensor_content: Buffer.from(ints.buffer) }, 'x');
    assert.deepEqual(Array.from(t.data as BigInt64Array), [5n, -6n]);
    // An odd offset in a larger buffer must not break alignment.
    const backing = Buffer.alloc(9);
    Buffer.from(Float64Array.of(2.5).buffer).copy(backing, 1);
    assert.deepEqual(Array.from(tensorFromProto({ dtype: 'DT_DOUBLE', tensor_shape: shape(1), tensor_content: backing.subarray(1) }, 'x').data as Float64Array), [2.5]);
    assert.throws(() => tensorFromProto({ dtype: 'DT_FLOAT', tensor_shape: shape(2), tensor_content: Buffer.alloc(4) }, 'x'), /raw content has 4 bytes; shape and DT_FLOAT need 8/);
  });

  test('bad input is INVALID_ARGUMENT with the reason', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dtype: 'DT_COMPLEX64', tensor_shape: shape(1) }, /unsupported dtype DT_COMPLEX64/],
      [{ dtype: 'DT_INVALID', tensor_shape: shape(1) }, /unsupported dtype/],
      [{ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1' }] } }, /sizes must be >= 0/],
      [{ dtype: 'DT_FLOAT', tensor_shape: { unknown_rank: true } }, /unknown_rank/],
      [{ dtype: 'DT_FLOAT', tensor_shape: shape(1), float_val: [1, 2] }, /2 values do not fit shape \[1\]/],
    ];
    for (const [msg, re] of cases) {
      assert.throws(() => tensorFromProto(msg, 'input "x"'), (e: any) => e.code === 'SRV_ERR_INVALID_ARGUMENT' && re.test(e.message), JSON.stringify(msg));
    }
  });

  test('encoding uses the typed field by default and tensor_content on request, and round-trips', () => {
    const t = { dtype: 'INT64' as const, shape: [2, 1], data: BigInt64Array.of(1n, 2n) };
    const typed = tensorToProto(t);
    assert.deepEqual(typed.int64_val, ['1', '2']);
    assert.deepEqual(typed.tensor_shape, { dim: [{ size: '2', name: '' }, { size: '1', name: '' }], unknown_rank: false });
    const raw = tensorToProto(t, true);
    assert.equal(raw.int64_val, undefined);
    assert.deepEqual(Array.from(tensorFromProto(raw, 'y').data as BigInt64Array), [1n, 2n]);
    assert.deepEqual(tensorToProto({ dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) }).bool_val, [true, false]);
  });
});

describe('KServe v2 gRPC tensors', () => {
  test('typed contents are read by datatype and must match the shape exactly', () => {
    const m = decodeInferInputs([
      { name: 'a', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['3', '-4'] } },
      { name: 'b', datatype: 'UINT8', shape: [1, 2], contents: { uint_contents: [7, 8] } },
      { name: 'c', datatype: 'BOOL', shape: [1], contents: { bool_contents: [true] } },
    ], []);
    assert.deepEqual(Array.from(m.get('a')!.data as BigInt64Array), [3n, -4n]);
    assert.deepEqual(m.get('b')!.shape, [1, 2]);
    assert.deepEqual(Array.from(m.get('c')!.data as Uint8Array), [1]);
    assert.throws(() => decodeInferInputs([{ name: 'a', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1] } }], []), /needs 3 values/);
    assert.throws(() => decodeInferInputs([{ name: 'a', datatype: 'FP16', shape: [1], contents: {} }], []), /must be sent in raw_input_contents/);
    assert.throws(() => decodeInferInputs([{ name: 'a', datatype: 'FLOAT', shape: [1] }], []), /datatype must be one of/);
  });

  test('raw contents: one entry per input; BYTES elements carry a 4-byte length prefix; outputs come back raw', () => {
    const str = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([0, 0, 0, 0])]);
    const m = decodeInferInputs([
      { name: 's', datatype: 'BYTES', shape: [2] },
      { name: 'f', datatype: 'FP16', shape: [1] },
    ], [str, Buffer.from(Uint16Array.of(0x3c00).buffer)]);
    assert.deepEqual(m.get('s')!.data, ['hi', '']);
    assert.deepEqual(Array.from(m.get('f')!.data as Uint16Array), [0x3c00]);
    assert.throws(() => decodeInferInputs([{ name: 's', datatype: 'BYTES', shape: [1] }], [str]), /has 2 elements; the shape needs 1/);
    assert.throws(() => decodeInferInputs([{ name: 'a', datatype: 'FP32', shape: [1] }, { name: 'b', datatype: 'FP32', shape: [1] }], [Buffer.alloc(4)]), /1 entries for 2 inputs/);
    const out = encodeInferOutputs(m, true);
    assert.deepEqual(out.raw_output_contents[0], str);
    assert.equal(out.outputs[0]!.contents, undefined);
  });

  test('an FP16 output forces raw outputs even for a typed request', () => {
    const out = encodeInferOutputs(new Map([['h', { dtype: 'FP16' as const, shape: [1], data: Uint16Array.of(0x3c00) }]]), false);
    assert.equal(out.raw_output_contents.length, 1);
  });
});

describe('gRPC wire details', () => {
  test('grpc-timeout is read in every unit the spec allows; anything else means no deadline', () => {
    const table: [string | undefined, number | undefined][] = [
      ['2H', 7_200_000], ['3M', 180_000], ['5S', 5000], ['250m', 250], ['1500u', 1.5], ['2000000n', 2],
      ['99999999m', 99_999_999], [undefined, undefined], ['', undefined], ['5s', undefined], ['123456789S', undefined], ['-1S', undefined],
    ];
    for (const [v, want] of table) assert.equal(parseGrpcTimeout(v, 0), want, String(v));
  });

  test('grpc-message is percent-encoded outside printable ASCII and for %', () => {
    assert.equal(encodeGrpcMessage('plain text: ok'), 'plain text: ok');
    assert.equal(encodeGrpcMessage('100% modèle'), '100%25 mod%C3%A8le');
    assert.equal(encodeGrpcMessage('a\nb'), 'a%0Ab');
  });
});
