// Writing REST answers: JSON bodies with their length, and errors as {"error": message}.
import type { ServerResponse } from 'node:http';
import { VERSION_HEADER } from '../../common/conventions.ts';
import type { ModelgateError } from '../../common/errors.ts';

export function sendJson(res: ServerResponse, status: number, body: string, version?: number | string): void {
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (version !== undefined) headers[VERSION_HEADER] = typeof version === 'string' ? version : String(version);
  res.writeHead(status, headers);
  res.end(body);
}

export function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

/** Errors after which the rest of the request body is not read: the connection closes. */
const CLOSES_CONNECTION = new Set([408, 413]);

/**
 * Answers an error with its HTTP status, or, once the answer has started, cuts the
 * response (a status can no longer be sent).
 */
export function sendError(res: ServerResponse, err: ModelgateError, version: string | undefined): void {
  if (!res.headersSent) {
    if (CLOSES_CONNECTION.has(err.http)) res.setHeader('connection', 'close');
    if (err.http === 503) res.setHeader('retry-after', '1');
    sendJson(res, err.http, errorBody(err.message), version);
  } else {
    res.destroy();
  }
}
