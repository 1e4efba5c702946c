// The TLS settings of the proxy's listeners and upstream clients (`proxy.rest.tls`,
// `proxy.grpc.tls`, `proxy.rest.upstreamTls`, `proxy.grpc.upstreamTls`), and opening them.
// Listener certificates are reloaded when their files change (common/tls.ts); upstream
// client material is read once at start.
import type { ClientTlsFiles, TlsFiles } from '../common/tls.ts';
import { ReloadableTls, readClientTls, type ClientTls } from '../common/tls.ts';
import { Issues, checkKeys, isRecord, join, readString } from '../common/validate.ts';

/** `tls: {cert, key, clientCa?}` of a listener. */
export function readListenerTls(raw: unknown, path: string, issues: Issues): TlsFiles | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping like {cert: /etc/tls/tls.crt, key: /etc/tls/tls.key, clientCa: /etc/tls/ca.crt}');
    return undefined;
  }
  checkKeys(raw, ['cert', 'key', 'clientCa'], path, issues);
  const cert = readString(raw, 'cert', path, issues, { required: true });
  const key = readString(raw, 'key', path, issues, { required: true });
  const clientCa = readString(raw, 'clientCa', path, issues);
  if (cert === undefined || key === undefined) return undefined;
  return { cert, key, ...(clientCa !== undefined ? { clientCa } : {}) };
}

/** `upstreamTls: {ca?, cert?, key?, serverName?}`: how the proxy speaks TLS to its upstream. */
export function readUpstreamTls(raw: unknown, path: string, issues: Issues): ClientTlsFiles | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.error(path, 'must be a mapping like {ca: /etc/tls/upstream-ca.crt, cert: client.crt, key: client.key, serverName: models.internal} ({} trusts the system CAs)');
    return undefined;
  }
  checkKeys(raw, ['ca', 'cert', 'key', 'serverName'], path, issues);
  const out: ClientTlsFiles = {};
  for (const k of ['ca', 'cert', 'key', 'serverName'] as const) {
    const v = readString(raw, k, path, issues);
    if (v !== undefined) out[k] = v;
  }
  if ((out.cert === undefined) !== (out.key === undefined)) {
    issues.error(join(path, out.cert === undefined ? 'cert' : 'key'), 'a client certificate needs both cert and key');
  }
  return out;
}

/** Opened listener TLS (absent where the listener is plaintext). */
export interface ListenerTls {
  rest?: ReloadableTls;
  grpc?: ReloadableTls;
  close(): void;
}

/** Reads the listeners' certificates (throws naming the file when one does not load) and watches them. */
export async function openListenerTls(
  files: { rest?: TlsFiles | undefined; grpc?: TlsFiles | undefined },
  onEvent: (listener: 'rest' | 'grpc', result: 'ok' | 'error', detail: string) => void,
): Promise<ListenerTls> {
  const open = (name: 'rest' | 'grpc', f: TlsFiles | undefined) =>
    f ? ReloadableTls.open(f, { onReload: (serial) => onEvent(name, 'ok', serial), onError: (e) => onEvent(name, 'error', e.message) }) : Promise.resolve(undefined);
  const rest = await open('rest', files.rest);
  const grpc = await open('grpc', files.grpc).catch((e: unknown) => {
    rest?.close();
    throw e;
  });
  return {
    ...(rest ? { rest } : {}),
    ...(grpc ? { grpc } : {}),
    close() {
      rest?.close();
      grpc?.close();
    },
  };
}

/** Upstream client TLS material, read once at start; undefined for a plaintext upstream. */
export function upstreamTls(files: ClientTlsFiles | undefined): ClientTls | undefined {
  return files === undefined ? undefined : readClientTls(files);
}
