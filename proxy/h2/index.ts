// A frame-level HTTP/2 server (h2c, or h2 over TLS) and h2c client on node:net, for the gRPC
// relay: streams with the part of node:http2's stream interface the relay uses and one
// listener object each, no node:http2 objects per call.
export { FrameServer, FrameTlsServer } from './server.ts';
export type { FrameServerOptions, StreamHandler } from './server.ts';
export { FrameUpstream, connectH2Tls } from './client.ts';
export type { FrameUpstreamOptions } from './client.ts';
export { ServerStream, ClientStream, H2StreamError } from './stream.ts';
export type { ClientSide, UpstreamSide, StreamFailure } from './stream.ts';
export { DEFAULT_LIMITS } from './connection.ts';
export type { ConnectionLimits } from './connection.ts';
export { H2Error } from './frames.ts';
