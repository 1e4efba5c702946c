// One REST request's state, from arrival to answer.
import type { ServerResponse } from 'node:http';
import { OVERFLOW_LABEL_VALUE, UNKNOWN_VERSION } from '../../common/conventions.ts';
import type { ServingHandle } from '../models/manager.ts';
import type { Expirable } from './deadlines.ts';
import type { V2Request } from './kserve-codec.ts';
import type { TfFormat } from './tf-codec.ts';

/** The `api` label of a REST request. */
export type RestApi = 'predict' | 'classify' | 'regress' | 'infer' | 'status' | 'metadata' | 'health' | 'metrics' | 'other';

/**
 * One request's state, from arrival to answer. A class so every request has the same
 * shape; the inference path passes it along instead of capturing it in async frames.
 */
export class RestRequest implements Expirable {
  model: string = OVERFLOW_LABEL_VALUE;
  version: string = UNKNOWN_VERSION;
  api: RestApi = 'other';
  handle: ServingHandle | undefined = undefined;
  /** Answered (or failed, or expired): anything that arrives later is dropped. */
  done = false;
  /** What the inference result is encoded as (set before the run starts). */
  format: TfFormat = 'row';
  v2: V2Request | undefined = undefined;
  output = '';
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineLinked = false;
  /** performance.now() when the run started. */
  runT0 = 0;
  /** Holds one of the large-body slots until answered. */
  large = false;

  constructor(
    readonly res: ServerResponse,
    readonly t0: number,
    readonly deadlineMs: number,
    readonly onExpire: (r: RestRequest) => void,
  ) {}

  expire(): void {
    this.onExpire(this);
  }
}
