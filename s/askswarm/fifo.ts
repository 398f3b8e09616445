/**
 * A map that keeps its entries in insertion order and gives up the oldest in O(1): the eviction
 * order of the server's at-most-once memory (`cache.ts`).
 *
 * Why not a plain `Map` and `map.keys().next()`: V8 leaves a deleted entry's slot in the table
 * until the table is rebuilt, and every iterator starts at the first slot, so finding the oldest
 * entry of a Map used as a FIFO steps over every entry deleted since the last rebuild (17.6 µs
 * per eviction at 65,536 entries, see bench/README.md, asks). Here the entries sit in an array in insertion order, a `Map` gives each key's slot,
 * and a head index steps over each deleted slot once. When the last slot is used the live
 * entries are compacted to the front (of arrays of twice their number, at least `MIN_SLOTS`),
 * so every operation is O(1) amortized, and after a compaction the arrays have at most four
 * times as many slots as there are entries (or `MIN_SLOTS`).
 */

/** Marks a slot whose entry was deleted. */
const HOLE: unique symbol = Symbol('hole')

/** Smallest number of slots. */
const MIN_SLOTS = 16

/** See the module comment. Keys compare as `Map` keys do (SameValueZero). */
export class FifoMap<K, V> {
  /** Slot of every live key. */
  readonly #slot = new Map<K, number>()
  #keys: (K | typeof HOLE)[] = new Array(MIN_SLOTS)
  #vals: (V | undefined)[] = new Array(MIN_SLOTS)
  /** No live entry sits below this slot. */
  #head = 0
  /** The next free slot: every slot from here on is unused. */
  #tail = 0

  /** Live entries. */
  get size(): number {
    return this.#slot.size
  }

  /** The value of `key`, if present. */
  get(key: K): V | undefined {
    const i = this.#slot.get(key)
    return i === undefined ? undefined : this.#vals[i]
  }

  /** Whether `key` is present. */
  has(key: K): boolean {
    return this.#slot.has(key)
  }

  /**
   * Sets `key` to `value`. A new key becomes the newest entry; a present key keeps its place
   * in the order (as with `Map`: delete it first to make it the newest).
   */
  set(key: K, value: V): this {
    const i = this.#slot.get(key)
    if (i !== undefined) {
      this.#vals[i] = value
      return this
    }
    if (this.#tail === this.#keys.length) this.#compact()
    const at = this.#tail++
    this.#keys[at] = key
    this.#vals[at] = value
    this.#slot.set(key, at)
    return this
  }

  /**
   * Makes present `key` the newest entry (for least-recently-used order); returns whether it
   * was present. Cheaper than `delete` and `set`: the key's `Map` entry is only updated.
   */
  touch(key: K): boolean {
    const i = this.#slot.get(key)
    if (i === undefined) return false
    if (i === this.#tail - 1) return true
    const value = this.#vals[i]
    this.#keys[i] = HOLE
    this.#vals[i] = undefined
    if (this.#tail === this.#keys.length) this.#compact()
    const at = this.#tail++
    this.#keys[at] = key
    this.#vals[at] = value
    this.#slot.set(key, at)
    return true
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: K): boolean {
    const i = this.#slot.get(key)
    if (i === undefined) return false
    this.#slot.delete(key)
    this.#keys[i] = HOLE
    this.#vals[i] = undefined
    if (this.#slot.size === 0) {
      // Empty: every used slot is a hole, so start again at the front.
      this.#head = 0
      this.#tail = 0
    }
    return true
  }

  /** The oldest key (inserted first among the live ones), or undefined when empty. */
  oldestKey(): K | undefined {
    const keys = this.#keys
    let h = this.#head
    while (h < this.#tail && keys[h] === HOLE) h++
    this.#head = h
    return h < this.#tail ? (keys[h] as K) : undefined
  }

  /**
   * Live entries, oldest first. Deleting entries (any of them) while iterating is allowed;
   * adding is not (the iteration then stops or skips entries).
   */
  *entries(): IterableIterator<[K, V]> {
    const keys = this.#keys
    const vals = this.#vals
    for (let i = this.#head; i < this.#tail && keys === this.#keys; i++) {
      const k = keys[i]
      if (k !== HOLE) yield [k as K, vals[i] as V]
    }
  }

  /** Live values, oldest first (see `entries` on changes while iterating). */
  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v
  }

  /** As `entries`. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  /**
   * Calls `fn` on every live entry, oldest first, without allocating. `fn` may delete entries
   * (any of them), not add them.
   */
  forEach(fn: (value: V, key: K) => void): void {
    const keys = this.#keys
    const vals = this.#vals
    for (let i = this.#head; i < this.#tail && keys === this.#keys; i++) {
      const k = keys[i]
      if (k !== HOLE) fn(vals[i] as V, k as K)
    }
  }

  /** Removes every entry. */
  clear(): void {
    this.#slot.clear()
    this.#keys = new Array(MIN_SLOTS)
    this.#vals = new Array(MIN_SLOTS)
    this.#head = 0
    this.#tail = 0
  }

  /**
   * Moves the live entries, in order, to the front of arrays of `max(MIN_SLOTS, 2 × live)`
   * slots: the same arrays when their length is within twice that, else new ones. Called when
   * the last slot is used; since the previous compaction at least as many slots were filled as
   * there are live entries now (half the slots, or all of `MIN_SLOTS`), which pays for the copy.
   */
  #compact(): void {
    const n = this.#slot.size
    const want = Math.max(MIN_SLOTS, 2 * n)
    const oldKeys = this.#keys
    const oldVals = this.#vals
    const inPlace = oldKeys.length >= want && oldKeys.length <= 2 * want
    const keys: (K | typeof HOLE)[] = inPlace ? oldKeys : new Array(want)
    const vals: (V | undefined)[] = inPlace ? oldVals : new Array(want)
    let at = 0
    for (let i = this.#head; i < this.#tail; i++) {
      const k = oldKeys[i]!
      if (k === HOLE) continue
      keys[at] = k
      vals[at] = oldVals[i]
      this.#slot.set(k, at)
      at++
    }
    // Slots past the live entries keep no references (in place, they held moved entries).
    if (inPlace) {
      keys.fill(HOLE, at, this.#tail)
      vals.fill(undefined, at, this.#tail)
    }
    this.#keys = keys
    this.#vals = vals
    this.#head = 0
    this.#tail = at
  }
}
