// A small ONNX graph builder on top of the compiled onnx.proto3 from the `onnx-proto`
// package. Used to build the example model repository (examples/build-models.ts) and, in
// tests, models made on purpose (a new version, a broken one). Output is deterministic:
// the same call writes the same bytes.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type ElemType = 'float' | 'int64' | 'int32' | 'double' | 'bool' | 'string' | 'uint8';

/** onnx.TensorProto.DataType numbers (onnx/onnx.proto3). */
const ELEM: Record<ElemType, number> = {
  float: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  double: 11,
};

/** A dimension: a number for a fixed size, a string for a named dynamic size (e.g. 'N'). */
export type Dim = number | string;

export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: Dim[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, number | number[] | string>;
}

export interface InitializerSpec {
  name: string;
  type: 'float' | 'int64';
  dims: number[];
  values: number[] | Float32Array;
}

export interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  /** ONNX opset; 13 is supported by every onnxruntime release we target. */
  opset?: number;
  docString?: string;
}

function valueInfo(v: ValueSpec) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: ELEM[v.type],
        shape: onnx.TensorShapeProto.create({
          dim: v.shape.map((d) =>
            typeof d === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

function attribute(name: string, value: number | number[] | string) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') {
    return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(value) });
  }
  if (Array.isArray(value)) {
    return onnx.AttributeProto.create({ name, type: A.INTS, ints: value });
  }
  if (Number.isInteger(value)) {
    return onnx.AttributeProto.create({ name, type: A.INT, i: value });
  }
  return onnx.AttributeProto.create({ name, type: A.FLOAT, f: value });
}

function initializer(t: InitializerSpec) {
  if (t.type === 'float') {
    const f = t.values instanceof Float32Array ? t.values : Float32Array.from(t.values);
    // raw_data is little-endian; Float32Array on x86/arm is little-endian too.
    return onnx.TensorProto.create({
      name: t.name,
      dims: t.dims,
      dataType: ELEM.float,
      rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
    });
  }
  return onnx.TensorProto.create({ name: t.name, dims: t.dims, dataType: ELEM.int64, int64Data: [...t.values] });
}

/** Encodes a graph as a complete ONNX ModelProto (bytes of a model.onnx file). */
export function buildModel(spec: GraphSpec): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: spec.name,
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? `${n.op.toLowerCase()}_${i}`,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      }),
    ),
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer: (spec.initializers ?? []).map(initializer),
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'modelgate',
    producerVersion: '0.1',
    docString: spec.docString ?? '',
    graph,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: spec.opset ?? 13 })],
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic pseudo-random numbers, so regenerated models are byte-identical. */
export { seededRandom } from '../../common/random.ts';
