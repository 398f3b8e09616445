/**
 * fragswarm: raises the mtu of any swarm by splitting each message into parts (see
 * `wire.ts` for the format and `reassembly.ts` for the receiving rules).
 */
import { randomInt } from 'node:crypto'
import {
  type Addr,
  type AddrOf,
  type CallOptions,
  type Clock,
  CloseOnce,
  ClosedError,
  type HasStats,
  type Inbox,
  MTUExceededError,
  type Message,
  type Payload,
  type Secure,
  type SecureSwarm,
  type Stats,
  type Swarm,
  checkCall,
  hasStats,
  isSecure,
  newMessageInbox,
  payloadSize,
  prepend,
  pumpMessages,
  receiveOne,
  systemClock,
} from '../../core/index.js'
import { type ReassemblyCounters, Reassembler, type ReassemblyUsage } from './reassembly.js'
import {
  MAX_HEADER_SIZE,
  MAX_MSG_ID,
  MAX_PARTS,
  encodeFragHeader,
  fragmentPayload,
} from './wire.js'

/** Default mtu when none is given (capped by what 255 parts of the inner mtu can carry). */
export const DEFAULT_FRAG_MTU = 65536
/** Default lifetime of an incomplete message. Parts of one message are sent back to back. */
export const DEFAULT_REASSEMBLY_TIMEOUT_MS = 3000

/** Options of a `FragSwarm`. */
export interface FragSwarmOptions {
  /**
   * Largest message `tell` accepts and `receive` delivers (default: `DEFAULT_FRAG_MTU`, or
   * less when 255 parts of the inner mtu cannot carry it). A value that would need more than
   * 255 parts of the inner swarm's mtu throws `RangeError`.
   */
  mtu?: number
  /** Lifetime of an incomplete message and of a remembered id (default 3000 ms). */
  reassemblyTimeoutMs?: number
  /** Most incomplete messages per source (default 64). */
  maxPendingPerSource?: number
  /** Most stored part bytes per source (default 4 × mtu; at least mtu). */
  maxPendingBytesPerSource?: number
  /** Most incomplete messages in total (default 4096). */
  maxPending?: number
  /** Most stored part bytes in total (default 64 × mtu, at least `maxPendingBytesPerSource`). */
  maxPendingBytes?: number
  /** Most remembered ids of completed or poisoned messages (default 16384). */
  maxTombstones?: number
  /** Most reassembled messages waiting for `receive` (default 1024). */
  inboxItems?: number
  /** Most bytes waiting for `receive` (default 16 MiB, at least mtu). */
  inboxBytes?: number
  /** Time source for expiry (default: the system clock). */
  clock?: Clock
  /**
   * First message id (default: random). Ids then count up by one per message and wrap at
   * 2^32. A random start is what keeps a restarted sender's ids from matching ids a receiver
   * still remembers; set it only in tests.
   */
  initialMsgId?: number
  /** Called when the inner swarm's receive fails unexpectedly (default: silent). */
  log?: (event: string, detail: Record<string, unknown>) => void
}

/** Counters of a `FragSwarm`. */
export interface FragSwarmStats extends Stats {
  /** Messages told. */
  readonly messagesOut: number
  /** Parts sent to the inner swarm. */
  readonly fragmentsOut: number
  /** Parts received from the inner swarm. */
  readonly fragmentsIn: number
  /** Messages put into the inbox: single-part plus reassembled. */
  readonly messagesIn: number
  /** Messages joined from more than one part. */
  readonly messagesReassembled: number
  /** Parts dropped by reason. */
  readonly droppedParts: ReassemblyCounters['droppedParts']
  /** Incomplete messages discarded by reason. */
  readonly droppedMessages: ReassemblyCounters['droppedMessages']
  /** Remembered ids forgotten early because `maxTombstones` was reached. */
  readonly tombstonesEvicted: number
  /** Reassembly memory held now. */
  readonly pending: ReassemblyUsage
  /** The inbox of reassembled messages (`droppedFull`: nobody received in time). */
  readonly inbox: Stats
  /** The inner swarm's counters. */
  readonly inner: Stats
}

/**
 * A swarm with a larger mtu over any swarm. Same addresses as the inner swarm.
 *
 * - `tell` splits a payload into at most 255 parts of `inner.mtu(dst) - 9` bytes, every part
 *   but the last of the same size, and tells them in order; every message is framed, even
 *   one that fits in a single part. It resolves when every part is set in flight; losing any
 *   part loses the message (there are no retransmissions).
 * - Received parts are reassembled under per-source and total budgets and expire after
 *   `reassemblyTimeoutMs`; see `Reassembler`. Malformed or inconsistent parts are dropped and
 *   counted in `stats()`.
 * - A multi-part message is delivered at most once while its id is remembered (a late
 *   duplicate part is dropped); a single-part message is delivered as often as the inner
 *   swarm delivers it.
 * - It is a Swarm only: the inner swarm's asks are not exposed (use askswarm over it for
 *   large reliable requests). `newFragSwarm` passes `Secure` through.
 * - Owns the inner swarm: `close()` closes it. If the inner swarm closes underneath (or its
 *   receive fails), this swarm closes itself: pending and later calls reject with `ClosedError`.
 */
export class FragSwarm<A extends Addr> implements Swarm<A>, HasStats {
  readonly #inner: Swarm<A>
  readonly #mtu: number
  readonly #clock: Clock
  readonly #closer = new CloseOnce()
  readonly #inbox: Inbox<Message<A>>
  readonly #reassembler: Reassembler
  readonly #loop: Promise<void>
  readonly #log: (event: string, detail: Record<string, unknown>) => void
  #nextId: number
  #timerAt = Number.POSITIVE_INFINITY
  #cancelTimer: (() => void) | undefined
  #messagesOut = 0
  #fragmentsOut = 0
  #fragmentsIn = 0
  #messagesIn = 0

  /**
   * Wraps `inner`, which it then owns. Throws `RangeError` on a bad option, when the inner
   * mtu (at its first local address) leaves no room for data, or when `mtu` would need more
   * than 255 parts.
   */
  constructor(inner: Swarm<A>, opts: FragSwarmOptions = {}) {
    this.#inner = inner
    const local = inner.localAddrs()[0]
    if (local === undefined) throw new RangeError('inner swarm has no local address')
    const partSize = inner.mtu(local) - MAX_HEADER_SIZE
    if (partSize < 1) {
      throw new RangeError(
        `inner mtu ${inner.mtu(local)} leaves no room for data after the ${MAX_HEADER_SIZE}-byte header`,
      )
    }
    const mtu = opts.mtu ?? Math.min(DEFAULT_FRAG_MTU, MAX_PARTS * partSize)
    if (!Number.isSafeInteger(mtu) || mtu < 1) {
      throw new RangeError(`mtu must be a positive integer, got ${mtu}`)
    }
    if (Math.ceil(mtu / partSize) > MAX_PARTS) {
      throw new RangeError(
        `mtu ${mtu} would need ${Math.ceil(mtu / partSize)} parts of ${partSize} bytes; at most ${MAX_PARTS} parts are allowed, so the mtu can be at most ${MAX_PARTS * partSize}`,
      )
    }
    this.#mtu = mtu
    this.#clock = opts.clock ?? systemClock
    this.#log = opts.log ?? (() => {})
    const perSourceBytes = opts.maxPendingBytesPerSource ?? 4 * mtu
    this.#reassembler = new Reassembler({
      maxMessageSize: mtu,
      timeoutMs: opts.reassemblyTimeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT_MS,
      maxMessagesPerSource: opts.maxPendingPerSource ?? 64,
      maxBytesPerSource: perSourceBytes,
      maxMessages: opts.maxPending ?? 4096,
      maxBytes: opts.maxPendingBytes ?? Math.max(64 * mtu, perSourceBytes),
      maxTombstones: opts.maxTombstones ?? 16384,
    })
    const inboxBytes = opts.inboxBytes ?? Math.max(16 << 20, mtu)
    if (inboxBytes < mtu) throw new RangeError(`inboxBytes must be at least the mtu (${mtu})`)
    this.#inbox = newMessageInbox<A>({ maxItems: opts.inboxItems ?? 1024, maxBytes: inboxBytes })
    const first = opts.initialMsgId ?? randomInt(0, 2 ** 32)
    if (!Number.isInteger(first) || first < 0 || first > MAX_MSG_ID) {
      throw new RangeError(`initialMsgId must be an integer in [0, ${MAX_MSG_ID}], got ${first}`)
    }
    this.#nextId = first
    this.#loop = pumpMessages(inner, this.#onPart).then((err) => {
      if (err !== undefined) this.#log('inner receive failed', { err })
      // Nothing more will arrive: close the whole swarm (not awaited: close awaits this loop).
      this.close().catch((e: unknown) => this.#log('close failed', { err: e }))
    })
  }

  /** Splits `data` into parts and tells them to `dst` in order. See the class comment. */
  async tell(dst: A, data: Payload, opts?: CallOptions): Promise<void> {
    checkCall(this.#closer, opts)
    const size = payloadSize(data)
    const mtu = this.mtu(dst)
    const partSize = this.#partSize(dst)
    if (size > mtu || partSize < 1) {
      throw new MTUExceededError(size, mtu, partSize < 1 ? 'inner mtu too small for a part' : '')
    }
    const msgId = this.#takeId()
    const count = Math.max(1, Math.ceil(size / partSize))
    this.#messagesOut++
    if (count === 1) {
      this.#fragmentsOut++
      await this.#inner.tell(
        dst,
        prepend(encodeFragHeader({ msgId, partIndex: 0, partCount: 1 }), data),
        opts,
      )
      return
    }
    // The parts are views into the caller's buffers (nothing is copied): the caller keeps them
    // unchanged until this resolves.
    for (const part of fragmentPayload(msgId, data, partSize)) {
      checkCall(this.#closer, opts)
      this.#fragmentsOut++
      await this.#inner.tell(dst, part, opts)
    }
  }

  /** Takes one reassembled message. */
  receive(fn: (msg: Message<A>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.#closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return receiveOne(this.#inbox, fn, opts)
  }

  /** The inner swarm's addresses. */
  localAddrs(): A[] {
    return this.#inner.localAddrs()
  }

  /** The configured mtu, or less for a destination whose inner mtu is too small for it. */
  mtu(dst: A): number {
    return Math.min(this.#mtu, MAX_PARTS * this.#partSize(dst))
  }

  /** The configured mtu: larger reassembled messages are dropped (`tooLarge`). */
  maxIncomingSize(): number {
    return this.#mtu
  }

  /** The inner swarm's parser. */
  parseAddr(text: string): A {
    return this.#inner.parseAddr(text)
  }

  /** Counters; see `FragSwarmStats`. */
  stats(): FragSwarmStats {
    const c = this.#reassembler.counters()
    return {
      messagesOut: this.#messagesOut,
      fragmentsOut: this.#fragmentsOut,
      fragmentsIn: this.#fragmentsIn,
      messagesIn: this.#messagesIn,
      messagesReassembled: c.reassembled,
      droppedParts: c.droppedParts,
      droppedMessages: c.droppedMessages,
      tombstonesEvicted: c.tombstonesEvicted,
      pending: this.#reassembler.usage(),
      inbox: this.#inbox.stats(),
      inner: hasStats(this.#inner) ? this.#inner.stats() : {},
    }
  }

  /** Closes the inner swarm, stops the receive loop and the expiry timer, frees all state. */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      this.#inbox.close(new ClosedError())
      this.#cancelTimer?.()
      this.#cancelTimer = undefined
      try {
        await this.#inner.close()
      } finally {
        // The loop ends once the inner swarm is closed.
        await this.#loop
        this.#reassembler.clear()
      }
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #partSize(dst: A): number {
    return Math.max(0, this.#inner.mtu(dst) - MAX_HEADER_SIZE)
  }

  #takeId(): number {
    const id = this.#nextId
    this.#nextId = id === MAX_MSG_ID ? 0 : id + 1
    return id
  }

  readonly #onPart = (m: Message<A>): void => {
    this.#fragmentsIn++
    // The source's text is read only for parts of multi-part messages.
    const res = this.#reassembler.accept(m.src, m.payload, this.#clock.now())
    if (res.kind === 'message') {
      this.#messagesIn++
      this.#inbox.put({ src: m.src, dst: m.dst, payload: res.payload })
      if (res.parts === 1) return
    }
    this.#armTimer()
  }

  /** Keeps one timer at the earliest deadline, so memory is freed even when traffic stops. */
  #armTimer(): void {
    if (this.#closer.closed) return
    const next = this.#reassembler.nextDeadline()
    if (next === undefined || next >= this.#timerAt) return
    this.#cancelTimer?.()
    this.#timerAt = next
    this.#cancelTimer = this.#clock.setTimeout(
      () => {
        this.#cancelTimer = undefined
        this.#timerAt = Number.POSITIVE_INFINITY
        this.#reassembler.expire(this.#clock.now())
        this.#armTimer()
      },
      Math.max(0, next - this.#clock.now()),
    )
  }
}

/** A FragSwarm over `S`: a `SecureFragSwarm` when `S` is `Secure`. */
export type FragSwarmOf<S extends Swarm<Addr>> =
  S extends Secure<Addr, infer Pub> ? SecureFragSwarm<AddrOf<S>, Pub> : FragSwarm<AddrOf<S>>

/**
 * A FragSwarm over a secure swarm, delegating `publicKey`/`lookupPublicKey` to it. Every
 * part of a reassembled message came from the same inner source (parts are keyed by source),
 * so the inner source's key is the sender's key.
 */
export class SecureFragSwarm<A extends Addr, Pub> extends FragSwarm<A> implements Secure<A, Pub> {
  readonly #secure: Secure<A, Pub>

  /** As `FragSwarm`'s constructor. */
  constructor(inner: SecureSwarm<A, Pub>, opts?: FragSwarmOptions) {
    super(inner, opts)
    this.#secure = inner
  }

  /** The inner swarm's key. */
  publicKey(): Pub {
    return this.#secure.publicKey()
  }

  /** The inner swarm's answer for `addr`. */
  lookupPublicKey(addr: A, opts?: CallOptions): Promise<Pub> {
    return this.#secure.lookupPublicKey(addr, opts)
  }
}

/**
 * Wraps `inner` in a `FragSwarm` (see its options), or a `SecureFragSwarm` when `inner` is
 * `Secure`. Asks of the inner swarm are not passed through.
 */
export function newFragSwarm<S extends Swarm<Addr>>(
  inner: S,
  opts?: FragSwarmOptions,
): FragSwarmOf<S> {
  const frag = isSecure(inner)
    ? new SecureFragSwarm(inner as SecureSwarm<Addr, unknown>, opts)
    : new FragSwarm(inner, opts)
  return frag as unknown as FragSwarmOf<S>
}
