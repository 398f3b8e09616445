/**
 * The server's memory of recent requests, keyed by (source, request id): what gives
 * at-most-once execution. Pure bookkeeping: no timers, no I/O; the caller passes the time.
 *
 * An entry moves through these states:
 *
 * ```
 *   receiving ──► running ──► done ──► gone ──► (forgotten)
 *   (parts)       (queued or   (answer   (tombstone: no answer kept)
 *                  in a handler) cached)
 * ```
 *
 * - **receiving**: an incomplete multi-part request (an `Assembly`). Budgets: count and bytes
 *   per source and in total. Expires at the request's deadline, or `idleMs` after its last part.
 * - **running**: the whole request arrived; it waits for `serveAsk` or a handler runs. A
 *   retransmission finds it here and the handler is not run again.
 * - **done**: the answer (response bytes or an error) is kept to answer retransmissions.
 *   Budgets: `maxAnswers` entries and `maxAnswerBytes` bytes; past either the oldest answer is
 *   dropped and leaves a tombstone.
 * - **gone**: a tombstone: the request was handled (or cancelled, or its deadline passed) but
 *   no answer is kept. A retransmission is then refused (`evicted`: told the answer is lost;
 *   `cancelled`/`late`: dropped) instead of running the handler again. At most
 *   `maxTombstones`; past it the oldest is forgotten (counted in `tombstonesEvicted`): only then
 *   could a very late retransmission run a handler twice.
 *
 * done and gone entries expire at the request's deadline plus a slack (the caller stops
 * retransmitting at its deadline, which is never later than that, see README).
 *
 * Apart from these states, the requests a source has *being handled* (from acceptance until
 * the handler settles, even past the deadline, because the handler may still hold memory)
 * are counted against `maxHandlingPerSource`, `maxHandling` and `maxHandlingBytes`.
 */
import { FifoMap } from './fifo.js'
import type { Assembly, Bitset } from './reassembly.js'

/** Limits of a `RequestTable`. Every field is a positive integer. */
export interface TableLimits {
  /** Most incomplete requests per source. */
  readonly maxIncompletePerSource: number
  /** Most incomplete requests in total. */
  readonly maxIncomplete: number
  /** Most bytes of incomplete requests per source (their declared sizes). */
  readonly maxIncompleteBytesPerSource: number
  /** Most bytes of incomplete requests in total. */
  readonly maxIncompleteBytes: number
  /** Most requests being handled (queued or running) per source. */
  readonly maxHandlingPerSource: number
  /** Most requests being handled in total. */
  readonly maxHandling: number
  /** Most request bytes being handled in total. */
  readonly maxHandlingBytes: number
  /** Most cached answers. */
  readonly maxAnswers: number
  /** Most bytes of cached answers. */
  readonly maxAnswerBytes: number
  /** Most tombstones. */
  readonly maxTombstones: number
}

/** What a request's answer was. */
export type Answer =
  | {
      readonly kind: 'response'
      /** The whole response, owned by the cache. */
      readonly data: Uint8Array
      /** Length of every part but the last (fixed when first sent: the caller expects it). */
      readonly partLen: number
    }
  | {
      readonly kind: 'error'
      readonly code: number
      readonly size: number
      readonly limit: number
      readonly reason: string
    }

/** An error answer. */
export type ErrorAnswer = Extract<Answer, { readonly kind: 'error' }>

/** Why a tombstone has no answer. */
export type GoneReason = 'evicted' | 'cancelled' | 'late'

/**
 * What the server sent again for one request: the state of its limits on repeats (see
 * `server.ts`). Mutable; the table only creates it.
 */
export interface Replies {
  /** When a repeat (a part or POLL that brought nothing new) was last answered; -Infinity: never. */
  repeatAt: number
  /** Parts of the answer sent again after their first send (an ERROR counts as one part). */
  resent: number
  /**
   * Response parts sent at least once (created when the first part is sent; never for a
   * response of one part, see `sentOne`).
   */
  sent: Bitset | undefined
  /**
   * Response parts the caller reported having, from its POLLs (created on the first one;
   * never for a response of one part, see `hasOne`).
   */
  has: Bitset | undefined
  /** A response of one part: it was sent at least once. */
  sentOne: boolean
  /** A response of one part: a POLL reported that the caller has it. */
  hasOne: boolean
}

/** An incomplete request. */
export interface Receiving {
  readonly state: 'receiving'
  readonly src: string
  readonly assembly: Assembly
  /** The caller's remaining time (clamped) when the first part arrived. */
  readonly timeoutMs: number
  readonly maxResponse: number
  readonly firstAt: number
  lastAt: number
  /** When a repeat was last answered with an ACK; -Infinity: never. */
  repeatAt: number
  /** A part was stored since the last ACK (an ACK then reports progress, not a repeat). */
  newSinceAck: boolean
}

/** A request queued for or inside a handler. */
export interface Running<T> {
  readonly state: 'running'
  readonly src: string
  readonly handle: T
  /** When a done/gone entry for it will expire. */
  readonly expiresAt: number
}

/** A request whose answer is cached. */
export interface Done {
  readonly state: 'done'
  readonly src: string
  readonly answer: Answer
  readonly bytes: number
  readonly expiresAt: number
  /** What was sent of the answer, for the limits on repeats. */
  readonly replies: Replies
}

/** A request handled (or given up) whose answer is not kept. */
export interface Gone {
  readonly state: 'gone'
  readonly why: GoneReason
  readonly expiresAt: number
  /** When a repeat was last answered (ERROR answer lost); -Infinity: never. */
  repeatAt: number
}

/** Any entry. */
export type Entry<T> = Receiving | Running<T> | Done | Gone

/** Why a request was refused a budget. */
export type BudgetRefusal =
  | 'incompletePerSource'
  | 'incompleteTotal'
  | 'handlingPerSource'
  | 'handlingTotal'

/** Memory held now. */
export interface TableUsage {
  readonly [name: string]: number
  /** Incomplete requests. */
  readonly incomplete: number
  /** Bytes reserved by incomplete requests. */
  readonly incompleteBytes: number
  /** Requests queued for or inside a handler whose answer is not recorded yet. */
  readonly running: number
  /** Requests being handled (queued or running, until their handler settles). */
  readonly handling: number
  /** Request bytes being handled. */
  readonly handlingBytes: number
  /** Cached answers. */
  readonly answers: number
  /** Bytes of cached answers. */
  readonly answerBytes: number
  /** Tombstones. */
  readonly tombstones: number
  /** Sources with incomplete or handled requests. */
  readonly sources: number
}

/** Counters since the table was created. */
export interface TableCounters {
  [name: string]: number
  /** Answers dropped (to a tombstone) to stay within the answer budgets. */
  answersEvicted: number
  /** Tombstones forgotten to stay within `maxTombstones`. */
  tombstonesEvicted: number
  /** Incomplete requests discarded at their deadline or idle timeout. */
  incompleteExpired: number
}

interface SourceUsage {
  incomplete: number
  incompleteBytes: number
  handling: number
  handlingBytes: number
}

const LIMIT_NAMES = [
  'maxIncompletePerSource',
  'maxIncomplete',
  'maxIncompleteBytesPerSource',
  'maxIncompleteBytes',
  'maxHandlingPerSource',
  'maxHandling',
  'maxHandlingBytes',
  'maxAnswers',
  'maxAnswerBytes',
  'maxTombstones',
] as const

/** See the module comment. `T` is the caller's handle for a running request. */
export class RequestTable<T> {
  readonly limits: TableLimits
  readonly #idleMs: number
  readonly #receiving = new Map<string, Receiving>()
  readonly #running = new Map<string, Running<T>>()
  /** Insertion order is completion order: the first is the oldest answer. */
  readonly #done = new FifoMap<string, Done>()
  /** Insertion order is the order tombstones were made: the first is forgotten first. */
  readonly #gone = new FifoMap<string, Gone>()
  readonly #sources = new Map<string, SourceUsage>()
  #incompleteBytes = 0
  #handling = 0
  #handlingBytes = 0
  #answerBytes = 0
  readonly #counters: TableCounters = {
    answersEvicted: 0,
    tombstonesEvicted: 0,
    incompleteExpired: 0,
  }

  /**
   * `idleMs`: an incomplete request with no new part for this long is discarded.
   * Throws `RangeError` on a limit that is not a positive integer.
   */
  constructor(limits: TableLimits, idleMs: number) {
    for (const name of LIMIT_NAMES) {
      const v = limits[name]
      if (!Number.isSafeInteger(v) || v < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${v}`)
      }
    }
    if (!(idleMs > 0)) throw new RangeError(`idleMs must be positive, got ${idleMs}`)
    this.limits = { ...limits }
    this.#idleMs = idleMs
  }

  /** The entry for `key`, after dropping it if it expired by `now`. */
  get(key: string, now: number): Entry<T> | undefined {
    const r = this.#receiving.get(key)
    if (r !== undefined) {
      if (receivingExpiry(r, this.#idleMs) > now) return r
      this.#dropReceiving(key, r)
      this.#counters.incompleteExpired++
      return undefined
    }
    const run = this.#running.get(key)
    if (run !== undefined) return run
    const d = this.#done.get(key)
    if (d !== undefined) {
      if (d.expiresAt > now) return d
      this.#dropDone(key, d)
      return undefined
    }
    const g = this.#gone.get(key)
    if (g !== undefined) {
      if (g.expiresAt > now) return g
      this.#gone.delete(key)
    }
    return undefined
  }

  /** Whether a new incomplete request of `bytes` from `src` fits the budgets; the refusal if not. */
  refuseIncomplete(src: string, bytes: number): BudgetRefusal | undefined {
    const u = this.#sources.get(src)
    const l = this.limits
    if (
      (u?.incomplete ?? 0) >= l.maxIncompletePerSource ||
      (u?.incompleteBytes ?? 0) + bytes > l.maxIncompleteBytesPerSource
    ) {
      return 'incompletePerSource'
    }
    if (
      this.#receiving.size >= l.maxIncomplete ||
      this.#incompleteBytes + bytes > l.maxIncompleteBytes
    ) {
      return 'incompleteTotal'
    }
    return undefined
  }

  /** Records a new incomplete request (after `refuseIncomplete` said yes). */
  addReceiving(key: string, r: Receiving): void {
    const u = this.#source(r.src)
    u.incomplete++
    u.incompleteBytes += r.assembly.bytes
    this.#incompleteBytes += r.assembly.bytes
    this.#receiving.set(key, r)
  }

  /** Whether one more request of `bytes` from `src` may be handled; the refusal if not. */
  refuseHandling(src: string, bytes: number): BudgetRefusal | undefined {
    const u = this.#sources.get(src)
    const l = this.limits
    if ((u?.handling ?? 0) >= l.maxHandlingPerSource) return 'handlingPerSource'
    if (this.#handling >= l.maxHandling || this.#handlingBytes + bytes > l.maxHandlingBytes) {
      return 'handlingTotal'
    }
    return undefined
  }

  /**
   * Moves `key` (incomplete or new) to running with `handle`, and counts it as being handled
   * by `src` (after `refuseHandling` said yes). Call `releaseHandling` when its handler settles.
   */
  startRunning(key: string, src: string, bytes: number, handle: T, expiresAt: number): void {
    const r = this.#receiving.get(key)
    if (r !== undefined) this.#dropReceiving(key, r)
    const u = this.#source(src)
    u.handling++
    u.handlingBytes += bytes
    this.#handling++
    this.#handlingBytes += bytes
    this.#running.set(key, { state: 'running', src, handle, expiresAt })
  }

  /** A request of `src` stopped being handled (its handler settled, or it was never taken). */
  releaseHandling(src: string, bytes: number): void {
    const u = this.#sources.get(src)
    if (u === undefined || u.handling === 0) return
    u.handling--
    u.handlingBytes -= bytes
    this.#handling--
    this.#handlingBytes -= bytes
    this.#maybeDropSource(src, u)
  }

  /**
   * Caches the answer of running request `key` and returns its entry. Older answers are
   * dropped (leaving tombstones) to make room; an answer larger than `maxAnswerBytes` leaves a
   * tombstone at once (and undefined is returned). Does nothing unless `key` is running.
   */
  finish(key: string, answer: Answer, now: number): Done | undefined {
    const run = this.#running.get(key)
    if (run === undefined) return undefined
    this.#running.delete(key)
    const bytes = answer.kind === 'response' ? answer.data.length : 0
    if (bytes > this.limits.maxAnswerBytes) {
      this.#counters.answersEvicted++
      this.#tombstone(key, 'evicted', run.expiresAt)
      return undefined
    }
    while (
      this.#done.size > 0 &&
      (this.#done.size >= this.limits.maxAnswers ||
        this.#answerBytes + bytes > this.limits.maxAnswerBytes)
    ) {
      const oldKey = this.#done.oldestKey()!
      const old = this.#done.get(oldKey)!
      this.#dropDone(oldKey, old)
      this.#counters.answersEvicted++
      if (old.expiresAt > now) this.#tombstone(oldKey, 'evicted', old.expiresAt)
    }
    const done: Done = {
      state: 'done',
      src: run.src,
      answer,
      bytes,
      expiresAt: run.expiresAt,
      replies: {
        repeatAt: Number.NEGATIVE_INFINITY,
        resent: 0,
        sent: undefined,
        has: undefined,
        sentOne: false,
        hasOne: false,
      },
    }
    this.#done.set(key, done)
    this.#answerBytes += bytes
    return done
  }

  /**
   * Replaces whatever `key` holds by a tombstone until `expiresAt` (a running request's own
   * expiry when it is running). Handling budgets are not released here.
   */
  forget(key: string, why: GoneReason, expiresAt?: number): void {
    let until = expiresAt
    const r = this.#receiving.get(key)
    if (r !== undefined) this.#dropReceiving(key, r)
    const run = this.#running.get(key)
    if (run !== undefined) {
      this.#running.delete(key)
      until ??= run.expiresAt
    }
    const d = this.#done.get(key)
    if (d !== undefined) {
      this.#dropDone(key, d)
      until ??= d.expiresAt
    }
    if (until === undefined) until = this.#gone.get(key)?.expiresAt
    if (until === undefined) return
    this.#gone.delete(key)
    this.#tombstone(key, why, until)
  }

  /** Drops an incomplete request (without a tombstone). */
  dropIncomplete(key: string): void {
    const r = this.#receiving.get(key)
    if (r !== undefined) this.#dropReceiving(key, r)
  }

  /** Drops every expired incomplete request, answer and tombstone. Running requests stay. */
  expire(now: number): void {
    for (const [key, r] of this.#receiving) {
      if (receivingExpiry(r, this.#idleMs) <= now) {
        this.#dropReceiving(key, r)
        this.#counters.incompleteExpired++
      }
    }
    this.#done.forEach((d, key) => {
      if (d.expiresAt <= now) this.#dropDone(key, d)
    })
    this.#gone.forEach((g, key) => {
      if (g.expiresAt <= now) this.#gone.delete(key)
    })
  }

  /** True when nothing that could expire is held (no need for a sweep timer). */
  get idle(): boolean {
    return this.#receiving.size === 0 && this.#done.size === 0 && this.#gone.size === 0
  }

  /** Running requests' handles (e.g. to abort them on close). */
  runningHandles(): T[] {
    return [...this.#running.values()].map((r) => r.handle)
  }

  /** Memory held now. */
  usage(): TableUsage {
    return {
      incomplete: this.#receiving.size,
      incompleteBytes: this.#incompleteBytes,
      running: this.#running.size,
      handling: this.#handling,
      handlingBytes: this.#handlingBytes,
      answers: this.#done.size,
      answerBytes: this.#answerBytes,
      tombstones: this.#gone.size,
      sources: this.#sources.size,
    }
  }

  /** Incomplete and handled requests of one source. */
  sourceUsage(src: string): { incomplete: number; incompleteBytes: number; handling: number } {
    const u = this.#sources.get(src)
    return {
      incomplete: u?.incomplete ?? 0,
      incompleteBytes: u?.incompleteBytes ?? 0,
      handling: u?.handling ?? 0,
    }
  }

  /** A snapshot of the counters. */
  counters(): TableCounters {
    return { ...this.#counters }
  }

  /** Forgets everything (on close). */
  clear(): void {
    this.#receiving.clear()
    this.#running.clear()
    this.#done.clear()
    this.#gone.clear()
    this.#sources.clear()
    this.#incompleteBytes = 0
    this.#handling = 0
    this.#handlingBytes = 0
    this.#answerBytes = 0
  }

  #source(src: string): SourceUsage {
    let u = this.#sources.get(src)
    if (u === undefined) {
      u = { incomplete: 0, incompleteBytes: 0, handling: 0, handlingBytes: 0 }
      this.#sources.set(src, u)
    }
    return u
  }

  #maybeDropSource(src: string, u: SourceUsage): void {
    if (u.incomplete === 0 && u.handling === 0) this.#sources.delete(src)
  }

  #dropReceiving(key: string, r: Receiving): void {
    this.#receiving.delete(key)
    const u = this.#sources.get(r.src)
    if (u !== undefined) {
      u.incomplete--
      u.incompleteBytes -= r.assembly.bytes
      this.#maybeDropSource(r.src, u)
    }
    this.#incompleteBytes -= r.assembly.bytes
  }

  #dropDone(key: string, d: Done): void {
    this.#done.delete(key)
    this.#answerBytes -= d.bytes
  }

  #tombstone(key: string, why: GoneReason, expiresAt: number): void {
    while (this.#gone.size >= this.limits.maxTombstones) {
      this.#gone.delete(this.#gone.oldestKey()!)
      this.#counters.tombstonesEvicted++
    }
    this.#gone.set(key, { state: 'gone', why, expiresAt, repeatAt: Number.NEGATIVE_INFINITY })
  }
}

/** When an incomplete request is discarded: its deadline, or `idleMs` after its last part. */
function receivingExpiry(r: Receiving, idleMs: number): number {
  return Math.min(r.firstAt + r.timeoutMs, r.lastAt + idleMs)
}
