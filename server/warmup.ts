// Warmup before a version becomes AVAILABLE (TF Serving: assets.extra/tf_serving_warmup_requests,
// g3doc/saved_model_warmup.md). Ours is `<version>/warmup.jsonl`: one TF Serving REST
// predict body per line, at most 1000 lines like TF's kMaxNumRecords. Without the file, one
// synthetic request is built from the signature (every free dimension 1, zeros), so the
// first real request does not pay for ORT's lazy initialisation (tensorflow/serving#385).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedModel, Signature } from './runtime/types.ts';
import { allocate } from './tensor/dtype.ts';
import { parseJson } from './tensor/json.ts';
import { elementCount, type Tensor } from './tensor/tensor.ts';
import { decodePredict } from './rest/tf-codec.ts';
import { checkInputs } from './core/infer.ts';

export const WARMUP_FILE = 'warmup.jsonl';
const MAX_WARMUP_RECORDS = 1000;

export function syntheticInputs(signature: Signature): Map<string, Tensor> {
  const inputs = new Map<string, Tensor>();
  for (const s of signature.inputs) {
    const shape = s.shape.map((d) => (d < 0 ? 1 : d));
    inputs.set(s.name, { dtype: s.dtype, shape, data: allocate(s.dtype, elementCount(shape)) });
  }
  return inputs;
}

/** Runs the warmup requests; returns how many ran. Throws if one fails (the version then fails to load). */
export async function runWarmup(versionDir: string, loaded: LoadedModel): Promise<number> {
  const outputs = loaded.signature.outputs.map((o) => o.name);
  let text: string | undefined;
  try {
    text = await readFile(join(versionDir, WARMUP_FILE), 'utf8');
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    await loaded.run(syntheticInputs(loaded.signature), outputs);
    return 1;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '').slice(0, MAX_WARMUP_RECORDS);
  for (const [i, line] of lines.entries()) {
    try {
      const req = decodePredict(parseJson(line), loaded.signature);
      checkInputs(loaded.signature, req.inputs);
      await loaded.run(req.inputs, outputs);
    } catch (e) {
      throw new Error(`${WARMUP_FILE} line ${i + 1}: ${(e as Error).message}`);
    }
  }
  return lines.length;
}
