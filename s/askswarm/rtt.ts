/**
 * Round-trip time estimation and retransmission timeouts, as RFC 6298 ("Computing TCP's
 * Retransmission Timer"), kept per peer. Pure: callers give it samples and read timeouts.
 *
 * Departures from RFC 6298, on purpose:
 * - The bounds are options: `minRtoMs` defaults to 100 ms (the RFC's 1 s (2.4) is meant for
 *   the Internet of 2011's TCP; asks are often on a LAN), and `maxRtoMs` to 2 s (the RFC asks
 *   for at least 60 s (2.5); an ask never outlives its deadline anyway, and a short cap keeps
 *   polling a slow handler responsive).
 * - Samples come from echoed transmission numbers (as TCP timestamps, RFC 7323 §4), so a reply
 *   is matched to the very transmission it answers; see `askswarm.ts` for how Karn's rule
 *   (RFC 6298 §3, 5.5–5.7) applies.
 */

import { FifoMap } from './fifo.js'

/** Settings of the estimator. All in milliseconds. */
export interface RttOptions {
  /** Timeout before any sample (RFC 6298 2.1; default 1000). */
  initialRtoMs?: number
  /** Smallest timeout (default 100). */
  minRtoMs?: number
  /** Largest timeout, also after backoff (default 2000). */
  maxRtoMs?: number
  /** Clock granularity G (RFC 6298 §2; default 1). */
  granularityMs?: number
}

/** Default `initialRtoMs`. */
export const DEFAULT_INITIAL_RTO_MS = 1000
/** Default `minRtoMs`. */
export const DEFAULT_MIN_RTO_MS = 100
/** Default `maxRtoMs`. */
export const DEFAULT_MAX_RTO_MS = 2000

/** RFC 6298 §2: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8
const BETA = 1 / 4
const K = 4

/** The options with defaults filled in and checked. Throws `RangeError` on a bad value. */
export function resolveRttOptions(o: RttOptions = {}): Required<RttOptions> {
  const r = {
    initialRtoMs: o.initialRtoMs ?? DEFAULT_INITIAL_RTO_MS,
    minRtoMs: o.minRtoMs ?? DEFAULT_MIN_RTO_MS,
    maxRtoMs: o.maxRtoMs ?? DEFAULT_MAX_RTO_MS,
    granularityMs: o.granularityMs ?? 1,
  }
  for (const [k, v] of Object.entries(r)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(`${k} must be a positive finite number, got ${v}`)
    }
  }
  if (r.minRtoMs > r.maxRtoMs) {
    throw new RangeError(`minRtoMs (${r.minRtoMs}) must not exceed maxRtoMs (${r.maxRtoMs})`)
  }
  return r
}

/** SRTT/RTTVAR/RTO of one peer (RFC 6298 §2). */
export class RttEstimator {
  readonly #o: Required<RttOptions>
  #srtt: number | undefined
  #rttvar = 0
  #rto: number
  #samples = 0

  constructor(opts: Required<RttOptions>) {
    this.#o = opts
    this.#rto = clamp(opts.initialRtoMs, opts.minRtoMs, opts.maxRtoMs)
  }

  /** Smoothed RTT, or undefined before the first sample. */
  get srtt(): number | undefined {
    return this.#srtt
  }

  /** RTT variation (0 before the first sample). */
  get rttvar(): number {
    return this.#rttvar
  }

  /** Samples taken. */
  get samples(): number {
    return this.#samples
  }

  /** The current retransmission timeout, within `[minRtoMs, maxRtoMs]`. */
  get rto(): number {
    return this.#rto
  }

  /** Takes one RTT measurement `r` (ms, >= 0; negative or non-finite values are ignored). */
  sample(r: number): void {
    if (!(r >= 0) || !Number.isFinite(r)) return
    this.#samples++
    if (this.#srtt === undefined) {
      // 2.2: the first measurement.
      this.#srtt = r
      this.#rttvar = r / 2
    } else {
      // 2.3: RTTVAR first, with the old SRTT.
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - r)
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * r
    }
    const rto = this.#srtt + Math.max(this.#o.granularityMs, K * this.#rttvar)
    this.#rto = clamp(rto, this.#o.minRtoMs, this.#o.maxRtoMs)
  }

  /**
   * The timeout for the `attempt`-th retransmission of one transmission (0: the first send):
   * RTO doubled per attempt (RFC 6298 5.5), capped at `maxRtoMs`.
   */
  backoff(attempt: number): number {
    return Math.min(this.#o.maxRtoMs, this.#rto * 2 ** Math.min(Math.max(0, attempt), 30))
  }
}

/**
 * Estimators by peer (address text), at most `maxPeers`: the least recently used is forgotten
 * first (it starts again from `initialRtoMs` if it comes back).
 */
export class RttTable {
  readonly options: Required<RttOptions>
  readonly #maxPeers: number
  /** Insertion order is recency order: the first is the least recently used. */
  readonly #peers = new FifoMap<string, RttEstimator>()

  constructor(opts: RttOptions = {}, maxPeers = 4096) {
    this.options = resolveRttOptions(opts)
    if (!Number.isInteger(maxPeers) || maxPeers < 1) {
      throw new RangeError(`maxPeers must be a positive integer, got ${maxPeers}`)
    }
    this.#maxPeers = maxPeers
  }

  /** Peers known now. */
  get size(): number {
    return this.#peers.size
  }

  /** The estimator of `peer`, created (and the oldest forgotten past `maxPeers`) if needed. */
  get(peer: string): RttEstimator {
    let e = this.#peers.get(peer)
    if (e !== undefined) {
      this.#peers.touch(peer)
      return e
    }
    e = new RttEstimator(this.options)
    if (this.#peers.size >= this.#maxPeers) this.#peers.delete(this.#peers.oldestKey()!)
    this.#peers.set(peer, e)
    return e
  }

  /** The estimator of `peer` if known, without creating or touching it. */
  peek(peer: string): RttEstimator | undefined {
    return this.#peers.get(peer)
  }

  /** Forgets every peer. */
  clear(): void {
    this.#peers.clear()
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}
