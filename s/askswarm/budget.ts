/**
 * The anti-amplification budget of the serving side: toward each source, the bytes we send
 * because its packets asked (ACKs, answers sent again, the response parts a POLL asks for
 * again) stay within `factor` times the bytes we received from it. Over plain UDP a source
 * address can be forged, so without this a small packet could make us send much more to
 * someone who never asked. Pure: no timers, no I/O; the caller gives the time.
 *
 * Each byte received from a source earns it `factor` bytes of credit; each reply spends its
 * size. A reply is sent while the credit is positive, so it may overdraw by at most its own
 * size: a lost one-part answer can be sent again to a caller that only sent a small request.
 * Credit lives in buckets of `windowMs`: what is unspent after one to two windows expires, and
 * so does an overdraft (so one lost answer does not lock a quiet caller out). Hence, for every
 * source, over any stretch of time:
 *
 *     bytes charged ≤ factor × bytes received + one reply per window it spans.
 */

import { FifoMap } from './fifo.js'

/** Default bytes of replies per byte received from a source. */
export const DEFAULT_REPLY_FACTOR = 3

/** Settings of a `ReplyBudget`. */
export interface ReplyBudgetOptions {
  /** Bytes we may send per byte received (at least 1). */
  readonly factor: number
  /** Length of a credit bucket in ms (credit lasts one to two of them). */
  readonly windowMs: number
  /** Sources remembered; past it the one idle longest is forgotten. */
  readonly maxSources: number
}

interface Credit {
  /** `floor(now / windowMs)` of the current bucket. */
  bucket: number
  /** Credit earned in the previous bucket and not yet spent (or an overdraft, negative). */
  prev: number
  /** Credit earned in the current bucket, less what was spent beyond `prev`. */
  cur: number
}

/** See the module comment. */
export class ReplyBudget {
  readonly #o: ReplyBudgetOptions
  /** Insertion order is the order of last activity (by bucket): the first is the stalest. */
  readonly #sources = new FifoMap<string, Credit>()

  /** Throws `RangeError` on a bad option. */
  constructor(opts: ReplyBudgetOptions) {
    if (!(opts.factor >= 1)) throw new RangeError(`factor must be at least 1, got ${opts.factor}`)
    if (!(opts.windowMs > 0))
      throw new RangeError(`windowMs must be positive, got ${opts.windowMs}`)
    if (!Number.isSafeInteger(opts.maxSources) || opts.maxSources < 1) {
      throw new RangeError(`maxSources must be a positive integer, got ${opts.maxSources}`)
    }
    this.#o = { ...opts }
  }

  /** Sources remembered now. */
  get size(): number {
    return this.#sources.size
  }

  /** `bytes` arrived from `src`: it earns `factor × bytes` of credit. */
  received(src: string, bytes: number, now: number): void {
    this.#credit(src, now).cur += this.#o.factor * bytes
  }

  /**
   * Whether a reply of `bytes` may be sent to `src` now: true while its credit is positive,
   * and then the reply is charged (oldest credit first).
   */
  take(src: string, bytes: number, now: number): boolean {
    const c = this.#credit(src, now)
    if (c.prev + c.cur <= 0) return false
    const fromPrev = c.prev > 0 ? Math.min(c.prev, bytes) : 0
    c.prev -= fromPrev
    c.cur -= bytes - fromPrev
    return true
  }

  /** Forgets every source. */
  clear(): void {
    this.#sources.clear()
  }

  #credit(src: string, now: number): Credit {
    const bucket = Math.floor(now / this.#o.windowMs)
    let c = this.#sources.get(src)
    if (c === undefined) {
      if (this.#sources.size >= this.#o.maxSources) {
        this.#sources.delete(this.#sources.oldestKey()!)
      }
      c = { bucket, prev: 0, cur: 0 }
      this.#sources.set(src, c)
      return c
    }
    if (bucket !== c.bucket) {
      // The previous bucket's balance (credit or overdraft) is dropped; the current one ages.
      c.prev = bucket === c.bucket + 1 ? c.cur : 0
      c.cur = 0
      c.bucket = bucket
      // Once per window: move it to the end, so the first entry is the one idle longest.
      this.#sources.touch(src)
    }
    return c
  }
}
