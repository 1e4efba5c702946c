// The open streams of a connection by id: an open-addressing table (linear probing,
// deletion by backward shift) whose slots are cleared when a stream leaves and whose arrays
// are replaced only when it grows. A Map rehashes as entries come and go; each rehash
// leaves the previous table, by then in the old generation, pointing at the streams open
// at that moment, and the young-generation GC treats those stale pointers as live until
// the next full GC: every such stream, its call and its buffers were promoted. Here a
// stream that leaves is unreachable from the table at once.

export class StreamTable<V> {
  #keys: Int32Array;
  #values: Array<V | undefined>;
  #mask: number;
  #size = 0;

  constructor(capacity = 64) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.#keys = new Int32Array(n);
    this.#values = new Array<V | undefined>(n).fill(undefined);
    this.#mask = n - 1;
  }

  get size(): number {
    return this.#size;
  }

  #slot(id: number): number {
    // Stream ids of one side are all odd (or all even): drop the low bit before mixing.
    return Math.imul(id >>> 1, 0x9e3779b1) >>> 0 & this.#mask;
  }

  get(id: number): V | undefined {
    const keys = this.#keys;
    for (let i = this.#slot(id); ; i = (i + 1) & this.#mask) {
      const k = keys[i]!;
      if (k === id) return this.#values[i];
      if (k === 0) return undefined;
    }
  }

  /** Adds or replaces (`id` > 0). */
  set(id: number, value: V): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    for (let i = this.#slot(id); ; i = (i + 1) & this.#mask) {
      const k = keys[i]!;
      if (k === id) {
        this.#values[i] = value;
        return;
      }
      if (k === 0) {
        keys[i] = id;
        this.#values[i] = value;
        this.#size++;
        return;
      }
    }
  }

  delete(id: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = this.#slot(id);
    for (; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === 0) return false;
      if (k === id) break;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole.
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = this.#slot(keys[j]!);
      // Entry j may move to the hole if its home is not in the cyclic range (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        keys[hole] = keys[j]!;
        values[hole] = values[j];
        hole = j;
      }
    }
    keys[hole] = 0;
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  /** The values, as an array (a copy: the table may change while it is walked). */
  values(): V[] {
    const out: V[] = [];
    if (this.#size === 0) return out;
    const values = this.#values;
    for (let i = 0; i < values.length; i++) if (this.#keys[i] !== 0) out.push(values[i]!);
    return out;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const n = keys.length * 2;
    this.#keys = new Int32Array(n);
    this.#values = new Array<V | undefined>(n).fill(undefined);
    this.#mask = n - 1;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i]!, values[i]!);
    values.fill(undefined); // the old array may be in the old generation: leave it pointing at nothing
  }
}
