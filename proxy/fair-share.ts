// Per-model fair share of the REST upstream connections. One pool serves every model, so
// without this a model whose requests are slow holds every connection and a fast model's
// request waits behind them (140 slow requests made a fast one wait 27.9 s). Each model may
// hold at most `perModel` of the `total` slots; past that its requests wait in its own queue.
// When a slot frees, it goes to the waiting model holding the fewest slots (ties in turn), so
// a model that just arrived is served before a saturated one's backlog.
//
// A slot is one request in flight upstream, which with one request per connection (no
// pipelining) is one connection: `total` equals the pool's connection count, so the pool
// itself never queues and every wait is a fair one here.

/** A request waiting for a slot; `onSlot` is called once the slot is its own. */
export interface SlotWaiter {
  onSlot(): void;
}

interface ModelShare {
  inFlight: number;
  queue: SlotWaiter[];
}

export class FairShare {
  readonly total: number;
  readonly perModel: number;
  #inUse = 0;
  readonly #models = new Map<string, ModelShare>();
  /** Models with a non-empty queue, in the order they started waiting. */
  readonly #waiting: string[] = [];

  constructor(total: number, perModel: number) {
    this.total = total;
    this.perModel = Math.min(perModel, total);
  }

  /** Slots held now, all models together (for tests and stats). */
  get inUse(): number {
    return this.#inUse;
  }

  /** Requests waiting for a slot, all models together. */
  get queued(): number {
    let n = 0;
    for (const m of this.#waiting) n += this.#models.get(m)?.queue.length ?? 0;
    return n;
  }

  /** true: the slot is taken now. false: `w.onSlot()` follows when one frees (or cancel). */
  acquire(model: string, w: SlotWaiter): boolean {
    let s = this.#models.get(model);
    if (s === undefined) {
      s = { inFlight: 0, queue: [] };
      this.#models.set(model, s);
    }
    // Nobody waits ahead of it (a model with a queue must not be overtaken by its own new request).
    if (s.queue.length === 0 && s.inFlight < this.perModel && this.#inUse < this.total) {
      s.inFlight++;
      this.#inUse++;
      return true;
    }
    if (s.queue.length === 0) this.#waiting.push(model);
    s.queue.push(w);
    return false;
  }

  /** Gives back a slot taken by `acquire` (true, or granted through onSlot). */
  release(model: string): void {
    const s = this.#models.get(model);
    if (s === undefined || s.inFlight === 0) return;
    s.inFlight--;
    this.#inUse--;
    if (s.inFlight === 0 && s.queue.length === 0) this.#models.delete(model);
    this.#grant();
  }

  /** Takes a waiter that has not been granted out of its queue (it gave up). */
  cancel(model: string, w: SlotWaiter): void {
    const s = this.#models.get(model);
    if (s === undefined) return;
    const i = s.queue.indexOf(w);
    if (i === -1) return;
    s.queue.splice(i, 1);
    if (s.queue.length === 0) {
      this.#unwait(model);
      if (s.inFlight === 0) this.#models.delete(model);
    }
  }

  #unwait(model: string): void {
    const i = this.#waiting.indexOf(model);
    if (i !== -1) this.#waiting.splice(i, 1);
  }

  #grant(): void {
    while (this.#inUse < this.total && this.#waiting.length > 0) {
      // The waiting model with the fewest slots; the earliest waiter wins a tie.
      let best = -1;
      let bestInFlight = Infinity;
      for (let i = 0; i < this.#waiting.length; i++) {
        const s = this.#models.get(this.#waiting[i]!)!;
        if (s.inFlight < this.perModel && s.inFlight < bestInFlight) {
          best = i;
          bestInFlight = s.inFlight;
        }
      }
      if (best === -1) return; // every waiting model is at its own limit
      const model = this.#waiting[best]!;
      const s = this.#models.get(model)!;
      const w = s.queue.shift()!;
      // Served: it goes to the back of the turn order.
      this.#waiting.splice(best, 1);
      if (s.queue.length > 0) this.#waiting.push(model);
      s.inFlight++;
      this.#inUse++;
      w.onSlot();
    }
  }
}
