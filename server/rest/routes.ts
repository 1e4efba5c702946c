// URL parsing for the REST surfaces. TF Serving's patterns come from
// tensorflow_serving/model_servers/http_rest_api_util.cc (case-insensitive; name and label
// are `[^/:]+`, URL-decoded; version is digits). Nothing here touches the file system: a
// model name is only ever looked up in the configured model map, so `../` cannot reach
// outside the repository.
import { SrvErr } from '../errors.ts';

export type Route =
  | { kind: 'tf'; method: 'GET' | 'POST'; model: string; version?: number; label?: string; verb: 'status' | 'metadata' | 'predict' | 'classify' | 'regress' }
  | { kind: 'v2-server'; what: 'metadata' | 'live' | 'ready' }
  | { kind: 'v2-model'; model: string; version?: number; what: 'metadata' | 'ready' | 'infer' }
  | { kind: 'metrics' }
  | { kind: 'unknown' };

const TF = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(?::(predict|classify|regress)|(\/metadata))?\/?$/i;
const V2_MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?\/?$/;

function decode(segment: string): string {
  let s: string;
  try {
    s = decodeURIComponent(segment);
  } catch {
    throw SrvErr.SRV_ERR_MALFORMED_REQUEST(`Malformed request: bad percent-encoding in "${segment}"`);
  }
  if (s.includes('\0')) throw SrvErr.SRV_ERR_MALFORMED_REQUEST('Malformed request: NUL in path');
  return s;
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw SrvErr.SRV_ERR_MALFORMED_REQUEST(`Malformed request: version "${text}" is not a whole number`);
  }
  return Number(text);
}

export function parseRoute(method: string, path: string): Route {
  if (path.startsWith('/v1/')) {
    const m = TF.exec(path);
    if (!m) throw SrvErr.SRV_ERR_MALFORMED_REQUEST(`Malformed request: ${method} ${path}`);
    const verb = (m[4]?.toLowerCase() ?? (m[5] ? 'metadata' : 'status')) as 'status' | 'metadata' | 'predict' | 'classify' | 'regress';
    const wantPost = verb === 'predict' || verb === 'classify' || verb === 'regress';
    if ((wantPost && method !== 'POST') || (!wantPost && method !== 'GET')) {
      throw SrvErr.SRV_ERR_MALFORMED_REQUEST(`Malformed request: ${method} ${path}`);
    }
    return {
      kind: 'tf',
      method: method as 'GET' | 'POST',
      model: decode(m[1]!),
      version: m[2] !== undefined ? parseVersion(m[2]) : undefined,
      label: m[3] !== undefined ? decode(m[3]) : undefined,
      verb,
    };
  }
  if (path === '/v2' || path === '/v2/') return method === 'GET' ? { kind: 'v2-server', what: 'metadata' } : methodNotAllowed(method, path);
  if (path === '/v2/health/live') return { kind: 'v2-server', what: 'live' };
  if (path === '/v2/health/ready') return { kind: 'v2-server', what: 'ready' };
  if (path.startsWith('/v2/models/')) {
    const m = V2_MODEL.exec(path);
    if (!m) throw SrvErr.SRV_ERR_NOT_FOUND(`no route for ${method} ${path}`);
    const what = m[3] === '/infer' ? 'infer' : m[3] === '/ready' ? 'ready' : 'metadata';
    if ((what === 'infer') !== (method === 'POST')) return methodNotAllowed(method, path);
    return { kind: 'v2-model', model: decode(m[1]!), version: m[2] !== undefined ? parseVersion(decode(m[2])) : undefined, what };
  }
  if ((path === '/metrics' || path === '/monitoring/prometheus/metrics') && method === 'GET') return { kind: 'metrics' };
  return { kind: 'unknown' };
}

function methodNotAllowed(method: string, path: string): never {
  throw SrvErr.SRV_ERR_METHOD_NOT_ALLOWED(`method ${method} is not allowed on ${path}`);
}
