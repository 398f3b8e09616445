/**
 * askswarm: reliable asks over any swarm of datagrams. Tells pass through behind a one-byte
 * header; asks get ids, retransmission, at-most-once execution, fragmentation, deadlines on
 * the wire and error responses. The asking side is in `client.ts`, the serving side in
 * `server.ts`, the wire format in `wire.ts` (and README.md).
 */
import {
  type Addr,
  type AskHandler,
  type Asker,
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
  isClosedError,
  isSecure,
  newMessageInbox,
  payloadSize,
  prepend,
  pumpMessages,
  receiveOne,
  systemClock,
} from '../../core/index.js'
import { DEFAULT_REPLY_FACTOR } from './budget.js'
import type { TableLimits } from './cache.js'
import { AskClient, type AskOptions, type ClientSettings } from './client.js'
import { type RttOptions, resolveRttOptions } from './rtt.js'
import { AskServer, type ServerSettings } from './server.js'
import {
  Kind,
  MAX_PARTS,
  MAX_UINT32,
  REQUEST_HEADER_SIZE,
  TELL_HEADER,
  TELL_HEADER_SIZE,
  parseFrame,
} from './wire.js'

/** Default largest request and response: 1 MiB. */
export const DEFAULT_MAX_ASK_SIZE = 1 << 20
/** Default deadline of an ask given neither a signal nor `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 10_000
/** Default longest deadline, for callers and for the server. */
export const DEFAULT_MAX_TIMEOUT_MS = 60_000
export { DEFAULT_REPLY_FACTOR }
/** Default length of a reply-credit bucket (credit lasts one to two of them). */
export const DEFAULT_REPLY_WINDOW_MS = 1000

/** Options of an `AskSwarm`. Every count and size is a positive integer. */
export interface AskSwarmOptions extends RttOptions {
  /**
   * Largest request `ask` sends and the server accepts, and largest response (default 1 MiB).
   * At most 65535 parts of the inner mtu, and at most 2^32 − 1.
   */
  maxAskSize?: number
  /** Deadline of an ask called with neither a signal nor `timeoutMs` (default 10 s). */
  defaultTimeoutMs?: number
  /**
   * Longest deadline (default 60 s). An ask with a signal but no `timeoutMs` retransmits this
   * long at most; the server aborts a handler past it, and keeps answers that long. Servers
   * should not have a smaller value than their callers (see README, at-most-once).
   */
  maxTimeoutMs?: number
  /** Most asks in flight to one peer; more wait in a queue, in call order (default 32). */
  maxInFlightPerPeer?: number
  /** Most asks waiting for a slot per peer; past it `ask` rejects with `BusyError` (default 1024). */
  maxQueuedPerPeer?: number
  /** Most parts sent back to back before waiting for an ACK or POLL (default 64). */
  burstParts?: number
  /** Peers whose RTT estimate is kept (default 4096; least recently used forgotten). */
  maxPeers?: number
  /** Most incomplete requests per source (default 16). */
  maxIncompletePerSource?: number
  /** Most incomplete requests in total (default 256). */
  maxIncomplete?: number
  /** Most bytes of incomplete requests per source (default 2 × maxAskSize). */
  maxIncompleteBytesPerSource?: number
  /** Most bytes of incomplete requests in total (default max(16 MiB, the per-source value)). */
  maxIncompleteBytes?: number
  /** An incomplete request with no new part for this long is dropped (default 5000 ms). */
  incompleteIdleMs?: number
  /** Most requests per source queued for or inside a handler; more are dropped (default 64). */
  maxHandlingPerSource?: number
  /** Most requests queued for or inside a handler in total (default 1024). */
  maxHandling?: number
  /** Most request bytes queued for or inside a handler (default max(64 MiB, maxAskSize)). */
  maxHandlingBytes?: number
  /** Most answers cached for retransmissions (default 4096). */
  maxAnswers?: number
  /** Most bytes of cached answers (default max(16 MiB, maxAskSize)). */
  maxAnswerBytes?: number
  /** Most tombstones of handled requests whose answer is not kept (default 65536). */
  maxTombstones?: number
  /** Kept past a request's deadline before its answer or tombstone is dropped (default 1000 ms). */
  answerSlackMs?: number
  /** Interval of the expiry sweep while anything can expire (default 1000 ms). */
  sweepMs?: number
  /** Most requests waiting for `serveAsk` (default 1024); past it the asker gets `BusyError`. */
  askInboxItems?: number
  /** Most request bytes waiting for `serveAsk` (default max(64 MiB, maxAskSize)). */
  askInboxBytes?: number
  /**
   * Anti-amplification: toward each source, replies other than the answer itself (ACKs,
   * answers sent again, response parts a POLL asks for again) are sent only while they stay
   * within this many times the bytes received from it recently (default 3, at least 1; plus
   * one packet per `replyWindowMs`; see README).
   */
  replyFactor?: number
  /** Reply credit (and an overdraft) lasts one to two of these (default 1000 ms). */
  replyWindowMs?: number
  /**
   * A repeat of one request (a retransmitted part or a POLL that brings nothing new) is
   * answered at most once per this many ms (default: half of `minRtoMs`, so 50 ms).
   */
  repeatIntervalMs?: number
  /** Most received tells held while nobody receives (default 1024). */
  inboxItems?: number
  /** Most bytes of received tells held (default 16 MiB). */
  inboxBytes?: number
  /** Time source of every timer (default: the system clock). */
  clock?: Clock
  /** First session of request ids (default: random). Set it only in tests. */
  session?: bigint
  /** Called when the inner swarm fails unexpectedly (default: silent). */
  log?: (event: string, detail: Record<string, unknown>) => void
}

/** Counters of an `AskSwarm`. */
export interface AskSwarmStats extends Stats {
  /** Tells sent. */
  readonly tellsOut: number
  /** Tells put into the inbox. */
  readonly tellsIn: number
  /** The asking side: see `ClientCounters`. */
  readonly asks: Stats
  /** The serving side: see `ServerCounters`. */
  readonly served: Stats
  /** Everything dropped, by reason (never thrown). */
  readonly dropped: Stats
  /** RTT estimate of the peer sampled last, and the number of peers known. */
  readonly rtt: Stats
  /** Server memory now (see `TableUsage`) and its eviction counters. */
  readonly memory: Stats
  /** Asks in flight and queued at the caller. */
  readonly pending: Stats
  /** Received tells waiting for `receive`. */
  readonly inbox: Stats
  /** Requests waiting for `serveAsk`. */
  readonly askInbox: Stats
  /** The inner swarm's counters. */
  readonly inner: Stats
}

/**
 * Reliable asks over any swarm: a Swarm and an Asker with the inner swarm's addresses.
 *
 * - `tell` prepends a one-byte header: `mtu(dst)` is the inner mtu minus 1, and delivery is
 *   the inner swarm's (best effort).
 * - `ask` is reliable until its deadline: see `client.ts` and README.md. A handler runs at most
 *   once per ask while its answer (or tombstone) is remembered; see `cache.ts`.
 * - The inner swarm's own asks, if it has any, are not used: asks travel as datagrams.
 * - Malformed, forged or unexpected messages are dropped and counted in `stats().dropped`.
 * - Replies other than the answer itself stay within `replyFactor` (3) times the bytes
 *   received from their source (anti-amplification; see `server.ts` and README.md).
 * - Owns the inner swarm: `close()` closes it, rejects pending `ask`, `serveAsk` and `receive`
 *   with `ClosedError`, and stops every loop and timer. When the inner swarm closes by itself
 *   (or its `receive` fails), this swarm closes the same way.
 *
 * The class satisfies core's `AskSwarm<A>` type (the same name; import one of them renamed
 * when you need both). `newAskSwarm` also passes `Secure` through.
 */
export class AskSwarm<A extends Addr> implements Swarm<A>, Asker<A>, HasStats {
  readonly #inner: Swarm<A>
  readonly #closer = new CloseOnce()
  readonly #clock: Clock
  readonly #inbox: Inbox<Message<A>>
  readonly #client: AskClient<A>
  readonly #server: AskServer<A>
  readonly #maxAskSize: number
  readonly #loop: Promise<void>
  /** The receive callback, made once (not per message). */
  readonly #onMessage = (m: Message<A>): void => this.#handle(m)
  readonly #log: (event: string, detail: Record<string, unknown>) => void
  #tellsOut = 0
  #tellsIn = 0
  readonly #drops = {
    malformed: 0,
    unknownKind: 0,
    sendFailed: 0,
    tellInboxFull: 0,
  }

  /**
   * Wraps `inner`, which it then owns. Throws `RangeError` on a bad option, or when the inner
   * mtu (at its first local address) cannot carry a request part.
   */
  constructor(inner: Swarm<A>, opts: AskSwarmOptions = {}) {
    this.#inner = inner
    this.#clock = opts.clock ?? systemClock
    this.#log = opts.log ?? (() => {})
    const local = inner.localAddrs()[0]
    if (local === undefined) throw new RangeError('inner swarm has no local address')
    const innerMtu = inner.mtu(local)
    const partLen = innerMtu - REQUEST_HEADER_SIZE
    if (partLen < 1) {
      throw new RangeError(
        `inner mtu ${innerMtu} leaves no room for data after the ${REQUEST_HEADER_SIZE}-byte request header`,
      )
    }
    const maxAskSize = int(opts.maxAskSize ?? DEFAULT_MAX_ASK_SIZE, 'maxAskSize', 0)
    if (maxAskSize > MAX_UINT32 || Math.ceil(maxAskSize / partLen) > MAX_PARTS) {
      throw new RangeError(
        `maxAskSize ${maxAskSize} is too large: at most ${Math.min(MAX_UINT32, MAX_PARTS * partLen)} with an inner mtu of ${innerMtu}`,
      )
    }
    this.#maxAskSize = maxAskSize
    const maxTimeoutMs = int(opts.maxTimeoutMs ?? DEFAULT_MAX_TIMEOUT_MS, 'maxTimeoutMs')
    const defaultTimeoutMs = int(opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS, 'defaultTimeoutMs')
    if (defaultTimeoutMs > maxTimeoutMs) {
      throw new RangeError(
        `defaultTimeoutMs (${defaultTimeoutMs}) exceeds maxTimeoutMs (${maxTimeoutMs})`,
      )
    }
    if (maxTimeoutMs > MAX_UINT32)
      throw new RangeError(`maxTimeoutMs must be at most ${MAX_UINT32}`)
    const burstParts = int(opts.burstParts ?? 64, 'burstParts')
    const rtt = resolveRttOptions({
      initialRtoMs: opts.initialRtoMs,
      minRtoMs: opts.minRtoMs,
      maxRtoMs: opts.maxRtoMs,
      granularityMs: opts.granularityMs,
    })
    const clientSettings: ClientSettings = {
      maxAskSize,
      defaultTimeoutMs,
      maxTimeoutMs,
      maxInFlightPerPeer: int(opts.maxInFlightPerPeer ?? 32, 'maxInFlightPerPeer'),
      maxQueuedPerPeer: int(opts.maxQueuedPerPeer ?? 1024, 'maxQueuedPerPeer', 0),
      burstParts,
      rtt,
      maxPeers: int(opts.maxPeers ?? 4096, 'maxPeers'),
      session: opts.session,
    }
    const askBytes = Math.max(1, maxAskSize)
    const perSourceIncomplete = int(
      opts.maxIncompleteBytesPerSource ?? 2 * askBytes,
      'maxIncompleteBytesPerSource',
    )
    const limits: TableLimits = {
      maxIncompletePerSource: int(opts.maxIncompletePerSource ?? 16, 'maxIncompletePerSource'),
      maxIncomplete: int(opts.maxIncomplete ?? 256, 'maxIncomplete'),
      maxIncompleteBytesPerSource: perSourceIncomplete,
      maxIncompleteBytes: int(
        opts.maxIncompleteBytes ?? Math.max(16 << 20, perSourceIncomplete),
        'maxIncompleteBytes',
      ),
      maxHandlingPerSource: int(opts.maxHandlingPerSource ?? 64, 'maxHandlingPerSource'),
      maxHandling: int(opts.maxHandling ?? 1024, 'maxHandling'),
      maxHandlingBytes: int(
        opts.maxHandlingBytes ?? Math.max(64 << 20, askBytes),
        'maxHandlingBytes',
      ),
      maxAnswers: int(opts.maxAnswers ?? 4096, 'maxAnswers'),
      maxAnswerBytes: int(opts.maxAnswerBytes ?? Math.max(16 << 20, askBytes), 'maxAnswerBytes'),
      maxTombstones: int(opts.maxTombstones ?? 65536, 'maxTombstones'),
    }
    const serverSettings: ServerSettings = {
      maxAskSize,
      maxTimeoutMs,
      burstParts,
      limits,
      incompleteIdleMs: int(opts.incompleteIdleMs ?? 5000, 'incompleteIdleMs'),
      answerSlackMs: int(opts.answerSlackMs ?? 1000, 'answerSlackMs', 0),
      sweepMs: int(opts.sweepMs ?? 1000, 'sweepMs'),
      askInboxItems: int(opts.askInboxItems ?? 1024, 'askInboxItems'),
      askInboxBytes: int(opts.askInboxBytes ?? Math.max(64 << 20, askBytes), 'askInboxBytes'),
      repeatIntervalMs: int(
        opts.repeatIntervalMs ?? Math.max(1, Math.floor(rtt.minRtoMs / 2)),
        'repeatIntervalMs',
        0,
      ),
      replyFactor: int(opts.replyFactor ?? DEFAULT_REPLY_FACTOR, 'replyFactor'),
      replyWindowMs: int(opts.replyWindowMs ?? DEFAULT_REPLY_WINDOW_MS, 'replyWindowMs'),
      maxReplySources: clientSettings.maxPeers,
    }
    const link = {
      clock: this.#clock,
      closer: this.#closer,
      send: (dst: A, data: Payload) => this.#send(dst, data),
      innerMtu: (dst: A) => this.#inner.mtu(dst),
    }
    this.#client = new AskClient(clientSettings, link)
    this.#server = new AskServer(serverSettings, link)
    this.#inbox = newMessageInbox<A>({
      maxItems: int(opts.inboxItems ?? 1024, 'inboxItems'),
      maxBytes: int(opts.inboxBytes ?? 16 << 20, 'inboxBytes'),
    })
    // The inner swarm closing underneath (or failing) closes this swarm: pending and later
    // calls then reject with ClosedError instead of waiting for replies that cannot come.
    this.#loop = pumpMessages(inner, this.#onMessage).then((err) => {
      if (err !== undefined) this.#log('inner receive failed', { err })
      void this.close()
    })
  }

  /** Largest request (and, by default, response) in bytes: the `maxAskSize` option. */
  get maxAskSize(): number {
    return this.#maxAskSize
  }

  /** Tells `data` to `dst` behind the one-byte tell header. Best effort, as the inner swarm. */
  async tell(dst: A, data: Payload, opts?: CallOptions): Promise<void> {
    checkCall(this.#closer, opts)
    const size = payloadSize(data)
    const mtu = this.mtu(dst)
    if (size > mtu) throw new MTUExceededError(size, mtu)
    this.#tellsOut++
    await this.#inner.tell(dst, prepend(TELL_HEADER, data), opts)
  }

  /** Takes one received tell. */
  receive(fn: (msg: Message<A>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.#closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return receiveOne(this.#inbox, fn, opts)
  }

  /**
   * Sends `req` to `dst` and resolves with the response (a fresh buffer the caller owns).
   * Rejects with `AskError` (the handler threw), `ResponseTooLargeError` (the response exceeds
   * `maxResponseSize`), `MTUExceededError` (the request exceeds `maxAskSize` here or at the
   * server), `BusyError` (too many asks queued for `dst` here, or waiting at the server),
   * `TimeoutError` (the deadline passed), the signal's reason, or `ClosedError`. Resolving
   * means the handler ran exactly once; rejecting with a timeout, abort or close leaves open
   * whether it ran (at most once). See `AskOptions` for the deadline.
   */
  ask(dst: A, req: Payload, opts?: AskOptions): Promise<Uint8Array> {
    return this.#client.ask(dst, req, opts)
  }

  /**
   * Serves one request with `handler`, then resolves. A throw becomes an error response
   * (`AskError` at the caller). `ctx.signal` aborts when the caller's deadline passes, when it
   * cancels, or on close; the answer is then not sent. Rejects only when closed or aborted
   * while waiting for a request.
   */
  serveAsk(handler: AskHandler<A>, opts?: CallOptions): Promise<void> {
    return this.#server.serveAsk(handler, opts)
  }

  /** The inner swarm's addresses. */
  localAddrs(): A[] {
    return this.#inner.localAddrs()
  }

  /** The inner mtu minus the one-byte tell header. */
  mtu(dst: A): number {
    return Math.max(0, this.#inner.mtu(dst) - TELL_HEADER_SIZE)
  }

  /** The inner swarm's, minus the tell header. */
  maxIncomingSize(): number {
    return Math.max(0, this.#inner.maxIncomingSize() - TELL_HEADER_SIZE)
  }

  /** The inner swarm's parser. */
  parseAddr(text: string): A {
    return this.#inner.parseAddr(text)
  }

  /** The RTT estimate for `dst` (ms), once an ask to it was answered. */
  rtt(dst: A): { srttMs: number; rttvarMs: number; rtoMs: number } | undefined {
    return this.#client.rttOf(dst.toString())
  }

  /** Counters; see `AskSwarmStats`. */
  stats(): AskSwarmStats {
    const c = this.#client.stats()
    const s = this.#server.stats()
    return {
      tellsOut: this.#tellsOut,
      tellsIn: this.#tellsIn,
      asks: c.counters,
      served: s.counters,
      dropped: { ...this.#drops, ...c.drops, ...s.drops },
      rtt: c.rtt,
      memory: s.memory,
      pending: { inFlight: c.inFlight, queued: c.queued },
      inbox: this.#inbox.stats(),
      askInbox: s.askInbox,
      inner: hasStats(this.#inner) ? this.#inner.stats() : {},
    }
  }

  /**
   * Rejects pending asks (sending CANCELs) and serveAsks with `ClosedError`, aborts running
   * handlers, tells their callers the server is closing (best effort), closes the inner swarm
   * and stops the receive loop and every timer. Idempotent. Also runs by itself when the inner
   * swarm closes (or its receive fails): the whole AskSwarm is then closed.
   */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      const err = new ClosedError()
      // Peers hear of it while the inner swarm is open; pending calls reject at the end, once
      // nothing of this swarm runs any more.
      this.#client.shutdown()
      this.#server.shutdown(err)
      try {
        await this.#inner.close()
      } finally {
        await this.#loop
        this.#inbox.close(err)
        this.#client.close(err)
        this.#server.close(err)
      }
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #send(dst: A, data: Payload): void {
    let p: Promise<void>
    try {
      p = this.#inner.tell(dst, data)
    } catch (err) {
      this.#sendFailed(err)
      return
    }
    p.catch((err) => this.#sendFailed(err))
  }

  #sendFailed(err: unknown): void {
    this.#drops.sendFailed++
    if (!isClosedError(err)) this.#log('send failed', { err })
  }

  #handle(m: Message<A>): void {
    // Closing: nothing received changes the state any more.
    if (this.#closer.closed) return
    const f = parseFrame(m.payload)
    switch (f.kind) {
      case Kind.TELL:
        if (this.#inbox.put({ src: m.src, dst: m.dst, payload: f.data })) this.#tellsIn++
        else this.#drops.tellInboxFull++
        return
      case Kind.REQUEST:
        this.#server.onRequest(m, f)
        return
      case Kind.POLL:
        this.#server.onPoll(m, f)
        return
      case Kind.CANCEL:
        this.#server.onCancel(m, f)
        return
      case Kind.RESPONSE:
        this.#client.onResponse(m.src, f)
        return
      case Kind.ERROR:
        this.#client.onError(m.src, f)
        return
      case Kind.ACK:
        this.#client.onAck(m.src, f)
        return
      default:
        if (f.reason === 'unknownKind') this.#drops.unknownKind++
        else this.#drops.malformed++
    }
  }
}

/**
 * An AskSwarm over a secure swarm, delegating `publicKey`/`lookupPublicKey` to it. Requests
 * and tells carry the inner source address, so inside a `receive` or `serveAsk` callback
 * `lookupPublicKey(msg.src)` answers as the inner swarm does (from memory, when it does).
 */
export class SecureAskSwarm<A extends Addr, Pub> extends AskSwarm<A> implements Secure<A, Pub> {
  readonly #secure: Secure<A, Pub>

  /** As `AskSwarm`'s constructor. Throws `TypeError` when `inner` is not `Secure`. */
  constructor(inner: SecureSwarm<A, Pub>, opts?: AskSwarmOptions) {
    if (!isSecure(inner)) throw new TypeError('inner swarm is not Secure')
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

/** The address type of a swarm type. */
export type AddrOf<S> = S extends Swarm<infer A> ? A : never

/** An AskSwarm over `S`: a `SecureAskSwarm` when `S` is `Secure`. */
export type AskSwarmOf<S extends Swarm<Addr>> =
  S extends Secure<Addr, infer Pub> ? SecureAskSwarm<AddrOf<S>, Pub> : AskSwarm<AddrOf<S>>

/**
 * Wraps `inner` in an `AskSwarm` (see its options), or a `SecureAskSwarm` when `inner` is
 * `Secure` (checked at run time; the type follows).
 */
export function newAskSwarm<S extends Swarm<Addr>>(
  inner: S,
  opts?: AskSwarmOptions,
): AskSwarmOf<S> {
  const s = isSecure(inner)
    ? new SecureAskSwarm(inner as unknown as SecureSwarm<Addr, unknown>, opts)
    : new AskSwarm(inner, opts)
  return s as unknown as AskSwarmOf<S>
}

function int(n: number, name: string, min = 1): number {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${n}`)
  }
  return n
}
