// The REST surface: TF Serving `/v1/...`, KServe v2 `/v2/...`, and `/metrics`, on one
// node:http server. Each request is routed (route-cache.ts) to its API's handler
// (tf-api.ts, kserve-api.ts); lifecycle.ts answers it and counts it. Decoding and encoding
// live in the codecs; inference in core/infer.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SrvErr } from '../errors.ts';
import { v2Infer, v2Model, v2Server } from './kserve-api.ts';
import { RestLifecycle } from './lifecycle.ts';
import type { RestDeps } from './options.ts';
import type { RestRequest } from './request.ts';
import { RouteCache } from './route-cache.ts';
import type { Route } from './routes.ts';
import { tfGet, tfInference } from './tf-api.ts';

export type { RestDeps, RestOptions } from './options.ts';

export function createRestHandler(deps: RestDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const lc = new RestLifecycle(deps.manager, deps.metrics, deps.options);
  const routes = new RouteCache(deps.manager);

  /** Everything but inference: status, metadata, health, metrics. */
  async function handle(req: IncomingMessage, res: ServerResponse, route: Route, r: RestRequest): Promise<void> {
    switch (route.kind) {
      case 'metrics': {
        r.api = 'metrics';
        const text = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': deps.registry.contentType });
        res.end(text);
        return;
      }
      case 'v2-server':
        return v2Server(lc, res, route, r, deps.isReady);
      case 'v2-model':
        return v2Model(lc, res, route, r);
      case 'tf':
        return tfGet(lc, res, route, r);
      case 'unknown':
        throw SrvErr.SRV_ERR_NOT_FOUND(`no route for ${req.method} ${req.url}`);
    }
  }

  return (req, res) => {
    const r = lc.begin(res);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: Route;
    try {
      route = routes.get(req.method ?? 'GET', path);
    } catch (e) {
      return lc.fail(r, e);
    }
    if (route.kind === 'tf' && route.method === 'POST') return tfInference(lc, req, r, route);
    if (route.kind === 'v2-model' && route.what === 'infer') return v2Infer(lc, req, r, route);
    handle(req, res, route, r).then(
      () => lc.finish(r, res.statusCode),
      (e) => lc.fail(r, e),
    );
  };
}
