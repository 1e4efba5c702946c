// Benchmark reference: a bare node:http2 pass-through for unary gRPC with no modelgate code.
// Each incoming stream becomes a request on one shared ClientHttp2Session to the upstream;
// headers, body, response headers and trailers are passed on as they are.
//   node --import tsx bench/proxy/h2-bare-child.ts UPSTREAM_HOST:PORT
// Prints "READY {port}".
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: h2-bare-child.ts UPSTREAM_HOST:PORT');
let session = http2.connect(`http://${upstream}`);
const up = (): http2.ClientHttp2Session => {
  if (session.closed || session.destroyed) session = http2.connect(`http://${upstream}`);
  return session;
};

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const req = up().request(headers, { endStream: false });
  let trailers: http2.IncomingHttpHeaders = {};
  stream.pipe(req);
  req.on('response', (h, flags) => {
    if (stream.destroyed) return;
    if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) stream.respond(h, { endStream: true });
    else stream.respond(h, { waitForTrailers: true });
  });
  req.on('trailers', (t) => (trailers = t));
  stream.on('wantTrailers', () => stream.sendTrailers(trailers as http2.OutgoingHttpHeaders));
  req.on('data', (c: Buffer) => stream.write(c));
  req.on('end', () => {
    if (!stream.destroyed && !stream.writableEnded) stream.end();
  });
  req.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  stream.on('error', () => req.close(http2.constants.NGHTTP2_CANCEL));
  stream.on('close', () => {
    if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}`));
process.on('SIGTERM', () => process.exit(0));
