// The proxy's listeners: REST (the relay front or node:http, node:https with TLS), gRPC (the
// frame-level h2c server or node:http2, h2c or TLS) and the admin API, bound
// in that order. A listener that cannot bind fails the start with a ListenError naming it,
// and the ones already open are closed again.
import { once } from 'node:events';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Server } from 'node:http';
import type { ProxyConfig } from './config.ts';
import type { GrpcListener } from './grpc.ts';

/** Which listener could not be opened, for a message that names the setting to change. */
export type ListenerName = 'rest' | 'grpc' | 'admin';

/** A listener could not bind (port taken, no permission, no such address). */
export class ListenError extends Error {
  readonly listener: ListenerName;
  readonly host: string;
  readonly port: number;
  readonly code: string;
  constructor(listener: ListenerName, host: string, port: number, cause: NodeJS.ErrnoException) {
    const why = cause.code === 'EADDRINUSE' ? 'is already in use' : cause.code === 'EACCES' ? 'needs privileges this process does not have' : `cannot be opened (${cause.message})`;
    super(`the proxy's ${listener === 'rest' ? 'REST' : listener === 'grpc' ? 'gRPC' : 'admin'} port ${host}:${port} ${why}`, { cause });
    this.name = 'ListenError';
    this.listener = listener;
    this.host = host;
    this.port = port;
    this.code = cause.code ?? 'EUNKNOWN';
  }
}

/** The REST listener: a node:http server, or the relay front (h1-front.ts) that closes connections the same way. */
export type RestListener = NetServer & { closeIdleConnections(): void; closeAllConnections(): void };

/** The servers to bind: REST and gRPC when configured, the admin API unless this is a data-plane worker process. */
export interface ListenerServers {
  rest: RestListener | undefined;
  grpc: GrpcListener | undefined;
  admin: Server | undefined;
}

export interface Listeners extends ListenerServers {
  /** `http://host:port` (`https://` with TLS) when REST is configured. */
  restUrl: string | undefined;
  /** `host:port` when gRPC is configured. */
  grpcAddress: string | undefined;
  /** Empty in a data-plane worker process (no admin listener). */
  adminUrl: string;
}

export async function openListeners(config: ProxyConfig, servers: ListenerServers): Promise<Listeners> {
  const { rest, grpc, admin } = servers;
  const opened: NetServer[] = [];
  try {
    let restUrl: string | undefined;
    let grpcAddress: string | undefined;
    if (rest && config.rest) {
      opened.push(rest);
      const a = await listen(rest, 'rest', config.rest.host, config.rest.port);
      restUrl = `${config.rest.tls ? 'https' : 'http'}://${hostForUrl(a)}:${a.port}`;
    }
    if (grpc && config.grpc) {
      opened.push(grpc);
      const a = await listen(grpc, 'grpc', config.grpc.host, config.grpc.port);
      grpcAddress = `${hostForUrl(a)}:${a.port}`;
    }
    if (!admin) return { ...servers, restUrl, grpcAddress, adminUrl: '' };
    opened.push(admin);
    const a = await listen(admin, 'admin', config.admin.host, config.admin.port);
    return { ...servers, restUrl, grpcAddress, adminUrl: `http://${hostForUrl(a)}:${a.port}` };
  } catch (err) {
    for (const s of opened) if (s.listening) s.close();
    throw err;
  }
}

async function listen(server: NetServer, name: ListenerName, host: string, port: number): Promise<AddressInfo> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    throw new ListenError(name, host, port, err as NodeJS.ErrnoException);
  }
  return server.address() as AddressInfo;
}

const hostForUrl = (a: AddressInfo) => (a.family === 'IPv6' ? `[${a.address}]` : a.address);
