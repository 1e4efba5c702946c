// Benchmark upstream: a trivial node:http model server. Answers predict with a ~200-byte
// JSON body and the version header, and GET /v1/models/{m} with a TF Serving status, so
// the proxy's version resolution has something to read; GET /__count says how many
// requests it answered (bench/lib/proxy-modes.ts). Prints "READY {port}".
import { createServer } from 'node:http';

const body = JSON.stringify({ predictions: [[0.9731, 0.0269]], model_spec: { name: 'fraud', version: '1', signature_name: 'serving_default' }, pad: 'x'.repeat(80) });
const status = JSON.stringify({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });

let answered = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/__count') return void res.end(String(answered));
    answered++;
    const out = req.method === 'GET' ? status : body;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'x-model-version': '1' });
    res.end(out);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`READY ${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}`);
});
process.on('SIGTERM', () => process.exit(0));
