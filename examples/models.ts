// The example model repository: each model as a graph spec. examples/build-models.ts writes
// them to examples/models/<name>/<version>/model.onnx; tests build variants from these too.
import { buildModel, type GraphSpec, type InitializerSpec, type NodeSpec } from './lib/onnx-builder.ts';

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

/**
 * The fraud classifier made wrong on purpose, for tests of shadow comparison, replay and
 * live accuracy: for about `flipShare` of the rows (those whose pseudo-random hash of
 * `amount` and `distance_km` falls below it) the label is flipped and the two probability
 * columns swapped. Fast and error-free, and wrong on a known share of inputs. The same inputs
 * are always flipped, so a test can compute which rows a correct model disagrees with
 * (`fraudFlips`).
 */
export function fraudFlipping(flipShare: number, version: 1 | 2 = 1): GraphSpec {
  const base = fraud(version);
  const nodes = base.nodes.map((n) =>
    n.outputs[0] === 'probabilities' ? { ...n, outputs: ['probabilities_raw'] } : n.outputs[0] === 'label' ? { ...n, outputs: ['label_raw'] } : n,
  );
  nodes.push(
    // h = frac(amount * 7.31 + distance_km * 3.77); flip when h < flipShare.
    { op: 'Mul', inputs: ['amount', 'k_amount'], outputs: ['h_a'] },
    { op: 'Mul', inputs: ['distance_km', 'k_distance'], outputs: ['h_d'] },
    { op: 'Add', inputs: ['h_a', 'h_d'], outputs: ['h_sum'] },
    { op: 'Floor', inputs: ['h_sum'], outputs: ['h_floor'] },
    { op: 'Sub', inputs: ['h_sum', 'h_floor'], outputs: ['h'] },
    { op: 'Less', inputs: ['h', 'flip_share'], outputs: ['flip_bool'] },
    { op: 'Cast', inputs: ['flip_bool'], outputs: ['flip_i'], attrs: { to: 7 } },
    { op: 'Cast', inputs: ['flip_bool'], outputs: ['flip_f'], attrs: { to: 1 } },
    // label = |label_raw - flip| (XOR for 0/1)
    { op: 'Sub', inputs: ['label_raw', 'flip_i'], outputs: ['label_diff'] },
    { op: 'Abs', inputs: ['label_diff'], outputs: ['label'] },
    // probabilities = raw * (1 - flip) + swapped * flip, per row
    { op: 'Unsqueeze', inputs: ['flip_f', 'axes1'], outputs: ['flip_col'] },
    { op: 'Sub', inputs: ['one', 'flip_col'], outputs: ['keep_col'] },
    { op: 'Gather', inputs: ['probabilities_raw', 'swap_idx'], outputs: ['probabilities_swapped'], attrs: { axis: 1 } },
    { op: 'Mul', inputs: ['probabilities_raw', 'keep_col'], outputs: ['p_keep'] },
    { op: 'Mul', inputs: ['probabilities_swapped', 'flip_col'], outputs: ['p_flip'] },
    { op: 'Add', inputs: ['p_keep', 'p_flip'], outputs: ['probabilities'] },
  );
  return {
    ...base,
    docString: `fraud classifier v${version}, labels flipped on ~${Math.round(flipShare * 100)}% of inputs`,
    initializers: [
      ...(base.initializers ?? []),
      { name: 'k_amount', type: 'float', dims: [], values: [7.31] },
      { name: 'k_distance', type: 'float', dims: [], values: [3.77] },
      { name: 'flip_share', type: 'float', dims: [], values: [flipShare] },
      { name: 'one', type: 'float', dims: [], values: [1] },
      { name: 'swap_idx', type: 'int64', dims: [2], values: [1, 0] },
    ],
    nodes,
  };
}

/** Whether `fraudFlipping(flipShare)` flips the row with these `amount` and `distance_km` (float32 arithmetic, as the graph does it). */
export function fraudFlips(flipShare: number, amount: number, distanceKm: number): boolean {
  const f = Math.fround;
  const sum = f(f(f(amount) * f(7.31)) + f(f(distanceKm) * f(3.77)));
  return f(sum - Math.floor(sum)) < f(flipShare);
}

/** Sizes of the compute-heavy MLP used by the batching benchmarks. */
export const MLP_SIZES = { input: 256, hidden: 2048, hiddenLayers: 3, output: 16 } as const;

/**
 * Nodes that compute a [rows, cols] weight matrix inside the graph, from four scalars:
 * `scale * sin(a * k)` for k = 0 .. rows*cols-1, reshaped. Every input is a constant, so
 * ONNX Runtime folds the whole chain into one initializer when the session is created
 * (constant folding, part of every graph optimisation level above "disabled"; the server
 * always loads with "all"): the weights cost memory and load time, not run time, and the
 * model file stays a few hundred bytes instead of tens of megabytes in git. The values are
 * deterministic and spread like uniform noise; the model is a load generator, not trained.
 */
function generatedWeights(name: string, rows: number, cols: number, phase: number): { nodes: NodeSpec[]; initializers: InitializerSpec[] } {
  // He initialisation: uniform[-1, 1] has variance 1/3, so scale by sqrt(3 * 2 / fan_in).
  const scale = Math.sqrt(6 / rows);
  return {
    initializers: [
      { name: `${name}_count`, type: 'float', dims: [], values: [rows * cols] },
      { name: `${name}_freq`, type: 'float', dims: [], values: [12.9898 + phase] },
      { name: `${name}_scale`, type: 'float', dims: [], values: [scale] },
      { name: `${name}_shape`, type: 'int64', dims: [2], values: [rows, cols] },
    ],
    nodes: [
      { op: 'Range', inputs: ['gen_zero', `${name}_count`, 'gen_one'], outputs: [`${name}_k`] },
      { op: 'Mul', inputs: [`${name}_k`, `${name}_freq`], outputs: [`${name}_phase`] },
      { op: 'Sin', inputs: [`${name}_phase`], outputs: [`${name}_sin`] },
      { op: 'Mul', inputs: [`${name}_sin`, `${name}_scale`], outputs: [`${name}_flat`] },
      { op: 'Reshape', inputs: [`${name}_flat`, `${name}_shape`], outputs: [name] },
    ],
  };
}

/**
 * A wide MLP (256 → 2048 → 2048 → 2048 → 16, ReLU, softmax) with a dynamic batch
 * dimension: 8.9 M weights (34 MB once folded, see generatedWeights). At batch 1 a run is
 * memory bound (every weight is read for one row: ~1.2 ms with one thread on the bench
 * machine); at batch 32 the weights are read once for 32 rows (~7 ms), so batching pays as
 * it does for large dense models in production.
 */
export function mlp(): GraphSpec {
  const { input, hidden, hiddenLayers, output } = MLP_SIZES;
  const nodes: NodeSpec[] = [];
  const initializers: InitializerSpec[] = [
    { name: 'gen_zero', type: 'float', dims: [], values: [0] },
    { name: 'gen_one', type: 'float', dims: [], values: [1] },
  ];
  const layer = (w: string, rows: number, cols: number, phase: number, from: string, to: string) => {
    const g = generatedWeights(w, rows, cols, phase);
    initializers.push(...g.initializers);
    nodes.push(...g.nodes, { op: 'MatMul', inputs: [from, w], outputs: [to] });
  };
  let prev = 'x';
  for (let l = 1; l <= hiddenLayers; l++) {
    layer(`W${l}`, l === 1 ? input : hidden, hidden, l * 0.37, prev, `h${l}`);
    nodes.push({ op: 'Relu', inputs: [`h${l}`], outputs: [`a${l}`] });
    prev = `a${l}`;
  }
  layer('W_out', hidden, output, 0.11, prev, 'logits');
  nodes.push({ op: 'Softmax', inputs: ['logits'], outputs: ['scores'], attrs: { axis: 1 } });
  return {
    name: 'mlp',
    docString: `mlp ${input}x${Array(hiddenLayers).fill(hidden).join('x')}x${output}, weights generated in the graph`,
    inputs: [{ name: 'x', type: 'float', shape: ['N', input] }],
    outputs: [{ name: 'scores', type: 'float', shape: ['N', output] }],
    initializers,
    nodes,
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
