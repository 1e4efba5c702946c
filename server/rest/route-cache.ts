// Parsed routes kept per method and path: parsing (regex, URL decoding) cost ~0.9 µs per request.
import type { ModelManager } from '../models/manager.ts';
import { parseRoute, type Route } from './routes.ts';

const ROUTE_CACHE_MAX = 1024;

/** Routes naming a configured model (or none) are cached; others are parsed each time, so a client cannot fill the cache. */
export class RouteCache {
  private readonly routes = new Map<string, Route>();

  constructor(private readonly manager: ModelManager) {}

  /** Throws what parseRoute throws (malformed percent-encoding, bad version). */
  get(method: string, path: string): Route {
    const key = `${method} ${path}`;
    const cached = this.routes.get(key);
    if (cached) return cached;
    const route = parseRoute(method, path);
    const model = route.kind === 'tf' || route.kind === 'v2-model' ? route.model : undefined;
    if (this.routes.size < ROUTE_CACHE_MAX && (model === undefined || this.manager.hasModel(model))) this.routes.set(key, route);
    return route;
  }
}
