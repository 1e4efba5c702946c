// Parses the REST paths of the two protocols the proxy understands into labels, and
// rewrites them to pin a version. Pure: no I/O, table-tested.
//
// TF Serving REST (tensorflow_serving/g3doc/api_rest.md; model_servers/http_rest_api_handler.cc):
//   GET  /v1/models/{m}[/versions/{v} | /labels/{l}]            model status
//   GET  /v1/models/{m}[/versions/{v} | /labels/{l}]/metadata   model metadata
//   POST /v1/models/{m}[/versions/{v} | /labels/{l}]:(predict|classify|regress)
// KServe v2 REST (kserve docs/predict-api/v2/required_api.md):
//   GET  /v2/health/(live|ready), GET /v2                        server health / metadata
//   GET  /v2/models/{m}[/versions/{v}]                           model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready                     model readiness
//   POST /v2/models/{m}[/versions/{v}]/infer                     inference
import type { Api } from '../common/index.ts';

export type RestDialect = 'tfserving' | 'kserve';

export interface RestTarget {
  dialect: RestDialect;
  api: Api;
  /** Model name, percent-decoded. Empty for server-level paths (health, server metadata). */
  model: string;
  /** Version named in the path, if any. */
  version?: string;
  /** Label named in the path (TF Serving only), if any. */
  label?: string;
  /** The model segment as it appeared on the wire (kept so a rewrite changes nothing else). */
  rawModel: string;
  /** What follows the model/version part: `:predict`, `/metadata`, `/infer`, ''. */
  suffix: string;
  /** `?...` including the question mark, or ''. */
  query: string;
}

const TF_VERBS: Record<string, Api> = { predict: 'predict', classify: 'classify', regress: 'regress' };

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Splits `/v1/models/m/versions/3:predict` style paths. Returns undefined for paths it does not know. */
export function parseRestPath(url: string): RestTarget | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  if (path.startsWith('/v1/models/')) return parseTf(path.slice('/v1/models/'.length), query);
  if (path.startsWith('/v2/models/')) return parseKserve(path.slice('/v2/models/'.length), query);
  if (path === '/v2' || path === '/v2/') return serverLevel('metadata', query);
  if (path.startsWith('/v2/health/')) return serverLevel('health', query);
  return undefined;
}

/** Paths parsed recently: clients call a handful of paths over and over. */
const RECENT = new Map<string, Readonly<RestTarget> | null>();
const RECENT_MAX = 1024;

/**
 * parseRestPath, remembered for the last distinct paths (up to 1024; a client sending
 * ever-new paths only empties the memory). The result is frozen: callers share it.
 */
export function restTargetOf(url: string): Readonly<RestTarget> | undefined {
  let t = RECENT.get(url);
  if (t === undefined) {
    const parsed = parseRestPath(url);
    t = parsed ? Object.freeze(parsed) : null;
    if (RECENT.size >= RECENT_MAX) RECENT.clear();
    RECENT.set(url, t);
  }
  return t ?? undefined;
}

function serverLevel(api: Api, query: string): RestTarget {
  return { dialect: 'kserve', api, model: '', rawModel: '', suffix: '', query };
}

function parseTf(rest: string, query: string): RestTarget | undefined {
  // The verb is after the last ':' of the last segment (`m:predict`, `m/versions/1:predict`).
  const segments = rest.split('/');
  const last = segments[segments.length - 1] ?? '';
  let verb = '';
  const colon = last.lastIndexOf(':');
  if (colon !== -1) {
    verb = last.slice(colon + 1);
    segments[segments.length - 1] = last.slice(0, colon);
  }
  let api: Api = 'status';
  let suffix = '';
  if (verb) {
    const v = TF_VERBS[verb];
    if (!v) return undefined;
    api = v;
    suffix = `:${verb}`;
  } else if (segments[segments.length - 1] === 'metadata' && segments.length > 1) {
    segments.pop();
    api = 'metadata';
    suffix = '/metadata';
  }
  const rawModel = segments[0] ?? '';
  const model = decode(rawModel);
  if (!model) return undefined;
  const base: RestTarget = { dialect: 'tfserving', api, model, rawModel, suffix, query };
  if (segments.length === 1) return base;
  if (segments.length === 3 && segments[2]) {
    if (segments[1] === 'versions') return { ...base, version: decode(segments[2]) ?? segments[2] };
    if (segments[1] === 'labels') return { ...base, label: decode(segments[2]) ?? segments[2] };
  }
  return undefined;
}

function parseKserve(rest: string, query: string): RestTarget | undefined {
  const segments = rest.split('/');
  const rawModel = segments[0] ?? '';
  const model = decode(rawModel);
  if (!model) return undefined;
  let version: string | undefined;
  let i = 1;
  if (segments[1] === 'versions' && segments[2]) {
    version = decode(segments[2]) ?? segments[2];
    i = 3;
  }
  const tail = segments.slice(i).join('/');
  let api: Api;
  if (tail === '') api = 'metadata';
  else if (tail === 'infer') api = 'infer';
  else if (tail === 'ready') api = 'status';
  else return undefined;
  const target: RestTarget = { dialect: 'kserve', api, model, rawModel, suffix: tail ? `/${tail}` : '', query };
  if (version !== undefined) target.version = version;
  return target;
}

/** The same request with the version pinned: labels and "latest" become `/versions/{version}`. */
export function pinnedPath(t: RestTarget, version: string): string {
  const prefix = t.dialect === 'tfserving' ? '/v1/models/' : '/v2/models/';
  return `${prefix}${t.rawModel}/versions/${encodeURIComponent(version)}${t.suffix}${t.query}`;
}
