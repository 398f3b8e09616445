/**
 * Inbox: the bounded FIFO between a push source (a socket, a peer) and pull consumers
 * (`receive`, `serveAsk`). Every swarm keeps received tells in one, and incoming asks waiting
 * for `serveAsk` in another.
 *
 * - Capacity by item count and by bytes. When full, `put` drops the new item, counts it and
 *   returns false: the producer is never blocked and never throws.
 * - Waiting consumers are served in the order they called `take`.
 * - Items expire after `maxAgeMs`, or as soon as `isLive` says they are dead.
 * - `close(err)` rejects every waiter and later `take` with `err` and drops what is queued.
 * - A consumer whose signal aborts leaves the queue; an item is handed to a consumer only
 *   while it is still waiting, so an abort never loses an item.
 */
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import type { CallOptions } from './swarm.js'

/** Why an inbox dropped an item. */
export type DropReason = 'full' | 'expired' | 'closed'

/** Limits and hooks of an `Inbox`. */
export interface InboxOptions<T> {
  /** Most items held at once (default 1024). */
  maxItems?: number
  /** Most bytes held at once, as measured by `sizeOf` (default 16 MiB). */
  maxBytes?: number
  /** Size of an item in bytes (default: 0, so only `maxItems` binds). */
  sizeOf?: (item: T) => number
  /** Items older than this are dropped instead of handed out (default: never). */
  maxAgeMs?: number
  /** Items for which this returns false are dropped instead of handed out. */
  isLive?: (item: T) => boolean
  /** Called once for every dropped item, e.g. to reject a dropped ask. */
  onDrop?: (item: T, reason: DropReason) => void
  /** Time source for `maxAgeMs`. */
  clock?: Clock
}

/** Counters of an `Inbox`. */
export interface InboxStats {
  [name: string]: number
  /** Items accepted by `put`. */
  accepted: number
  /** Items handed to consumers. */
  handed: number
  /** Items dropped because the inbox was full. */
  droppedFull: number
  /** Items dropped because they expired or died while queued. */
  droppedExpired: number
  /** Items dropped because the inbox closed. */
  droppedClosed: number
  /** Items queued now. */
  queued: number
  /** Bytes queued now. */
  queuedBytes: number
}

interface Entry<T> {
  item: T
  size: number
  at: number
}

interface Waiter<T> {
  resolve: (item: T) => void
  reject: (err: unknown) => void
  cleanup: () => void
}

/** A bounded FIFO of items with waiting consumers. */
export class Inbox<T> {
  readonly #maxItems: number
  readonly #maxBytes: number
  readonly #sizeOf: (item: T) => number
  readonly #maxAgeMs: number
  readonly #isLive: ((item: T) => boolean) | undefined
  readonly #onDrop: ((item: T, reason: DropReason) => void) | undefined
  readonly #clock: Clock
  #queue: Entry<T>[] = []
  #head = 0
  #bytes = 0
  #waiters: Waiter<T>[] = []
  #closed: unknown = undefined
  #isClosed = false
  readonly #stats = { accepted: 0, handed: 0, droppedFull: 0, droppedExpired: 0, droppedClosed: 0 }

  constructor(opts: InboxOptions<T> = {}) {
    this.#maxItems = positive(opts.maxItems ?? 1024, 'maxItems')
    this.#maxBytes = positive(opts.maxBytes ?? 16 << 20, 'maxBytes')
    this.#sizeOf = opts.sizeOf ?? (() => 0)
    this.#maxAgeMs = opts.maxAgeMs ?? Number.POSITIVE_INFINITY
    this.#isLive = opts.isLive
    this.#onDrop = opts.onDrop
    this.#clock = opts.clock ?? systemClock
  }

  /** Items queued now. */
  get length(): number {
    return this.#queue.length - this.#head
  }

  /** Bytes queued now. */
  get bytes(): number {
    return this.#bytes
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#isClosed
  }

  /**
   * Offers an item. Hands it to the longest-waiting consumer, or queues it, or drops it when
   * the inbox is full or closed. Returns whether it was accepted. Never throws.
   */
  put(item: T): boolean {
    if (this.#isClosed) return this.#drop(item, 'closed')
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      this.#stats.accepted++
      this.#stats.handed++
      waiter.cleanup()
      waiter.resolve(item)
      return true
    }
    const size = this.#sizeOf(item)
    if (!this.#fits(size)) {
      this.#purgeDead()
      if (!this.#fits(size)) return this.#drop(item, 'full')
    }
    this.#stats.accepted++
    this.#queue.push({ item, size, at: this.#clock.now() })
    this.#bytes += size
    return true
  }

  /**
   * Takes the oldest live item, waiting for one if none is queued. Rejects with the close
   * error once closed, and with `signal.reason` when aborted (the next item then goes to the
   * next consumer).
   */
  take(opts?: CallOptions): Promise<T> {
    if (this.#isClosed) return Promise.reject(this.#closed)
    const signal = opts?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    const entry = this.#shiftLive()
    if (entry !== undefined) {
      this.#stats.handed++
      return Promise.resolve(entry.item)
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, cleanup: noop }
      if (signal !== undefined) {
        const onAbort = () => {
          const i = this.#waiters.indexOf(waiter)
          if (i >= 0) this.#waiters.splice(i, 1)
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort)
      }
      this.#waiters.push(waiter)
    })
  }

  /** Rejects every waiter and later `take` with `reason`, and drops every queued item. Idempotent. */
  close(reason: unknown): void {
    if (this.#isClosed) return
    this.#isClosed = true
    this.#closed = reason
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) {
      w.cleanup()
      w.reject(reason)
    }
    for (let e = this.#shift(); e !== undefined; e = this.#shift()) this.#drop(e.item, 'closed')
  }

  /** A snapshot of the counters. */
  stats(): InboxStats {
    return { ...this.#stats, queued: this.length, queuedBytes: this.#bytes }
  }

  #fits(size: number): boolean {
    return this.length < this.#maxItems && this.#bytes + size <= this.#maxBytes
  }

  #isDead(e: Entry<T>): boolean {
    if (this.#isLive !== undefined && !this.#isLive(e.item)) return true
    return this.#maxAgeMs !== Number.POSITIVE_INFINITY && this.#clock.now() - e.at > this.#maxAgeMs
  }

  #shiftLive(): Entry<T> | undefined {
    for (let e = this.#shift(); e !== undefined; e = this.#shift()) {
      if (!this.#isDead(e)) return e
      this.#drop(e.item, 'expired')
    }
    return undefined
  }

  /**
   * Makes room when full: drops expired items from the head (the oldest) and, when a liveness
   * test is configured, dead items anywhere; FIFO order of the rest is kept. With neither,
   * nothing can be dead and this costs nothing.
   */
  #purgeDead(): void {
    if (this.#isLive === undefined) {
      if (this.#maxAgeMs === Number.POSITIVE_INFINITY) return
      const now = this.#clock.now()
      while (this.length > 0 && now - this.#queue[this.#head]!.at > this.#maxAgeMs) {
        this.#drop(this.#shift()!.item, 'expired')
      }
      return
    }
    const live: Entry<T>[] = []
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i]!
      if (this.#isDead(e)) {
        this.#bytes -= e.size
        this.#drop(e.item, 'expired')
      } else {
        live.push(e)
      }
    }
    this.#queue = live
    this.#head = 0
  }

  #shift(): Entry<T> | undefined {
    if (this.#head >= this.#queue.length) return undefined
    const e = this.#queue[this.#head]!
    this.#queue[this.#head] = undefined as unknown as Entry<T>
    this.#head++
    if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    this.#bytes -= e.size
    return e
  }

  #drop(item: T, reason: DropReason): false {
    if (reason === 'full') this.#stats.droppedFull++
    else if (reason === 'expired') this.#stats.droppedExpired++
    else this.#stats.droppedClosed++
    this.#onDrop?.(item, reason)
    return false
  }
}

function positive(n: number, name: string): number {
  if (!(n > 0)) throw new RangeError(`${name} must be positive, got ${n}`)
  return n
}

function noop(): void {}
