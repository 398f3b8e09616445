/**
 * A handshake rate limiter in the manner of WireGuard's (wireguard-go `ratelimiter/ratelimiter.go`,
 * Linux `drivers/net/wireguard/ratelimiter.c`): one token bucket per source key (an IP address,
 * or an IPv6 /64 as Linux does) plus one global bucket, so that a flood of InitHellos, spoofed or
 * not, costs at most a bounded number of signature verifications.
 *
 * Pure and synchronous: no timers, no I/O. The caller passes the time (or lets the injected
 * `Clock` supply it); idle entries are collected on access, and `gc()` collects them all.
 *
 * Tokens are kept, as in WireGuard, as milliseconds of credit: a packet costs
 * `1000 / packetsPerSecond` ms, a bucket holds at most `burst` packets' worth, and credit grows
 * with elapsed time. One difference: WireGuard allows a packet only when the credit is strictly
 * greater than its cost, which with a nanosecond clock still lets `burst` packets through; here
 * credit equal to the cost suffices, so exactly `burst` packets pass even when they share one
 * clock reading (millisecond clocks in tests).
 *
 * Bounds:
 * - per key, over any interval of `t` ms: at most `burst + t · packetsPerSecond / 1000` allowed;
 * - in total, over any interval of `t` ms: at most `globalBurst + t · globalPacketsPerSecond / 1000`;
 * - at most `maxEntries` keys are tracked. When the table is full, a packet from a key not in it
 *   is refused (and counted) — the policy of Linux's limiter — rather than evicting a tracked key:
 *   eviction would hand an attacker fresh, full buckets. Entries idle for more than `idleMs`
 *   (default 1 s) are removed, so the table empties within `idleMs` of a flood ending.
 */
import type { Clock } from '../../core/index.js'
import { systemClock } from '../../core/index.js'

/** Packets per second each source may send (WireGuard's `packetsPerSecond`). */
export const RATE_LIMIT_PACKETS_PER_SECOND = 20
/** Packets a source may send at once (WireGuard's `packetsBurstable`). */
export const RATE_LIMIT_PACKETS_BURSTABLE = 5
/** A source idle for longer than this is forgotten (WireGuard's `garbageCollectTime`). */
export const RATE_LIMIT_IDLE_MS = 1000
/** Default most sources tracked at once. */
export const RATE_LIMIT_MAX_ENTRIES = 4096
/** Default packets per second over all sources together. */
export const RATE_LIMIT_GLOBAL_PACKETS_PER_SECOND = 1000
/** Default packets at once over all sources together. */
export const RATE_LIMIT_GLOBAL_BURST = 100

/** Options of a `RateLimiter`. Every number must be positive. */
export interface RateLimiterOptions {
  /** Sustained packets per second per key (default 20). */
  packetsPerSecond?: number
  /** Packets per key at once (default 5). */
  burst?: number
  /** Sustained packets per second over all keys (default 1000; `Infinity` turns the global bucket off). */
  globalPacketsPerSecond?: number
  /** Packets at once over all keys (default 100). */
  globalBurst?: number
  /**
   * A key idle for longer than this is forgotten (default 1000 ms). Must be at least the time a
   * bucket takes to refill (`burst * 1000 / packetsPerSecond`), so forgetting a key never gives
   * it more than it would have had.
   */
  idleMs?: number
  /** Most keys tracked at once (default 4096); new keys are refused while the table is full. */
  maxEntries?: number
  /** Time source used when `allow`/`gc` are called without a time (default `systemClock`). */
  clock?: Clock
}

/** Counters of a `RateLimiter`. */
export interface RateLimiterStats {
  [name: string]: number
  /** Packets allowed. */
  allowed: number
  /** Packets refused because their key's bucket was empty. */
  limited: number
  /** Packets refused because the global bucket was empty. */
  limitedGlobal: number
  /** Packets refused because the table was full and their key was not in it. */
  refusedFull: number
  /** Keys forgotten after being idle. */
  expired: number
  /** Keys tracked now. */
  entries: number
}

interface Bucket {
  /** Credit in ms; a packet costs `cost` ms. */
  tokens: number
  /** Time of the last call for this key (never moves backwards). */
  last: number
}

/** Token-bucket rate limiter keyed by source. See the module comment for the guarantees. */
export class RateLimiter {
  readonly #cost: number
  readonly #max: number
  readonly #globalCost: number
  readonly #globalMax: number
  readonly #idleMs: number
  readonly #maxEntries: number
  readonly #clock: Clock
  /** In order of last access: every `allow` moves its key to the end, so the oldest come first. */
  readonly #table = new Map<string, Bucket>()
  readonly #global: Bucket
  readonly #stats = { allowed: 0, limited: 0, limitedGlobal: 0, refusedFull: 0, expired: 0 }

  /** Throws `RangeError` naming the option when an option is out of range. */
  constructor(opts: RateLimiterOptions = {}) {
    const pps = positive('packetsPerSecond', opts.packetsPerSecond ?? RATE_LIMIT_PACKETS_PER_SECOND)
    const burst = positive('burst', opts.burst ?? RATE_LIMIT_PACKETS_BURSTABLE)
    const gpps = positive(
      'globalPacketsPerSecond',
      opts.globalPacketsPerSecond ?? RATE_LIMIT_GLOBAL_PACKETS_PER_SECOND,
      true,
    )
    const gburst = positive('globalBurst', opts.globalBurst ?? RATE_LIMIT_GLOBAL_BURST)
    this.#cost = 1000 / pps
    this.#max = this.#cost * burst
    this.#globalCost = 1000 / gpps // 0 when the global bucket is off
    this.#globalMax = this.#globalCost * gburst
    this.#idleMs = positive('idleMs', opts.idleMs ?? RATE_LIMIT_IDLE_MS)
    if (this.#idleMs < this.#max)
      throw new RangeError(`idleMs must be at least burst * 1000 / packetsPerSecond (${this.#max})`)
    const maxEntries = opts.maxEntries ?? RATE_LIMIT_MAX_ENTRIES
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer')
    this.#maxEntries = maxEntries
    this.#clock = opts.clock ?? systemClock
    // Starts full; its time base is set by the first call, whatever clock the caller uses.
    this.#global = { tokens: this.#globalMax, last: Number.NEGATIVE_INFINITY }
  }

  /**
   * Decides one packet from `key` at time `now` (ms, default the clock's time) and charges the
   * buckets when it is allowed. A refused packet costs nothing. Collects idle keys on the way.
   */
  allow(key: string, now: number = this.#clock.now()): boolean {
    if (typeof key !== 'string') throw new TypeError('key must be a string')
    if (!Number.isFinite(now)) throw new RangeError('now must be a finite number')
    this.#collect(now, 2)
    let bucket = this.#table.get(key)
    if (bucket === undefined) {
      if (this.#table.size >= this.#maxEntries) this.#collect(now, Number.POSITIVE_INFINITY)
      if (this.#table.size >= this.#maxEntries) {
        this.#stats.refusedFull++
        return false
      }
      bucket = { tokens: this.#max, last: now }
    } else {
      this.#table.delete(key) // re-inserted below: keeps the map in order of last access
      refill(bucket, now, this.#max)
    }
    this.#table.set(key, bucket)
    if (bucket.tokens < this.#cost) {
      this.#stats.limited++
      return false
    }
    refill(this.#global, now, this.#globalMax)
    if (this.#global.tokens < this.#globalCost) {
      this.#stats.limitedGlobal++
      return false
    }
    bucket.tokens -= this.#cost
    this.#global.tokens -= this.#globalCost
    this.#stats.allowed++
    return true
  }

  /** Forgets every key idle for longer than `idleMs` at `now`; returns how many it forgot. */
  gc(now: number = this.#clock.now()): number {
    if (!Number.isFinite(now)) throw new RangeError('now must be a finite number')
    return this.#collect(now, Number.POSITIVE_INFINITY)
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#table.size
  }

  /** Forgets every key and refills the global bucket. Counters are kept. */
  clear(): void {
    this.#table.clear()
    this.#global.tokens = this.#globalMax
  }

  /** A snapshot of the counters. */
  stats(): RateLimiterStats {
    return { ...this.#stats, entries: this.#table.size }
  }

  /** Removes up to `limit` idle keys from the front (the least recently used). */
  #collect(now: number, limit: number): number {
    let n = 0
    for (const [key, bucket] of this.#table) {
      if (n >= limit || now - bucket.last <= this.#idleMs) break
      this.#table.delete(key)
      n++
    }
    this.#stats.expired += n
    return n
  }
}

function refill(b: Bucket, now: number, max: number): void {
  if (now > b.last) {
    b.tokens = Math.min(max, b.tokens + (now - b.last))
    b.last = now
  }
}

function positive(name: string, v: number, infinityOk = false): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v <= 0 || (!infinityOk && !Number.isFinite(v)))
    throw new RangeError(`${name} must be a positive number`)
  return v
}
