/**
 * What a `P2PKESwarm` counts (`stats()`).
 */
import type { InboxStats, Stats } from '../../core/index.js'
import type { RateLimiterStats } from '../../p/p2pke/index.js'

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
