/**
 * A P2PKE channel with one remote peer (go-p2p `p/p2pke/channel.go`): sessions over time,
 * with handshake retransmission, rekeying, expiry and key pinning. The channel knows nothing of
 * addresses: the caller gives it every message that came from the peer (`deliver`) and a
 * callback that sends bytes to the peer (`send`). Timers run on an injected `Clock`.
 *
 * Sessions. A channel holds up to three `Session`s: `previous` (the last current one, kept so
 * that packets still in flight after a rekey are accepted), `current` (ready; all sends use it)
 * and `next` (a handshake in progress). When `next` becomes ready it becomes `current` and the
 * old current becomes `previous`; nothing sent on either is dropped by the switch.
 *
 * When a handshake starts: on `send` or `waitReady` when there is no usable current session,
 * and to rekey (below). A current session is not usable for sending once it is expired
 * (`REJECT_AFTER_TIME_MS`, or its message limit) or dead: nothing authenticated was received
 * from the peer for `KEEP_ALIVE_TIMEOUT_MS` (15 s). A dead session still accepts what arrives
 * until the new one replaces it. The last-received time advances on every authenticated packet
 * (go-p2p advances it only when a session becomes ready, and so re-handshakes every 15 s).
 *
 * Keepalives. A channel that receives data but has sent nothing for `KEEPALIVE_INTERVAL_MS`
 * (10 s) answers with an empty data message, so a one-way flow keeps the sender's session
 * alive. Empty plaintexts are never delivered: they are keepalives (go-p2p treats an empty
 * plaintext as "no data" too). So an application message must not be empty.
 *
 * Rekeying (checked whenever the channel sends or receives data, so an idle channel does not
 * rekey and a channel in use does): the initiator of the current session starts a new
 * handshake once it is `REKEY_AFTER_TIME_MS` (120 s) old; either side does once it is
 * `REKEY_AFTER_TIME_RECEIVING_MS` (150 s; 5/6 of `rejectAfterTimeMs` when that is changed) old
 * or has sent `REKEY_AFTER_MESSAGES` messages.
 *
 * Retransmission. While `next` is waiting for an answer, its handshake message (the same bytes
 * each time) is sent again after `HANDSHAKE_BACKOFF_MS` (250 ms), doubling up to
 * `HANDSHAKE_BACKOFF_MAX_MS` (5 s); the backoff restarts at 250 ms whenever the handshake moves
 * a step. An unanswered InitHello is sent again as the same bytes until the channel gives up: a
 * fresh InitHello would not help (a peer that lost our first one accepts the copy), and a
 * go-p2p responder holding a session for the first one answers any other InitHello with that
 * session's RespHello. Once our InitDone has gone unanswered for `HANDSHAKE_ATTEMPT_MS` (10 s)
 * since the attempt began, the attempt is replaced by a fresh one (new ephemeral key, new
 * timestamp): the responder most likely lost its state half-way. A responder attempt waits for
 * its InitDone (or a newer InitHello) until the give-up. After `HANDSHAKE_TIMEOUT_MS` (90 s)
 * without any success the channel gives up: waiting sends and `waitReady` calls reject with
 * `HandshakeError`, and nothing more is sent until the next `send`/`waitReady`.
 *
 * InitHello rules (a new InitHello is one that is not a retransmission of a session we hold):
 * - Its TAI64N timestamp must be later than that of every InitHello from this peer whose
 *   signature verified before; otherwise it is refused without any signature check (a replayed
 *   or delayed handshake does nothing). One exception: an InitHello with the same timestamp as
 *   the responder handshake still pending replaces it. The ephemeral key in InitHello is not
 *   covered by the signature (the protocol signs only the timestamp), so a corrupted or forged
 *   copy of the peer's InitHello can arrive first; the real one, which the initiator
 *   retransmits, must still get through. Timestamps are never compared with our own clock, so
 *   peers with skewed clocks work. Timestamps this channel writes strictly increase (per
 *   wall-clock function), even within one millisecond.
 * - Simultaneous initiation: when `next` is our own handshake attempt (InitHello unanswered, or
 *   InitDone unconfirmed), the two InitHellos are compared by BLAKE2b-256 of the whole message
 *   (header included), bytewise as unsigned big-endian numbers: the lower one wins. If ours is
 *   lower, the peer's is verified and otherwise ignored (while our InitHello is unanswered its
 *   timestamp then counts as seen), and we resend our current handshake message; if theirs is lower, ours is abandoned and we
 *   respond to theirs. Both sides reach the same verdict, so they converge on one session
 *   (go-p2p's rule). When `next` is a responder attempt, a new InitHello that verifies (its
 *   timestamp is newer) replaces it: the peer has moved on (restarted, or started over).
 * - Key pinning: the first session to become ready fixes the channel's remote key
 *   (`allowKey` decides on that first key); every later handshake must present the same key,
 *   checked before any answer is signed. A handshake with another key is dropped.
 *
 * Sends. `send()` encrypts at once when the current session is usable, else queues the message
 * (bounded: `maxQueuedMessages`, `maxQueuedBytes`; when full `send` rejects with `BusyError`)
 * and starts a handshake; queued messages go out in order as soon as a session is ready.
 *
 * Working around go-p2p (see interop/README.md):
 * - An initiator sends a keepalive as soon as its session is ready (unless queued data goes
 *   out): a go-p2p responder answers any new InitHello with an old session's RespDone until
 *   that session has carried data.
 * - A session completed as responder is "unconfirmed" until the initiator sends on it: a go-p2p
 *   initiator that gets data before RespDone never makes the session current. Meanwhile sends
 *   use the previous session while it is usable, else go out on the new one behind a copy of
 *   RespDone (the first 3 times).
 * - Our InitHello timestamps are also kept later than every InitHello timestamp of the peer:
 *   go-p2p compares our InitHello with its own InitHello time when it initiated last.
 *
 * Network input never throws: anything unusable is dropped and counted in `stats()`.
 */
import {
  BusyError,
  type CallOptions,
  ClosedError,
  type Clock,
  HandshakeError,
  type HasStats,
  MTUExceededError,
  type Payload,
  payloadConcat,
  payloadCopy,
  payloadSize,
  bytesCompare,
  bytesEqual,
  systemClock,
  wallClockMs,
} from '../../core/index.js'
import { type CryptoBackend, defaultBackend } from '../../crypto/index.js'
import {
  defaultRegistry,
  type PrivateKey,
  type PublicKey,
  publicKeyEqual,
  type SigningRegistry,
} from '../../f/x509/index.js'
import {
  HANDSHAKE_ATTEMPT_MS,
  HANDSHAKE_BACKOFF_MAX_MS,
  HANDSHAKE_BACKOFF_MS,
  HANDSHAKE_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  KEEPALIVE_INTERVAL_MS,
  MAX_MESSAGE_LEN,
  NONCE_INIT_HELLO,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_AFTER_TIME_RECEIVING_MS,
} from './constants.js'
import {
  compareTai64n,
  decodeTai64n,
  nextTai64n,
  parseInitHelloMessage,
  parseMessage,
  type Tai64n,
  tai64nFromUnixMs,
} from './messages.js'
import {
  type DropReason,
  Session,
  type SessionState,
  sessionId,
  verifyInitHello,
} from './session.js'

/** Options of a `Channel`. */
export interface ChannelOptions {
  /** This side's long-lived signing key. */
  privateKey: PrivateKey
  /**
   * Sends bytes to the peer. Called synchronously from `send`, `deliver`, `waitReady` and timers,
   * never after `close()`. A throw or a rejected promise is counted (`sendErrors`) and otherwise
   * ignored: the protocol retransmits what matters.
   */
  send: (message: Uint8Array) => void | Promise<void>
  /**
   * Decides on the peer's key before the first handshake completes (default: any key). Once a
   * key is pinned, only that key is accepted and this is not called again.
   */
  allowKey?: (key: PublicKey) => boolean
  /** Signing algorithms (default: Ed25519 over `backend`). */
  registry?: SigningRegistry
  /** Crypto backend (default: `defaultBackend()`). */
  backend?: CryptoBackend
  /** Time and timers (default: the system clock). Session ages and timeouts use it. */
  clock?: Clock
  /**
   * Wall clock, ms since the Unix epoch, for InitHello timestamps (default `Date.now`). Only the
   * peer compares them, and only with each other.
   */
  wallClock?: () => number
  /** Default `REKEY_AFTER_TIME_MS` (120 s). */
  rekeyAfterTimeMs?: number
  /** Default `REJECT_AFTER_TIME_MS` (180 s). */
  rejectAfterTimeMs?: number
  /** Default `KEEP_ALIVE_TIMEOUT_MS` (15 s). */
  keepAliveTimeoutMs?: number
  /** Default `KEEPALIVE_INTERVAL_MS` (10 s); `Infinity` turns keepalives off. */
  keepaliveIntervalMs?: number
  /** Default `HANDSHAKE_BACKOFF_MS` (250 ms). */
  handshakeBackoffMs?: number
  /** Default `HANDSHAKE_BACKOFF_MAX_MS` (5 s). */
  handshakeBackoffMaxMs?: number
  /** Default `HANDSHAKE_ATTEMPT_MS` (10 s). */
  handshakeAttemptMs?: number
  /** Default `HANDSHAKE_TIMEOUT_MS` (90 s). */
  handshakeTimeoutMs?: number
  /** Most messages queued while a handshake runs (default 128). */
  maxQueuedMessages?: number
  /** Most bytes queued while a handshake runs (default 1 MiB). */
  maxQueuedBytes?: number
}

/** What happened to messages, for operators. Drops are by reason. */
export interface ChannelStats {
  readonly [name: string]: number | ChannelDropStats
  /** Handshakes this side initiated (attempts, including rekeys and restarts). */
  handshakesInitiated: number
  /** Sessions that became ready (either role). */
  handshakesCompleted: number
  /** Times the channel gave up after `handshakeTimeoutMs`. */
  handshakesFailed: number
  /** Handshake messages sent again by the retransmission timer. */
  handshakeRetransmits: number
  /** Handshakes started to rekey a usable session. */
  rekeys: number
  /** Pending sessions replaced by a newer InitHello, a fresh attempt, or the tie-break. */
  sessionsSuperseded: number
  /** Application messages encrypted and handed to `send`. */
  messagesSent: number
  /** Application messages returned by `deliver`. */
  messagesDelivered: number
  keepalivesSent: number
  keepalivesReceived: number
  /** Sends rejected because the queue was full. */
  sendsRejected: number
  /** `send` callback throws and rejections. */
  sendErrors: number
  dropped: ChannelDropStats
}

/** Dropped incoming messages by reason. */
export interface ChannelDropStats {
  readonly [name: string]: number
  malformed: number
  expired: number
  unexpected: number
  earlyData: number
  badHandshake: number
  keyRejected: number
  replayed: number
  unauthenticated: number
  /** InitHellos not later than one already accepted from this peer. */
  staleTimestamp: number
  /** InitHellos that lost the simultaneous-initiation tie-break. */
  tieBreak: number
  /** Messages after `close()`. */
  closed: number
}

/** A snapshot of one of the channel's sessions, for diagnostics and tests. */
export interface SessionInfo {
  readonly id: Uint8Array | undefined
  readonly initiator: boolean
  readonly state: SessionState
  readonly createdAt: number
}

interface Queued {
  readonly data: Uint8Array
  readonly resolve: () => void
  readonly reject: (e: unknown) => void
  readonly cleanup: () => void
}

interface Waiter {
  readonly resolve: () => void
  readonly reject: (e: unknown) => void
  readonly cleanup: () => void
}

type DropCounter =
  | 'malformed'
  | 'expired'
  | 'unexpected'
  | 'earlyData'
  | 'badHandshake'
  | 'keyRejected'
  | 'replayed'
  | 'unauthenticated'
  | 'staleTimestamp'
  | 'tieBreak'
  | 'closed'

const DROP_KEYS: Record<DropReason, DropCounter> = {
  malformed: 'malformed',
  expired: 'expired',
  unexpected: 'unexpected',
  'early-data': 'earlyData',
  'bad-handshake': 'badHandshake',
  'key-rejected': 'keyRejected',
  replayed: 'replayed',
  unauthenticated: 'unauthenticated',
}
// When no session takes a message, the most telling reason is counted.
const DROP_PRIORITY: readonly DropReason[] = [
  'replayed',
  'early-data',
  'bad-handshake',
  'key-rejected',
  'malformed',
  'unauthenticated',
  'expired',
  'unexpected',
]

// Copies of RespDone sent in front of data on an unconfirmed session (see Channel#sendData).
const RESP_DONE_REPEATS = 3

// The last timestamp written per wall-clock function, so that InitHellos from this process
// strictly increase even when channels are re-created within one millisecond.
const lastTimestamps = new WeakMap<() => number, Tai64n>()

function nextTimestamp(wall: () => number): Tai64n {
  let t = tai64nFromUnixMs(Math.max(0, wall()))
  const last = lastTimestamps.get(wall)
  if (last !== undefined && compareTai64n(t, last) <= 0) t = nextTai64n(last)
  lastTimestamps.set(wall, t)
  return t
}

/** A P2PKE channel with one peer. See the module documentation for its rules. */
export class Channel implements HasStats {
  readonly #privateKey: PrivateKey
  readonly #sendFn: (message: Uint8Array) => void | Promise<void>
  readonly #allowKey: (key: PublicKey) => boolean
  readonly #backend: CryptoBackend
  readonly #registry: SigningRegistry
  readonly #clock: Clock
  readonly #wall: () => number
  readonly #t: {
    rekeyAfter: number
    rejectAfter: number
    keepAliveTimeout: number
    keepaliveInterval: number
    backoff: number
    backoffMax: number
    attempt: number
    timeout: number
  }
  readonly #maxQueuedMessages: number
  readonly #maxQueuedBytes: number

  #previous: Session | undefined
  #current: Session | undefined
  #next: Session | undefined
  #remoteKey: PublicKey | undefined
  #lastRemoteTimestamp: Tai64n | undefined
  #lastLocalTimestamp: Tai64n | undefined
  // A current session we completed as responder is unconfirmed until the initiator sends on it
  // (see #sendData); the count of RespDone repeats sent in front of data meanwhile.
  #currentConfirmed = false
  #respDoneRepeats = 0
  #lastReceived = Number.NEGATIVE_INFINITY
  #lastSent = Number.NEGATIVE_INFINITY
  // When the channel started trying to complete a handshake (for the give-up), if it is.
  #tryingSince: number | undefined
  #backoff: number
  #cancelTimer: (() => void) | undefined
  readonly #queue: Queued[] = []
  #queuedBytes = 0
  readonly #waiters = new Set<Waiter>()
  #closed = false

  readonly #stats = {
    handshakesInitiated: 0,
    handshakesCompleted: 0,
    handshakesFailed: 0,
    handshakeRetransmits: 0,
    rekeys: 0,
    sessionsSuperseded: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    keepalivesSent: 0,
    keepalivesReceived: 0,
    sendsRejected: 0,
    sendErrors: 0,
  }
  readonly #dropped: Record<DropCounter, number> = {
    malformed: 0,
    expired: 0,
    unexpected: 0,
    earlyData: 0,
    badHandshake: 0,
    keyRejected: 0,
    replayed: 0,
    unauthenticated: 0,
    staleTimestamp: 0,
    tieBreak: 0,
    closed: 0,
  }

  /** A channel with nothing established. Throws `TypeError`/`RangeError` for bad options. */
  constructor(opts: ChannelOptions) {
    if (typeof opts?.send !== 'function') throw new TypeError('send must be a function')
    if (opts.allowKey !== undefined && typeof opts.allowKey !== 'function') {
      throw new TypeError('allowKey must be a function')
    }
    this.#privateKey = opts.privateKey
    this.#sendFn = opts.send
    this.#allowKey = opts.allowKey ?? (() => true)
    this.#backend = opts.backend ?? defaultBackend()
    this.#registry = opts.registry ?? defaultRegistry(this.#backend)
    // Fails early (BadMessageError) for a key the registry cannot use.
    this.#registry.publicKeyFromPrivate(this.#privateKey)
    this.#clock = opts.clock ?? systemClock
    this.#wall = opts.wallClock ?? wallClockMs
    this.#t = {
      rekeyAfter: positive(opts.rekeyAfterTimeMs, REKEY_AFTER_TIME_MS, 'rekeyAfterTimeMs'),
      rejectAfter: positive(opts.rejectAfterTimeMs, REJECT_AFTER_TIME_MS, 'rejectAfterTimeMs'),
      keepAliveTimeout: positive(
        opts.keepAliveTimeoutMs,
        KEEP_ALIVE_TIMEOUT_MS,
        'keepAliveTimeoutMs',
      ),
      keepaliveInterval: positive(
        opts.keepaliveIntervalMs,
        KEEPALIVE_INTERVAL_MS,
        'keepaliveIntervalMs',
      ),
      backoff: positive(opts.handshakeBackoffMs, HANDSHAKE_BACKOFF_MS, 'handshakeBackoffMs'),
      backoffMax: positive(
        opts.handshakeBackoffMaxMs,
        HANDSHAKE_BACKOFF_MAX_MS,
        'handshakeBackoffMaxMs',
      ),
      attempt: positive(opts.handshakeAttemptMs, HANDSHAKE_ATTEMPT_MS, 'handshakeAttemptMs'),
      timeout: positive(opts.handshakeTimeoutMs, HANDSHAKE_TIMEOUT_MS, 'handshakeTimeoutMs'),
    }
    this.#maxQueuedMessages = positive(opts.maxQueuedMessages, 128, 'maxQueuedMessages')
    this.#maxQueuedBytes = positive(opts.maxQueuedBytes, 1 << 20, 'maxQueuedBytes')
    this.#backoff = this.#t.backoff
  }

  /** True when a message sent now goes out at once (a usable current session). */
  get ready(): boolean {
    return !this.#closed && this.#usable(this.#clock.now())
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed
  }

  /** The peer's key, pinned by the first session that became ready; undefined before. */
  remoteKey(): PublicKey | undefined {
    const k = this.#remoteKey
    return k === undefined ? undefined : { algorithm: k.algorithm, data: k.data.slice() }
  }

  /** Clock time (ms) of the last authenticated message from the peer; -Infinity if none. */
  get lastReceived(): number {
    return this.#lastReceived
  }

  /** Clock time (ms) of the last message handed to `send`; -Infinity if none. */
  get lastSent(): number {
    return this.#lastSent
  }

  /** The three session slots, for diagnostics and tests. */
  sessions(): {
    previous: SessionInfo | undefined
    current: SessionInfo | undefined
    next: SessionInfo | undefined
  } {
    return { previous: info(this.#previous), current: info(this.#current), next: info(this.#next) }
  }

  /**
   * Gives the channel a message from the peer. Returns the application data it carries, or
   * undefined (a handshake message, a keepalive, or a dropped message, counted in `stats()`).
   * May call `send` (handshake answers, queued messages, keepalives) before returning. Never
   * throws on the message's content; does not keep `message`.
   */
  deliver(message: Uint8Array): Uint8Array | undefined {
    if (this.#closed) {
      this.#dropped.closed++
      return undefined
    }
    const now = this.#clock.now()
    const msg = parseMessage(message)
    if (msg === undefined) {
      this.#dropped.malformed++
      return undefined
    }
    this.#expire(now)
    const out: Uint8Array[] = []
    let data: Uint8Array | undefined
    if (msg.counter === NONCE_INIT_HELLO) {
      this.#onInitHello(message, now, out)
    } else {
      data = this.#onOther(message, now, out)
    }
    this.#flush(out)
    return data
  }

  /**
   * Sends `data` (at most `MAX_MESSAGE_LEN` bytes, not empty) to the peer. Resolves once the
   * message is encrypted and handed to the `send` callback — at once when a session is usable,
   * otherwise after a handshake. That is no promise of delivery. Rejects with `MTUExceededError`
   * (too long), `RangeError` (empty), `BusyError` (queue full), `HandshakeError` (the channel
   * gave up), `ClosedError`, or the signal's reason (the message is then not sent). Does not
   * keep or modify the caller's buffers.
   */
  send(data: Payload, opts?: CallOptions): Promise<void> {
    try {
      if (this.#closed) throw new ClosedError('p2pke channel is closed')
      opts?.signal?.throwIfAborted()
      const size = payloadSize(data)
      if (size > MAX_MESSAGE_LEN) throw new MTUExceededError(size, MAX_MESSAGE_LEN)
      if (size === 0) throw new RangeError('p2pke: an empty message is a keepalive; send data')
    } catch (e) {
      return Promise.reject(e)
    }
    const now = this.#clock.now()
    this.#expire(now)
    const out: Uint8Array[] = []
    if (this.#usable(now)) {
      this.#sendData(payloadConcat(data), now, out)
      this.#maybeRekey(now, out)
      this.#flush(out)
      return Promise.resolve()
    }
    if (
      this.#queue.length >= this.#maxQueuedMessages ||
      this.#queuedBytes + payloadSize(data) > this.#maxQueuedBytes
    ) {
      this.#stats.sendsRejected++
      this.#ensureHandshake(now, out)
      this.#flush(out)
      return Promise.reject(new BusyError('p2pke: send queue is full while the handshake runs'))
    }
    const promise = new Promise<void>((resolve, reject) => {
      const signal = opts?.signal
      const onAbort = () => {
        const i = this.#queue.indexOf(entry)
        if (i >= 0) {
          this.#queue.splice(i, 1)
          this.#queuedBytes -= entry.data.length
        }
        reject(signal!.reason)
      }
      const entry: Queued = {
        data: payloadCopy(data),
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(entry)
      this.#queuedBytes += entry.data.length
    })
    this.#ensureHandshake(now, out)
    this.#flush(out)
    return promise
  }

  /**
   * Resolves once a session is usable, starting a handshake when there is none. Rejects with
   * `HandshakeError` when the channel gives up, `ClosedError`, or the signal's reason.
   */
  waitReady(opts?: CallOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('p2pke channel is closed'))
    if (opts?.signal?.aborted) return Promise.reject(opts.signal.reason)
    const now = this.#clock.now()
    this.#expire(now)
    if (this.#usable(now)) return Promise.resolve()
    const promise = new Promise<void>((resolve, reject) => {
      const signal = opts?.signal
      const onAbort = () => {
        this.#waiters.delete(waiter)
        reject(signal!.reason)
      }
      const waiter: Waiter = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
    })
    const out: Uint8Array[] = []
    this.#ensureHandshake(now, out)
    this.#flush(out)
    return promise
  }

  /**
   * Closes the channel: timers stop, sessions are forgotten, queued sends and `waitReady` calls
   * reject with `ClosedError`; `send` is never called again. Idempotent.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#stopTimer()
    this.#previous = this.#current = this.#next = undefined
    this.#failWaiting(new ClosedError('p2pke channel is closed'))
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** A snapshot of the counters. */
  stats(): ChannelStats {
    return { ...this.#stats, dropped: { ...this.#dropped } }
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #onInitHello(message: Uint8Array, now: number, out: Uint8Array[]): void {
    const id = sessionId(this.#backend, message)
    // A retransmission of an InitHello we hold a session for: that session answers.
    for (const s of this.#slots()) {
      const sid = s.id
      if (sid !== undefined && bytesEqual(sid, id)) {
        const o = s.deliver(message, now)
        if (o.type === 'handshake') {
          if (o.reply !== undefined) out.push(o.reply)
        } else if (o.type === 'drop') {
          this.#countDrop(o.reason)
        }
        return
      }
    }
    let timestamp: Tai64n
    try {
      timestamp = decodeTai64n(parseInitHelloMessage(message).hello.timestampTai64n)
    } catch {
      this.#dropped.malformed++
      return
    }
    const next = this.#next
    const last = this.#lastRemoteTimestamp
    const cmp = last === undefined ? 1 : compareTai64n(timestamp, last)
    // An InitHello with the timestamp of the pending responder attempt is another version of
    // that attempt: its ephemeral key is not signed, so a corrupted or forged copy can arrive
    // first and must not shut out the real one (which the initiator keeps retransmitting).
    const samePending =
      cmp === 0 &&
      next !== undefined &&
      !next.initiator &&
      next.timestamp !== undefined &&
      compareTai64n(next.timestamp, timestamp) === 0
    if (cmp < 0 || (cmp === 0 && !samePending)) {
      this.#dropped.staleTimestamp++
      // Typically a retransmission of an InitHello that lost the tie-break to ours: the peer
      // has evidently not got ours yet, so send it again (our own bytes, to the peer only).
      if (cmp === 0 && next?.initiator && next.state === 'init-hello-sent') {
        out.push(next.handshakeMessage()!)
      }
      return
    }
    if (next?.initiator && bytesCompare(next.id!, id) < 0) {
      // Simultaneous initiation and ours wins: the peer will answer ours. While our InitHello
      // is unanswered, the peer gets it (we resend it now) and will abandon its own, so its
      // timestamp counts as seen: a delayed copy arriving after our session completed is then
      // refused as stale instead of starting a handshake the peer has abandoned. Once we sent
      // InitDone, the peer may be a restarted one that cannot use our answer and keeps its
      // InitHello; its timestamp is then not recorded, so that it wins after our next attempt.
      const v = verifyInitHello(message, { registry: this.#registry, backend: this.#backend })
      if (v === undefined) {
        this.#dropped.badHandshake++
        return
      }
      if (!this.#acceptKey(v.key)) {
        this.#dropped.keyRejected++
        return
      }
      if (next.state === 'init-hello-sent') this.#lastRemoteTimestamp = timestamp
      this.#dropped.tieBreak++
      const ours = next.handshakeMessage()
      if (ours !== undefined) out.push(ours)
      return
    }
    const s = this.#newSession(false, now)
    const o = s.deliver(message, now)
    if (o.type !== 'handshake') {
      this.#countDrop(o.type === 'drop' ? o.reason : 'unexpected')
      return
    }
    this.#lastRemoteTimestamp = timestamp
    if (next !== undefined) this.#stats.sessionsSuperseded++
    this.#next = s
    this.#tryingSince ??= now
    if (o.reply !== undefined) out.push(o.reply)
    this.#restartBackoff()
  }

  #onOther(message: Uint8Array, now: number, out: Uint8Array[]): Uint8Array | undefined {
    const reasons: DropReason[] = []
    // Current first (nearly all traffic), then a handshake in progress, then the old session.
    for (const s of [this.#current, this.#next, this.#previous]) {
      if (s === undefined) continue
      const o = s.deliver(message, now)
      if (o.type === 'drop') {
        reasons.push(o.reason)
        continue
      }
      if (o.type === 'handshake') {
        if (o.reply !== undefined) out.push(o.reply)
        if (!o.repeat) this.#lastReceived = now
        if (o.becameReady) this.#onReady(s, now, out)
        else if (!o.repeat && s === this.#next) this.#restartBackoff()
        return undefined
      }
      this.#lastReceived = now
      if (o.becameReady) this.#onReady(s, now, out)
      if (s === this.#current) this.#currentConfirmed = true
      if (o.plaintext.length === 0) this.#stats.keepalivesReceived++
      else this.#stats.messagesDelivered++
      this.#maybeKeepalive(now, out)
      this.#maybeRekey(now, out)
      return o.plaintext.length === 0 ? undefined : o.plaintext
    }
    this.#countDrop(
      reasons.length === 0
        ? 'unexpected'
        : (DROP_PRIORITY.find((r) => reasons.includes(r)) ?? 'unexpected'),
    )
    return undefined
  }

  #onReady(s: Session, now: number, out: Uint8Array[]): void {
    if (s !== this.#next) return
    const key = s.remoteKey()!
    if (this.#remoteKey !== undefined && !publicKeyEqual(this.#remoteKey, key)) {
      // Unreachable: every session checks the pinned key before it answers. Kept as a guard.
      this.#next = undefined
      this.#dropped.keyRejected++
      return
    }
    this.#remoteKey = key
    this.#previous = this.#current
    this.#current = s
    this.#next = undefined
    this.#currentConfirmed = s.initiator
    this.#respDoneRepeats = 0
    this.#lastReceived = now
    this.#tryingSince = undefined
    this.#stopTimer()
    this.#stats.handshakesCompleted++
    for (const w of this.#waiters) {
      w.cleanup()
      w.resolve()
    }
    this.#waiters.clear()
    const queued = this.#queue.splice(0)
    this.#queuedBytes = 0
    for (const q of queued) {
      q.cleanup()
      if (s.canSend(now)) {
        this.#sendData(q.data, now, out)
        q.resolve()
      } else {
        q.reject(new HandshakeError('p2pke: session expired before the message could be sent'))
      }
    }
    // An initiator confirms the new session to the responder at once. (A go-p2p responder also
    // needs data on a session before it stops answering new InitHellos with that session's
    // RespDone.)
    if (s.initiator && queued.length === 0 && s.canSend(now)) {
      this.#sendData(new Uint8Array(0), now, out)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sending and timers

  #usable(now: number): boolean {
    const c = this.#current
    return c?.canSend(now) === true && now - this.#lastReceived < this.#t.keepAliveTimeout
  }

  /**
   * Seals on the current session. A session we completed as responder stays unconfirmed until
   * the initiator sends on it: a go-p2p initiator that receives data on a new session before its
   * RespDone never makes that session current (its sends then hang until the session expires).
   * Meanwhile we keep sending on the previous session while it is usable (the initiator still
   * has it), or else put a copy of RespDone in front of the first few messages.
   */
  #sendData(plaintext: Uint8Array, now: number, out: Uint8Array[]): void {
    let s = this.#current!
    if (!this.#currentConfirmed) {
      if (this.#previous?.canSend(now)) {
        s = this.#previous
      } else if (this.#respDoneRepeats < RESP_DONE_REPEATS) {
        const respDone = s.respDoneMessage()
        if (respDone !== undefined) out.push(respDone)
        this.#respDoneRepeats++
      }
    }
    out.push(s.send(plaintext, now))
    if (plaintext.length === 0) this.#stats.keepalivesSent++
    else this.#stats.messagesSent++
  }

  #maybeKeepalive(now: number, out: Uint8Array[]): void {
    if (out.length > 0 || now - this.#lastSent < this.#t.keepaliveInterval) return
    if (this.#usable(now)) this.#sendData(new Uint8Array(0), now, out)
  }

  #maybeRekey(now: number, out: Uint8Array[]): void {
    const c = this.#current
    if (c === undefined || this.#next !== undefined) return
    const age = now - c.createdAt
    if (
      (c.initiator && age >= this.#t.rekeyAfter) ||
      age >= (this.#t.rejectAfter * REKEY_AFTER_TIME_RECEIVING_MS) / REJECT_AFTER_TIME_MS ||
      c.messagesSent >= REKEY_AFTER_MESSAGES
    ) {
      this.#stats.rekeys++
      this.#ensureHandshake(now, out)
    }
  }

  /** Starts a handshake as initiator unless one is in progress. */
  #ensureHandshake(now: number, out: Uint8Array[]): void {
    if (this.#next !== undefined) return
    this.#startAttempt(now, out)
  }

  #startAttempt(now: number, out: Uint8Array[]): void {
    const s = this.#newSession(true, now)
    this.#next = s
    this.#tryingSince ??= now
    this.#stats.handshakesInitiated++
    out.push(s.handshakeMessage()!)
    this.#restartBackoff()
  }

  #newSession(initiator: boolean, now: number): Session {
    return new Session({
      initiator,
      now,
      privateKey: this.#privateKey,
      registry: this.#registry,
      backend: this.#backend,
      rejectAfterTimeMs: this.#t.rejectAfter,
      timestamp: initiator ? this.#nextTimestamp() : undefined,
      acceptKey: (key) => this.#acceptKey(key),
    })
  }

  #acceptKey(key: PublicKey): boolean {
    return this.#remoteKey !== undefined
      ? publicKeyEqual(key, this.#remoteKey)
      : this.#allowKey(key) === true
  }

  /**
   * The timestamp of our next InitHello: the wall clock, strictly after every timestamp this
   * channel wrote and every InitHello timestamp the peer sent. The latter matters for go-p2p,
   * which compares our InitHello with its own InitHello time when it initiated the last
   * session; keeping it per channel means a peer can only move its own channel's clock.
   */
  #nextTimestamp(): Tai64n {
    let t = nextTimestamp(this.#wall)
    for (const floor of [this.#lastLocalTimestamp, this.#lastRemoteTimestamp]) {
      if (floor !== undefined && compareTai64n(t, floor) <= 0) t = nextTai64n(floor)
    }
    this.#lastLocalTimestamp = t
    return t
  }

  #restartBackoff(): void {
    this.#backoff = this.#t.backoff
    this.#schedule()
  }

  #schedule(): void {
    this.#stopTimer()
    if (this.#closed || this.#next === undefined) return
    this.#cancelTimer = this.#clock.setTimeout(() => {
      this.#cancelTimer = undefined
      this.#onTimer()
    }, this.#backoff)
  }

  #stopTimer(): void {
    this.#cancelTimer?.()
    this.#cancelTimer = undefined
  }

  #onTimer(): void {
    if (this.#closed) return
    const now = this.#clock.now()
    this.#expire(now)
    const out: Uint8Array[] = []
    const next = this.#next
    if (next === undefined) return
    if (this.#tryingSince !== undefined && now - this.#tryingSince >= this.#t.timeout) {
      this.#giveUp()
      return
    }
    if (next.state === 'init-done-sent' && now - next.createdAt >= this.#t.attempt) {
      // Our InitDone went unanswered for long: the responder most likely lost its state.
      this.#stats.sessionsSuperseded++
      this.#next = undefined
      this.#startAttempt(now, out)
      this.#flush(out)
      return
    }
    const msg = next.handshakeMessage()
    if (msg !== undefined) {
      this.#stats.handshakeRetransmits++
      out.push(msg)
    }
    this.#backoff = Math.min(this.#backoff * 2, this.#t.backoffMax)
    this.#schedule()
    this.#flush(out)
  }

  #giveUp(): void {
    this.#stopTimer()
    this.#next = undefined
    this.#tryingSince = undefined
    this.#stats.handshakesFailed++
    this.#failWaiting(
      new HandshakeError(`p2pke: no handshake completed within ${this.#t.timeout} ms`),
    )
  }

  #failWaiting(err: Error): void {
    const queued = this.#queue.splice(0)
    this.#queuedBytes = 0
    for (const q of queued) {
      q.cleanup()
      q.reject(err)
    }
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const w of waiters) {
      w.cleanup()
      w.reject(err)
    }
  }

  /** Forgets expired sessions. A dead current session stays: it still receives. */
  #expire(now: number): void {
    if (this.#previous?.isExpired(now)) this.#previous = undefined
    if (this.#current?.isExpired(now)) this.#current = undefined
    if (this.#next?.isExpired(now)) {
      this.#next = undefined
      this.#stopTimer()
    }
  }

  #slots(): Session[] {
    const out: Session[] = []
    for (const s of [this.#current, this.#next, this.#previous]) if (s !== undefined) out.push(s)
    return out
  }

  #countDrop(reason: DropReason): void {
    this.#dropped[DROP_KEYS[reason]]++
  }

  /** Hands the messages to `send`, in order. State is consistent before the first call. */
  #flush(out: readonly Uint8Array[]): void {
    for (const m of out) {
      if (this.#closed) return
      this.#lastSent = this.#clock.now()
      try {
        const r = this.#sendFn(m)
        if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
          ;(r as Promise<void>).then(undefined, () => {
            this.#stats.sendErrors++
          })
        }
      } catch {
        this.#stats.sendErrors++
      }
    }
  }
}

function info(s: Session | undefined): SessionInfo | undefined {
  if (s === undefined) return undefined
  return { id: s.id, initiator: s.initiator, state: s.state, createdAt: s.createdAt }
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`${name} must be a positive number`)
  return v
}
