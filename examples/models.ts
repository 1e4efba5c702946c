// The example model repository: each model as a graph spec. examples/build-models.ts writes
// them to examples/models/<name>/<version>/model.onnx; tests build variants from these too.
import { buildModel, seededRandom, type GraphSpec } from './lib/onnx-builder.ts';

/** y = 0.5 * x + 2, TensorFlow Serving's classic example model (version 123, as theirs). */
export function halfPlusTwo(a = 0.5, b = 2): GraphSpec {
  return {
    name: 'half_plus_two',
    docString: `y = ${a} * x + ${b}`,
    inputs: [{ name: 'x', type: 'float', shape: ['N'] }],
    outputs: [{ name: 'y', type: 'float', shape: ['N'] }],
    initializers: [
      { name: 'a', type: 'float', dims: [], values: [a] },
      { name: 'b', type: 'float', dims: [], values: [b] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['x', 'a'], outputs: ['ax'] },
      { op: 'Add', inputs: ['ax', 'b'], outputs: ['y'] },
    ],
  };
}

/** The fraud model's named numeric input features, with the scale a real transaction has. */
export const FRAUD_FEATURES = [
  { name: 'amount', mean: 80, std: 120 },
  { name: 'account_age_days', mean: 700, std: 500 },
  { name: 'tx_last_hour', mean: 1.5, std: 1.5 },
  { name: 'distance_km', mean: 15, std: 40 },
  { name: 'merchant_risk', mean: 0.2, std: 0.15 },
  { name: 'hour_of_day', mean: 13, std: 6 },
  { name: 'device_age_days', mean: 300, std: 250 },
  { name: 'failed_logins', mean: 0.3, std: 0.8 },
] as const;

/** Per-feature weights of the fraud logit; version 2 re-weights distance and merchant risk. */
const FRAUD_WEIGHTS: Record<1 | 2, { w: number[]; bias: number }> = {
  1: { w: [0.9, -0.6, 0.7, 0.5, 1.1, 0.1, -0.4, 0.8], bias: -3.0 },
  2: { w: [0.8, -0.5, 0.8, 0.9, 1.4, 0.05, -0.5, 0.9], bias: -3.2 },
};

/**
 * A logistic fraud classifier over 8 named inputs, each float[N].
 * Outputs: `probabilities` float[N,2] (legit, fraud) and `label` int64[N] (argmax).
 */
export function fraud(version: 1 | 2 = 1, weights = FRAUD_WEIGHTS[version]): GraphSpec {
  const names = FRAUD_FEATURES.map((f) => f.name);
  // Two-class logits [0, z] so Softmax gives [1 - sigmoid(z), sigmoid(z)].
  const w2: number[] = [];
  for (const w of weights.w) w2.push(0, w);
  return {
    name: 'fraud',
    docString: `fraud classifier v${version}`,
    inputs: names.map((name) => ({ name, type: 'float' as const, shape: ['N'] })),
    outputs: [
      { name: 'probabilities', type: 'float', shape: ['N', 2] },
      { name: 'label', type: 'int64', shape: ['N'] },
    ],
    initializers: [
      { name: 'axes1', type: 'int64', dims: [1], values: [1] },
      { name: 'mean', type: 'float', dims: [1, 8], values: FRAUD_FEATURES.map((f) => f.mean) },
      { name: 'std', type: 'float', dims: [1, 8], values: FRAUD_FEATURES.map((f) => f.std) },
      { name: 'W', type: 'float', dims: [8, 2], values: w2 },
      { name: 'B', type: 'float', dims: [2], values: [0, weights.bias] },
    ],
    nodes: [
      ...names.map((n) => ({ op: 'Unsqueeze', inputs: [n, 'axes1'], outputs: [`${n}_col`] })),
      { op: 'Concat', inputs: names.map((n) => `${n}_col`), outputs: ['X'], attrs: { axis: 1 } },
      { op: 'Sub', inputs: ['X', 'mean'], outputs: ['Xc'] },
      { op: 'Div', inputs: ['Xc', 'std'], outputs: ['Xs'] },
      { op: 'MatMul', inputs: ['Xs', 'W'], outputs: ['XW'] },
      { op: 'Add', inputs: ['XW', 'B'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: 1 } },
      { op: 'ArgMax', inputs: ['logits'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 } },
    ],
  };
}

/** Sizes of the compute-heavy MLP used by the batching benchmarks. */
export const MLP_SIZES = { input: 256, hidden: 1024, output: 16 } as const;

/**
 * A wide MLP (256 → 1024 → 1024 → 16, ReLU, softmax) with a dynamic batch dimension.
 * At batch 1 it is memory bound (5 MB of weights read per call), so batching pays: the
 * weights are read once per batch instead of once per request.
 */
export function mlp(seed = 7): GraphSpec {
  const { input, hidden, output } = MLP_SIZES;
  const rnd = seededRandom(seed);
  const mat = (rows: number, cols: number) => {
    const scale = Math.sqrt(2 / rows); // He initialisation keeps activations O(1).
    const m = new Float32Array(rows * cols);
    for (let i = 0; i < m.length; i++) m[i] = (rnd() * 2 - 1) * scale;
    return m;
  };
  return {
    name: 'mlp',
    docString: `mlp ${input}x${hidden}x${hidden}x${output}`,
    inputs: [{ name: 'x', type: 'float', shape: ['N', input] }],
    outputs: [{ name: 'scores', type: 'float', shape: ['N', output] }],
    initializers: [
      { name: 'W1', type: 'float', dims: [input, hidden], values: mat(input, hidden) },
      { name: 'B1', type: 'float', dims: [hidden], values: new Float32Array(hidden) },
      { name: 'W2', type: 'float', dims: [hidden, hidden], values: mat(hidden, hidden) },
      { name: 'B2', type: 'float', dims: [hidden], values: new Float32Array(hidden) },
      { name: 'W3', type: 'float', dims: [hidden, output], values: mat(hidden, output) },
      { name: 'B3', type: 'float', dims: [output], values: new Float32Array(output) },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W1', 'B1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'W2', 'B2'], outputs: ['h2'] },
      { op: 'Relu', inputs: ['h2'], outputs: ['a2'] },
      { op: 'Gemm', inputs: ['a2', 'W3', 'B3'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['scores'], attrs: { axis: 1 } },
    ],
  };
}

/** Every file of the example repository: path relative to examples/models → bytes. */
export function exampleRepository(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ['half_plus_two/123/model.onnx', buildModel(halfPlusTwo())],
    ['fraud/1/model.onnx', buildModel(fraud(1))],
    ['fraud/2/model.onnx', buildModel(fraud(2))],
    ['mlp/1/model.onnx', buildModel(mlp())],
  ]);
}
