// What changed between two signatures, in words a status page can show. A version whose
// signature differs from the serving one would answer every existing client with 400s, so
// the manager does not swap it in unless the model config allows it (allow_signature_change).
import type { Signature, TensorSpec } from '../runtime/types.ts';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function diffSide(kind: 'input' | 'output', from: readonly TensorSpec[], to: readonly TensorSpec[]): string[] {
  const out: string[] = [];
  const next = new Map(to.map((s) => [s.name, s]));
  for (const a of from) {
    const b = next.get(a.name);
    if (!b) {
      out.push(`${kind} "${a.name}" removed`);
      continue;
    }
    if (a.dtype !== b.dtype) out.push(`${kind} "${a.name}" dtype ${a.dtype} -> ${b.dtype}`);
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
      out.push(`${kind} "${a.name}" shape ${shapeText(a.shape)} -> ${shapeText(b.shape)}`);
    }
  }
  const before = new Set(from.map((s) => s.name));
  for (const b of to) if (!before.has(b.name)) out.push(`${kind} "${b.name}" ${b.dtype} ${shapeText(b.shape)} added`);
  return out;
}

/**
 * The differences a client would notice (names, dtypes, shapes with -1 for free
 * dimensions; the names of free dimensions do not matter), or [] when there are none.
 */
export function signatureDiff(from: Signature, to: Signature): string[] {
  return [...diffSide('input', from.inputs, to.inputs), ...diffSide('output', from.outputs, to.outputs)];
}
