/**
 * What a `P2PKESwarm` counts (`stats()`), and the sums of its channels' counters.
 */
import type { InboxStats, Stats } from '../../core/index.js'
import type { ChannelStats, RateLimiterStats } from '../../p/p2pke/index.js'

/** Packets dropped before they reached a channel, by reason. */
export interface P2PKEDropStats extends Stats {
  /** Shorter than a header, or an InitHello whose encoding or key does not parse. */
  readonly malformed: number
  /** Counters 4–15, which P2PKE never uses. */
  readonly badCounter: number
  /** Not an InitHello, from an address without a channel. */
  readonly unknown: number
  /** An InitHello whose key the allow-list refuses. */
  readonly notAllowed: number
  /** An InitHello over the per-source or the global handshake rate. */
  readonly rateLimited: number
  /** An InitHello accepted recently from another address (a replay). */
  readonly replay: number
  /** An InitHello whose signature (or content) does not verify. */
  readonly authFailed: number
  /** A verified InitHello refused because the channel table is full of established channels. */
  readonly channelsFull: number
}

/** Counters of a `P2PKESwarm`. */
export interface P2PKESwarmStats extends Stats {
  readonly handshakes: {
    readonly [name: string]: number
    /** Handshakes begun: `initiated + responded`. */
    readonly started: number
    /** InitHellos we sent for new attempts (including rekeys). */
    readonly initiated: number
    /** Remote InitHellos that started a responder handshake (on a new or an existing channel). */
    readonly responded: number
    /** Sessions that became ready (either role). */
    readonly completed: number
    /** Channels that gave up (no handshake within the P2PKE timeout) or expired half-open. */
    readonly failed: number
  }
  /** Signature checks of InitHellos from addresses without a channel (channels check their own). */
  readonly verifications: number
  /** Packets dropped before any channel saw them. */
  readonly dropped: P2PKEDropStats
  /** Packets channels dropped, summed over channels (see `ChannelDropStats`). */
  readonly channelDropped: Stats
  readonly channels: {
    readonly [name: string]: number
    /** Channels now. */
    readonly open: number
    /** Channels whose first handshake completed. */
    readonly established: number
    /** Channels created by a remote InitHello, not yet established. */
    readonly halfOpenInbound: number
    readonly created: number
    /** Closed to make room. */
    readonly evicted: number
    /** Closed half-open after `halfOpenTimeoutMs`, or at once when their handshake failed. */
    readonly halfOpenExpired: number
    /** Closed after `idleTimeoutMs` without traffic. */
    readonly idleExpired: number
  }
  /** Handshake messages not sent to a half-open address: more would exceed the bytes it sent us. */
  readonly sendsWithheld: number
  /** Failed inner tells of channel traffic (handshakes, keepalives, queued messages). */
  readonly sendErrors: number
  /** Inner datagrams received / sent, and their bytes. */
  readonly packetsIn: number
  readonly bytesIn: number
  readonly packetsOut: number
  readonly bytesOut: number
  /** Tells delivered to the inbox / sent (encrypted or queued and then sent). */
  readonly messagesIn: number
  readonly messagesOut: number
  /** Tells waiting for a handshake now. */
  readonly waitingTells: number
  /** Accepted InitHellos remembered now (for spotting replays). */
  readonly rememberedHellos: number
  /** Unexpected errors while handling a packet (bugs; each is logged). */
  readonly errors: number
  readonly rateLimiter: RateLimiterStats
  /** The per-channel limiter of InitHellos to established channels. */
  readonly peerRateLimiter: RateLimiterStats
  readonly inbox: InboxStats
  readonly inner: Stats
}

/** The channel counters a swarm sums into its own stats. */
const CHANNEL_COUNTERS = [
  'handshakesInitiated',
  'handshakesCompleted',
  'handshakesFailed',
  'handshakeRetransmits',
  'rekeys',
  'sendErrors',
] as const

/**
 * Sums of channel counters: `counters` by name (the handshake and send-error counters of
 * `ChannelStats`), `dropped` by drop reason. Closed channels are added once, when they close,
 * so that totals survive them; `plus` adds the open ones to a copy for a snapshot.
 */
export class ChannelTotals {
  /** `handshakesInitiated`, `handshakesCompleted`, `handshakesFailed`, `handshakeRetransmits`, `rekeys`, `sendErrors`. */
  readonly counters: Record<string, number> = {}
  /** Summed `ChannelDropStats`. */
  readonly dropped: Record<string, number> = {}

  /** Adds one channel's counters. */
  add(s: ChannelStats): void {
    for (const k of CHANNEL_COUNTERS) this.counters[k] = (this.counters[k] ?? 0) + s[k]
    for (const [k, v] of Object.entries(s.dropped)) this.dropped[k] = (this.dropped[k] ?? 0) + v
  }

  /** A copy with the counters of `more` added (this one is unchanged). */
  plus(more: Iterable<ChannelStats>): ChannelTotals {
    const t = new ChannelTotals()
    Object.assign(t.counters, this.counters)
    Object.assign(t.dropped, this.dropped)
    for (const s of more) t.add(s)
    return t
  }

  /** The named counter, 0 when no channel has counted it. */
  get(name: (typeof CHANNEL_COUNTERS)[number]): number {
    return this.counters[name] ?? 0
  }
}

/** Packets a channel has dropped, over every reason. */
export function channelDropTotal(s: ChannelStats): number {
  let n = 0
  for (const v of Object.values(s.dropped)) n += v
  return n
}
