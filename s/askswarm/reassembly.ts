/**
 * Reassembly of one fragmented request or response, and the bitmaps peers exchange about
 * which parts arrived. Pure: no timers, no I/O, no budgets (the caller decides whether a new
 * assembly may be started; see `cache.ts` for the server's budgets).
 *
 * Every header field is checked (`partSize` in `wire.ts`) before an `Assembly` allocates the
 * message's buffer, and every later part must agree with the first one.
 */
import { type PartFields, partSize } from './wire.js'

/** Set bits in each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0
  for (let v = b; v !== 0; v &= v - 1) n++
  return n
})

/**
 * A fixed-size set of part indices, encoded on the wire LSB first (bit i in byte i>>3).
 *
 * `encode`, `merge` and `missing` work a byte at a time, so their cost follows the bytes they
 * read or write (a peer's bitmap, the room in a reply), never the set's size alone: a peer that
 * sends small packets cannot make us loop over a large set for each one.
 */
export class Bitset {
  readonly size: number
  readonly #bytes: Uint8Array
  #count = 0
  /** No index below this is missing (advanced lazily). */
  #firstMissing = 0

  /** An empty set over `[0, size)`. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`size must be a non-negative integer, got ${size}`)
    }
    this.size = size
    this.#bytes = new Uint8Array(Math.ceil(size / 8))
  }

  /** Members. */
  get count(): number {
    return this.#count
  }

  /** True when every index is a member. */
  get full(): boolean {
    return this.#count === this.size
  }

  /** Whether `i` is a member (false outside `[0, size)`). */
  has(i: number): boolean {
    if (i < 0 || i >= this.size) return false
    return (this.#bytes[i >> 3]! & (1 << (i & 7))) !== 0
  }

  /** Adds `i`; returns whether it was new. Ignores indices outside `[0, size)`. */
  add(i: number): boolean {
    if (i < 0 || i >= this.size || this.has(i)) return false
    this.#bytes[i >> 3]! |= 1 << (i & 7)
    this.#count++
    return true
  }

  /**
   * Adds what a peer reports: every index below `base`, and `base + i` for every bit i set in
   * `bitmap` (bits past `size` are ignored). Returns how many indices were new.
   */
  merge(bitmap: Uint8Array, base = 0): number {
    const before = this.#count
    const below = Math.min(Math.max(0, base), this.size)
    if (below > this.#firstMissing) {
      this.#orRange(this.#firstMissing, below)
      this.#firstMissing = below
    }
    const n = Math.min(bitmap.length * 8, this.size - below)
    const whole = n >> 3
    const shift = below & 7
    let at = below >> 3
    for (let j = 0; j < whole; j++, at++) {
      const b = bitmap[j]!
      if (b === 0) continue
      this.#orByte(at, (b << shift) & 0xff)
      if (shift !== 0) this.#orByte(at + 1, b >> (8 - shift))
    }
    // The last few bits, one at a time (at most 7).
    for (let i = whole * 8; i < n; i++) {
      if ((bitmap[i >> 3]! & (1 << (i & 7))) !== 0) this.add(below + i)
    }
    return this.#count - before
  }

  /** The smallest index that is not a member (`size` when full). */
  firstMissing(): number {
    let i = this.#firstMissing
    while (i < this.size && (i & 7) !== 0 && this.has(i)) i++
    if ((i & 7) === 0) while (i < this.size && this.#bytes[i >> 3] === 0xff) i += 8
    while (i < this.size && this.has(i)) i++
    this.#firstMissing = i
    return i
  }

  /** Empties the set. */
  clear(): void {
    this.#bytes.fill(0)
    this.#count = 0
    this.#firstMissing = 0
  }

  /**
   * The wire form of what a peer should know: `base`, the first missing index (every index
   * below it is a member), and a bitmap of the indices from `base` on, cut to at most
   * `maxBytes` bytes (the peer treats indices past its end as missing, which is always safe:
   * at most a part is sent again). Trailing zero bytes are left out. The bitmap is a fresh copy.
   */
  encode(maxBytes: number): { base: number; bitmap: Uint8Array } {
    const base = this.firstMissing()
    const n = Math.min(this.size - base, Math.max(0, Math.floor(maxBytes)) * 8)
    const out = new Uint8Array(Math.ceil(n / 8))
    const shift = base & 7
    const from = base >> 3
    const bytes = this.#bytes
    let end = 0
    for (let j = 0; j < out.length; j++) {
      let b = bytes[from + j]! >> shift
      if (shift !== 0 && from + j + 1 < bytes.length)
        b |= (bytes[from + j + 1]! << (8 - shift)) & 0xff
      // Bits past n (past the set or the room) are not members to report.
      const left = n - j * 8
      if (left < 8) b &= (1 << left) - 1
      out[j] = b
      if (b !== 0) end = j + 1
    }
    return { base, bitmap: out.subarray(0, end) }
  }

  /** Up to `max` indices that are not members, in increasing order. */
  missing(max: number): number[] {
    const out: number[] = []
    let i = this.firstMissing()
    while (i < this.size && out.length < max) {
      if ((i & 7) === 0 && this.#bytes[i >> 3] === 0xff) {
        i += 8
        continue
      }
      if (!this.has(i)) out.push(i)
      i++
    }
    return out
  }

  /** Adds every index in `[from, to)`. */
  #orRange(from: number, to: number): void {
    let i = from
    for (; i < to && (i & 7) !== 0; i++) this.add(i)
    for (; i + 8 <= to; i += 8) this.#orByte(i >> 3, 0xff)
    for (; i < to; i++) this.add(i)
  }

  /** ORs `bits` into byte `at`, counting the new members (bits past `size` are never set). */
  #orByte(at: number, bits: number): void {
    if (at >= this.#bytes.length) return
    const old = this.#bytes[at]!
    let add = bits & ~old
    const past = (at + 1) * 8 - this.size
    if (past > 0) add &= (1 << (8 - past)) - 1
    if (add === 0) return
    this.#bytes[at] = old | add
    this.#count += POPCOUNT[add]!
  }
}

/** What became of a part given to an `Assembly`. */
export type AddResult =
  /** Stored; the message is not complete yet. */
  | 'stored'
  /** Stored, and it completed the message. */
  | 'complete'
  /** The index was stored before (its bytes are not compared: a retransmission carries the same). */
  | 'duplicate'
  /** The part disagrees with the message's first part (total, count or part length). */
  | 'inconsistent'

/**
 * One message being put together from its parts. Its buffer of `total` bytes is allocated by
 * the constructor, once the first part's fields have been checked (`Assembly.check`).
 */
export class Assembly {
  readonly total: number
  readonly count: number
  /** Length of every part but the last. */
  readonly partLen: number
  readonly received: Bitset
  readonly #buf: Uint8Array

  /**
   * The regular part length of a message whose part `index` of `len` bytes claims `total`
   * bytes in `count` parts, if that is consistent and `total <= maxTotal`; else undefined.
   * Call this before constructing (it allocates `total` bytes).
   */
  static check(f: PartFields, len: number, maxTotal: number): number | undefined {
    if (f.total > maxTotal) return undefined
    return partSize(f.total, f.count, f.index, len)
  }

  /** Starts a message of `total` bytes in `count` parts of `partLen` bytes (see `check`). */
  constructor(total: number, count: number, partLen: number) {
    this.total = total
    this.count = count
    this.partLen = partLen
    this.received = new Bitset(count)
    this.#buf = new Uint8Array(total)
  }

  /** Bytes of memory this assembly holds (its buffer). */
  get bytes(): number {
    return this.total
  }

  /** True once every part arrived. */
  get complete(): boolean {
    return this.received.full
  }

  /** Adds a part; its data is copied, so the caller's buffer is not kept. */
  add(f: PartFields, data: Uint8Array): AddResult {
    if (f.total !== this.total || f.count !== this.count) return 'inconsistent'
    if (partSize(f.total, f.count, f.index, data.length) !== this.partLen) return 'inconsistent'
    if (this.received.has(f.index)) return 'duplicate'
    this.#buf.set(data, f.index * this.partLen)
    this.received.add(f.index)
    return this.received.full ? 'complete' : 'stored'
  }

  /** The whole message (the assembly's own buffer, handed over). Only once `complete`. */
  take(): Uint8Array {
    if (!this.complete) throw new Error('assembly is not complete')
    return this.#buf
  }
}

/** The bytes of part `index` of `data` split into parts of `partLen` (a view, not a copy). */
export function partOf(data: Uint8Array, partLen: number, index: number): Uint8Array {
  const start = index * partLen
  return data.subarray(start, Math.min(data.length, start + partLen))
}
