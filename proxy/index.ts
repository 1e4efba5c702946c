// Public surface of the proxy area. Listed by hand: what is not here is internal.
export { createProxy, ListenError } from './proxy.ts';
export type { CreateProxyOptions, Proxy, ListenerName } from './proxy.ts';
export { readProxyConfig, DEFAULTS as PROXY_DEFAULTS } from './config.ts';
export type { ProxyConfig, ListenerConfig, StatusApi, OtlpConfig, RestClient } from './config.ts';
export { route, readSplit, fnv1a } from './split.ts';
export type { Split, Route } from './split.ts';
export { parseRestPath, pinnedPath } from './rest-path.ts';
export type { RestTarget, RestDialect } from './rest-path.ts';
export { KNOWN_METHODS, readRequestModel, readResponseVersion, pinRequestVersion, decodeModelSpec, frame, FrameReader } from './grpc-wire.ts';
export type { MethodShape, ModelRef } from './grpc-wire.ts';
export { parseGrpcTimeout, grpcCodeName } from './grpc.ts';
export { ProxyErrors } from './errors.ts';
export type { UpstreamErrorKind } from './errors.ts';
export type { BodySample, OutcomeObserver, BodyObserver } from './observers.ts';
export type { AdminHandler, AdminRequest, AdminReply, RouteOptions } from './admin.ts';
export { ModelCatalog, compareVersions, parseTfStatus, parseKserveMetadata } from './catalog.ts';
export { parseTraceparent, formatTraceparent } from './tracing.ts';
