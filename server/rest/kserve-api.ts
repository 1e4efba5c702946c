// KServe v2's REST API: POST infer, model metadata and readiness, server metadata and health.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SrvErr } from '../errors.ts';
import { parseJson } from '../tensor/json.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { readBody } from './body.ts';
import { decodeInfer, encodeInfer, modelMetadata } from './kserve-codec.ts';
import type { RestLifecycle } from './lifecycle.ts';
import type { RestRequest } from './request.ts';
import { sendJson } from './respond.ts';
import type { Route } from './routes.ts';

export type V2ModelRoute = Extract<Route, { kind: 'v2-model' }>;
type V2ServerRoute = Extract<Route, { kind: 'v2-server' }>;

const encodeV2 = (r: RestRequest, out: Map<string, Tensor>): string => encodeInfer(r.handle!.model, r.handle!.version, r.v2!, out);

/** POST /v2/models/{m}[/versions/{v}]/infer. */
export function v2Infer(lc: RestLifecycle, req: IncomingMessage, r: RestRequest, route: V2ModelRoute): void {
  r.model = lc.modelLabel(route.model);
  r.api = 'infer';
  readBody(req, lc.bodyLimits(route.model, r), (text, err) => {
    if (text === undefined) return lc.fail(r, err);
    try {
      const body = parseJson(text, lc.options.json);
      const h = lc.manager.acquire(route.model, route); // the route carries the version
      r.handle = h;
      r.version = String(h.version);
      r.v2 = decodeInfer(body, h.signature);
      return lc.run(r, r.v2.inputs, encodeV2, r.v2.outputFilter);
    } catch (e) {
      lc.fail(r, e);
    }
  });
}

/** GET /v2 (server metadata), /v2/health/live, /v2/health/ready. */
export function v2Server(lc: RestLifecycle, res: ServerResponse, route: V2ServerRoute, r: RestRequest, isReady: () => boolean): void {
  r.api = route.what === 'metadata' ? 'metadata' : 'health';
  if (route.what === 'metadata') return sendJson(res, 200, JSON.stringify({ name: lc.options.serverName, version: lc.options.serverVersion, extensions: [] }));
  if (route.what === 'live') return sendJson(res, 200, JSON.stringify({ live: true }));
  const ready = isReady();
  sendJson(res, ready ? 200 : 503, JSON.stringify({ ready }));
}

/** GET /v2/models/{m}[/versions/{v}][/ready]: throws what the caller answers as an error. */
export function v2Model(lc: RestLifecycle, res: ServerResponse, route: V2ModelRoute, r: RestRequest): void {
  const { manager } = lc;
  r.model = lc.modelLabel(route.model);
  if (route.what === 'ready') {
    r.api = 'health';
    if (!manager.hasModel(route.model)) throw SrvErr.SRV_ERR_NOT_FOUND(`Model ${route.model} is not configured`);
    const avail = manager.availableVersions(route.model);
    const ready = route.version === undefined ? avail.length > 0 : avail.includes(route.version);
    return sendJson(res, ready ? 200 : 503, JSON.stringify({ name: route.model, ready }));
  }
  r.api = 'metadata';
  const h = manager.acquire(route.model, { version: route.version });
  try {
    r.version = String(h.version);
    sendJson(res, 200, JSON.stringify(modelMetadata(route.model, manager.availableVersions(route.model), h.signature)), h.version);
  } finally {
    h.release();
  }
}
