// The client side of a REST exchange, as the exchange (rest.ts) uses it: node:http's
// IncomingMessage and ServerResponse fit these shapes, and so do the relay front's own
// request and response (h1-front.ts).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Bodies with a declared length up to this size are gathered whole before they go upstream
 * (one write for head and body); larger or chunked ones stream through node:http and undici.
 * The relay front parses only requests within it, so its requests never stream. 64 KiB: the
 * order of the default socket high-water mark, far below the body limit.
 */
export const GATHERED_BODY_BYTES = 64 * 1024;

/**
 * What the request path needs from the client's headers, read in one pass: over
 * `rawHeaders` for node:http's requests (rest.ts readClientHeaders), while parsing the head
 * for the relay front's (h1-front.ts parseCommonHead).
 */
export interface ClientHeaders {
  contentLength: number;
  chunked: boolean;
  traceparent: string | undefined;
  forwardedFor: string | undefined;
  connection: string | undefined;
  requestId: string | undefined;
}

/** What an exchange reads of the client's request. */
export interface ClientRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly rawHeaders: string[];
  /** The relay front's: what the exchange reads of the headers, read while the head was parsed. */
  readonly clientHeaders?: ClientHeaders | undefined;
  /**
   * The relay front's: the request head as read (latin1, without its final CRLFCRLF) and where
   * its header lines start; every character of it was checked (h1-front.ts parseCommonHead).
   */
  readonly headText?: string | undefined;
  readonly headFrom?: number | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
  /** The whole body when it was already read with the head (the relay front); the exchange then does not listen for it. */
  readonly receivedBody?: Buffer | undefined;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  isPaused(): boolean;
}

/** What an exchange writes the client's response through. */
export interface ClientResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  shouldKeepAlive: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders | string[]): unknown;
  /**
   * The relay front's response only: a head whose header lines are already serialized and
   * checked (`name: value` CRLF each; names are tokens, values hold no control byte but tab).
   * `length` and `date`: whether the lines carry a Content-Length and a Date.
   */
  writeHeadLines?(status: number, lines: string, length: boolean, date: boolean): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  on(event: 'close', fn: () => void): unknown;
  once(event: 'drain', fn: () => void): unknown;
  destroy(): unknown;
}
