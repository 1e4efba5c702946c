// From a sampled response body to the prediction kept for a later label. The decoding is
// drift's (drift/extract.ts for TF Serving / KServe v2 JSON, the injected gRPC decoder of
// drift/grpc-bodies.ts for Predict / ModelInfer), asked for the outputs the truth: section
// names, so drift and accuracy read a response the same way.
import { extractJson, extractTensors } from '../drift/index.ts';
import type { Extracted, FeatureConfig, GrpcDecoder } from '../drift/index.ts';
import type { ClassificationTruth, ModelTruth, OutputRef } from './config.ts';

/** What the proxy's body tee hands over (proxy/observers.ts BodySample), structurally. */
export interface PredictionOffer {
  model: string;
  version: string;
  protocol: 'rest' | 'grpc';
  requestBody: Buffer;
  responseBody: Buffer;
  contentType: string;
  method?: string;
  requestId?: string;
  variant?: 'stable' | 'canary' | 'direct';
  pinned?: boolean;
}

export type Prediction =
  | { task: 'classification'; rows: number; classes: string[]; probabilities?: Float32Array }
  | { task: 'regression'; rows: number; values: Float64Array };

const PREDICTED = '__predicted';
const VALUE = '__value';
const prob = (i: number) => `__p${i}`;

function feature(name: string, ref: OutputRef): FeatureConfig {
  const f: FeatureConfig = { name, source: 'output', tensor: ref.output, kind: 'numeric', method: 'auto' };
  if (ref.column !== undefined) f.column = ref.column;
  return f;
}

/** The outputs to read for one model, as drift features. */
export function featuresFor(m: ModelTruth): FeatureConfig[] {
  if (m.task === 'regression') return [feature(VALUE, m.value)];
  const out: FeatureConfig[] = [];
  if (m.predicted) out.push(feature(PREDICTED, m.predicted));
  if (m.probabilities) for (let i = 0; i < m.probabilities.classes; i++) out.push(feature(prob(i), { output: m.probabilities.output, column: i }));
  return out;
}

/** A class as text: an index becomes the class name when names are configured. */
export function className(m: ClassificationTruth, v: unknown): string | undefined {
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v === 'boolean') v = v ? 1 : 0;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    if (m.classNames && Number.isInteger(v) && v >= 0 && v < m.classNames.length) return m.classNames[v];
    return String(v);
  }
  if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

/** Decodes the prediction of one sampled exchange; undefined when the body holds none of the configured outputs. */
export function readPrediction(m: ModelTruth, features: readonly FeatureConfig[], offer: PredictionOffer, grpcDecoder: GrpcDecoder | undefined): Prediction | undefined {
  let ex: Extracted;
  if (offer.protocol === 'grpc') {
    if (!grpcDecoder || !offer.method) return undefined;
    const t = grpcDecoder(offer.method, offer.requestBody, offer.responseBody);
    if (!t) return undefined;
    ex = extractTensors(features, t.inputs, t.outputs);
  } else {
    ex = extractJson(features, offer.requestBody, offer.responseBody, offer.contentType);
  }
  if (!ex.ok || ex.rows === 0) return undefined;
  const rows = ex.rows;
  if (m.task === 'regression') {
    const col = ex.values.get(VALUE);
    if (!col || col.length !== rows) return undefined;
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = Number(col[i]);
      if (!Number.isFinite(v)) return undefined;
      values[i] = v;
    }
    return { task: 'regression', rows, values };
  }
  let probabilities: Float32Array | undefined;
  if (m.probabilities) {
    const k = m.probabilities.classes;
    const cols = Array.from({ length: k }, (_, i) => ex.values.get(prob(i)));
    if (cols.every((c) => c !== undefined && c.length === rows)) {
      probabilities = new Float32Array(rows * k);
      for (let r = 0; r < rows; r++) for (let c = 0; c < k; c++) probabilities[r * k + c] = Number(cols[c]![r]);
    }
  }
  const classes: string[] = new Array<string>(rows);
  const predicted = ex.values.get(PREDICTED);
  for (let r = 0; r < rows; r++) {
    let c: string | undefined;
    if (predicted && predicted.length === rows) c = className(m, predicted[r]);
    else if (probabilities) c = className(m, argmax(probabilities, r, m.probabilities!.classes));
    if (c === undefined) return undefined;
    classes[r] = c;
  }
  return probabilities ? { task: 'classification', rows, classes, probabilities } : { task: 'classification', rows, classes };
}

function argmax(p: Float32Array, row: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (p[row * k + c]! > p[row * k + best]!) best = c;
  return best;
}
