// The baseline for the REST benchmark: the least a Node server must do to answer a TF
// Serving row-format predict with onnxruntime-node. No framework, no routing, no validation,
// no metrics, no deadline: read the body, JSON.parse, build the tensor, run, JSON.stringify.
// It answers any POST the same way, so it only serves one model.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';

export interface BareServer {
  origin: string;
  close(): Promise<void>;
}

type Instances = number[] | number[][];

/** Rows of the first output: [N] → numbers, [N,K] → K-long lists (all this bench needs). */
function rows(t: ort.Tensor): number[] | number[][] {
  const data = t.data as Float32Array;
  const n = t.dims[0]!;
  if (t.dims.length === 1) return Array.from(data);
  const k = data.length / n;
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Array.from(data.subarray(i * k, (i + 1) * k));
  return out;
}

export async function startBareServer(modelFile: string, intraOpThreads: number): Promise<BareServer> {
  // Same session options as server/runtime/onnx.ts, so both run the same kernels.
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: intraOpThreads, graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { instances: Instances };
      const inst = body.instances;
      const first = inst[0]!;
      const shape = Array.isArray(first) ? [inst.length, first.length] : [inst.length];
      const data = Float32Array.from((Array.isArray(first) ? (inst as number[][]).flat() : inst) as number[]);
      session.run({ [inputName]: new ort.Tensor('float32', data, shape) }).then(
        (out) => {
          const text = JSON.stringify({ predictions: rows(out[outputName]!) });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: e.message }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await session.release();
    },
  };
}
