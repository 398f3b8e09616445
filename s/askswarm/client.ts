/**
 * The asking side of an AskSwarm: request ids, bursts of request parts, retransmission with
 * RTT-adaptive backoff until the deadline, polls for missing response parts, reassembly of the
 * response, and the per-peer limit on asks in flight.
 *
 * One ask, as seen from here:
 * 1. The request (copied once) is split into parts of `inner.mtu(dst) - REQUEST_HEADER_SIZE`
 *    bytes. Up to `burstParts` parts not yet acknowledged are sent back to back, the last one
 *    flagged ACK_REQUESTED. A one-part request is never flagged: its answer is the response.
 * 2. The server answers a flagged part with an ACK: the parts it has (all below `base`, and
 *    a bitmap from there), or "complete" once it has them all. An ACK that acknowledges new parts sends the next burst
 *    at once (so large requests are clocked by ACKs, not by timers).
 * 3. The response comes in parts the same way; the last part of each burst is flagged, and
 *    if parts are missing then the caller sends a POLL with a bitmap of what it has. A POLL
 *    that asks for parts to be sent again is padded (with zero bytes after its bitmap, which
 *    mean nothing) to a third of their size: the server sends parts again only within 3× the
 *    bytes it receives from us (its anti-amplification budget, see `budget.ts`).
 * 4. A timer retransmits: unacknowledged request parts while the server has not confirmed the
 *    whole request, else a POLL. Its timeout is the peer's RTO (`rtt.ts`), doubled on each
 *    expiry and reset when a reply brings something new. No retransmission is sent after the
 *    deadline.
 * 5. The ask ends with the response, an ERROR (mapped to an error class), the deadline
 *    (`TimeoutError`), the caller's signal (its reason) or close (`ClosedError`). On deadline or
 *    abort a CANCEL is sent, best effort, so the server can abort the handler.
 *
 * RTT samples: every transmission (a burst or a POLL) gets a number `tx`; the server echoes
 * the number of the transmission it answers, with how long it held it (`holdMs`, the handler's
 * time). A sample is `now - sentAt(tx) - holdMs`. Karn's rule (RFC 6298 §3) asks that no
 * sample be taken from a reply that might answer another transmission than the one timed;
 * the echo makes the match exact, so a retransmission's reply is a valid sample (as with TCP
 * timestamps, RFC 7323 §4). What is left of the rule: a reply whose echo is not a recorded
 * transmission gives no sample, a transmission gives at most one sample (a duplicated reply
 * gives none), and the backed-off timeout of an ask stays until a reply brings progress.
 */
import { randomBytes } from 'node:crypto'
import {
  type Addr,
  AskError,
  BusyError,
  type Clock,
  type CloseOnce,
  type ClosedError,
  MTUExceededError,
  type Payload,
  ResponseTooLargeError,
  TimeoutError,
  UnreachableError,
  checkCall,
  payloadCopy,
  payloadSize,
} from '../../core/index.js'
import { DEFAULT_REPLY_FACTOR } from './budget.js'
import { Assembly, Bitset, partOf } from './reassembly.js'
import { type RttOptions, RttTable } from './rtt.js'
import {
  type AckFrame,
  type AskId,
  ErrorCode,
  type ErrorFrame,
  MAX_PARTS,
  MAX_UINT32,
  POLL_HEADER_SIZE,
  REQUEST_HEADER_SIZE,
  RESPONSE_HEADER_SIZE,
  type ResponseFrame,
  WireId,
  encodeCancel,
  encodePoll,
  encodeRequestHeader,
  partCount,
} from './wire.js'

/** Options of one ask (the `opts` of `AskSwarm.ask`). */
export interface AskOptions {
  /** Aborting rejects the ask with `signal.reason` (and tells the server, best effort). */
  signal?: AbortSignal
  /**
   * The ask's deadline, in ms from now: past it the ask rejects with `TimeoutError`. Default:
   * the swarm's `defaultTimeoutMs` without a signal, its `maxTimeoutMs` with one. Capped at
   * `maxTimeoutMs`. The remaining time travels with the request.
   */
  timeoutMs?: number
  /** Largest response accepted, in bytes (default and cap: the swarm's `maxAskSize`). */
  maxResponseSize?: number
}

/** Settings of the asking side, resolved by `AskSwarm`. */
export interface ClientSettings {
  readonly maxAskSize: number
  readonly defaultTimeoutMs: number
  readonly maxTimeoutMs: number
  readonly maxInFlightPerPeer: number
  readonly maxQueuedPerPeer: number
  readonly burstParts: number
  readonly rtt: RttOptions
  readonly maxPeers: number
  /** First session (tests only); random by default. */
  readonly session?: bigint
}

/** How the client reaches the network; provided by `AskSwarm`. */
export interface ClientLink<A extends Addr> {
  readonly clock: Clock
  readonly closer: CloseOnce
  /** Sends one inner message, fire and forget (failures are counted by the link). */
  send(dst: A, data: Payload): void
  /** The inner swarm's mtu for `dst`. */
  innerMtu(dst: A): number
}

/** Counters of the asking side. */
export interface ClientCounters {
  [name: string]: number
  /** Asks accepted by `ask()` (after argument checks). */
  started: number
  /** Asks resolved with a response. */
  succeeded: number
  /** Asks rejected by an error response from the server. */
  failed: number
  /** Asks rejected at their deadline (`TimeoutError`). */
  timedOut: number
  /** Asks rejected by the caller's signal. */
  aborted: number
  /** Asks refused at once because too many were queued for the peer (`BusyError`). */
  busy: number
  /** Asks rejected by close. */
  closed: number
  /** Bursts of request parts sent (first sends and retransmissions). */
  bursts: number
  /** Timer expiries that resent something (request parts or a poll). */
  retransmissions: number
  /** Request parts sent, first sends included. */
  requestParts: number
  /** Request parts sent again (after an ACK or a timeout showed them missing). */
  requestPartsResent: number
  /** POLLs sent. */
  polls: number
  /** CANCELs sent. */
  cancels: number
  /** Response parts stored. */
  responseParts: number
  /** Response parts received again (already stored). */
  duplicateResponseParts: number
  /** ACKs received for a live ask. */
  acks: number
  /** "Unknown id" ACKs: the server lost the request; it was sent again. */
  unknownReplies: number
  /** RTT samples taken. */
  rttSamples: number
}

/** Replies the client drops, by reason. */
export interface ClientDrops {
  [name: string]: number
  /** A reply for an id that is not a live ask of ours (unknown, finished or expired). */
  unknownId: number
  /** A reply for a live ask from another address than the one asked. */
  wrongSource: number
  /** A response part that disagrees with the ask (larger than accepted, or with earlier parts). */
  badResponsePart: number
}

type Phase = 'queued' | 'active' | 'settled'

/** How an ask ended (each is a counter). */
type Outcome = 'succeeded' | 'failed' | 'timedOut' | 'aborted' | 'busy' | 'closed'

/**
 * One ask in flight. A one-part request (most asks) keeps no bitsets, a one-part response no
 * reassembly, and the first transmission's send time no map: see the fields.
 */
class Outgoing<A extends Addr> {
  phase: Phase = 'queued'
  /** Request parts the server acknowledged: only for a request of several parts. */
  readonly acked: Bitset | undefined
  /** Request parts sent at least once: only for a request of several parts. */
  readonly sent: Bitset | undefined
  /** A one-part request was sent at least once. */
  sentOne = false
  /** The server confirmed the whole request (ACK complete, or a response part arrived). */
  serverHasAll = false
  /** The response being reassembled: only for a response of several parts. */
  response: Assembly | undefined
  /** Highest index of a response part stored (-1: none). */
  highestPart = -1
  /** Retransmissions since the last progress: the backoff exponent. */
  attempt = 0
  /** Transmissions so far (the next one's number, before it wraps to 16 bits). */
  tx = 0
  /** Send time of transmission 0 until it is sampled or displaced (undefined then). */
  firstSentAt: number | undefined
  /** Send times of the later recent transmissions by number; made at the second. */
  txTimes: Map<number, number> | undefined
  /**
   * The ask's one timer: the next retransmission, or the deadline when no retransmission is
   * due before it (`timerIsDeadline`).
   */
  cancelTimer: (() => void) | undefined
  timerIsDeadline = false
  /** The timer's callback, made once per ask. */
  onTimer: (() => void) | undefined
  removeAbort: (() => void) | undefined

  constructor(
    readonly id: WireId,
    readonly dst: A,
    readonly dstKey: string,
    readonly req: Uint8Array,
    readonly partLen: number,
    readonly count: number,
    readonly maxResponse: number,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly resolve: (res: Uint8Array) => void,
    readonly reject: (err: unknown) => void,
  ) {
    if (count > 1) {
      this.acked = new Bitset(count)
      this.sent = new Bitset(count)
    }
  }

  /** Every request part was acknowledged (a one-part request's only by the answer itself). */
  get allAcked(): boolean {
    return this.acked?.full ?? false
  }
}

interface PeerSlots<A extends Addr> {
  inFlight: number
  readonly queue: Outgoing<A>[]
}

/** A poll's report before any response part arrived. */
const NOTHING = { base: 0, bitmap: new Uint8Array(0) }

/** Transmissions whose send time is kept for RTT samples, per ask. */
const MAX_TIMED = 32

/** The asking side. */
export class AskClient<A extends Addr> {
  readonly #s: ClientSettings
  readonly #link: ClientLink<A>
  readonly #rtt: RttTable
  readonly #pending = new Map<number, Outgoing<A>>()
  readonly #peers = new Map<string, PeerSlots<A>>()
  #session = 0n
  /** The session's halves, as ids carry them. */
  #sessionHi = 0
  #sessionLo = 0
  #nextSeq = 0
  #lastSampled: string | undefined
  readonly #c: ClientCounters = {
    started: 0,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    busy: 0,
    closed: 0,
    bursts: 0,
    retransmissions: 0,
    requestParts: 0,
    requestPartsResent: 0,
    polls: 0,
    cancels: 0,
    responseParts: 0,
    duplicateResponseParts: 0,
    acks: 0,
    unknownReplies: 0,
    rttSamples: 0,
  }
  readonly #drops: ClientDrops = { unknownId: 0, wrongSource: 0, badResponsePart: 0 }

  constructor(settings: ClientSettings, link: ClientLink<A>) {
    this.#s = settings
    this.#link = link
    this.#rtt = new RttTable(settings.rtt, settings.maxPeers)
    this.#setSession(settings.session ?? randomSession())
  }

  /** The current session (random per AskSwarm; a new one after 2^32 asks). */
  get session(): bigint {
    return this.#session
  }

  /** The RTT estimate for `dst`, if any ask to it was answered. */
  rttOf(dstKey: string): { srttMs: number; rttvarMs: number; rtoMs: number } | undefined {
    const e = this.#rtt.peek(dstKey)
    if (e === undefined || e.srtt === undefined) return undefined
    return { srttMs: e.srtt, rttvarMs: e.rttvar, rtoMs: e.rto }
  }

  /** See `AskSwarm.ask`. */
  ask(dst: A, payload: Payload, opts: AskOptions = {}): Promise<Uint8Array> {
    let plan: { partLen: number; count: number; timeoutMs: number; maxResponse: number }
    try {
      plan = this.#plan(dst, payload, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    const { partLen, count, timeoutMs, maxResponse } = plan
    const s = this.#s
    const req = payloadCopy(payload)
    const id = this.#takeId()
    const dstKey = dst.toString()
    const now = this.#link.clock.now()
    this.#c.started++
    return new Promise<Uint8Array>((resolve, reject) => {
      const o = new Outgoing<A>(
        id,
        dst,
        dstKey,
        req,
        partLen,
        count,
        maxResponse,
        now + timeoutMs,
        timeoutMs,
        resolve,
        reject,
      )
      this.#pending.set(id.seq, o)
      const signal = opts.signal
      if (signal !== undefined) {
        const onAbort = () => this.#finish(o, signal.reason, 'aborted')
        signal.addEventListener('abort', onAbort, { once: true })
        o.removeAbort = () => signal.removeEventListener('abort', onAbort)
      }
      let peer = this.#peers.get(dstKey)
      if (peer === undefined) {
        peer = { inFlight: 0, queue: [] }
        this.#peers.set(dstKey, peer)
      }
      if (peer.inFlight < s.maxInFlightPerPeer) {
        this.#start(o, peer)
      } else if (peer.queue.length < s.maxQueuedPerPeer) {
        // Waiting for a slot: the timer is the deadline until the ask starts.
        peer.queue.push(o)
        this.#armTimer(o)
      } else {
        this.#finish(
          o,
          new BusyError(
            `${s.maxInFlightPerPeer} asks to ${dstKey} are in flight and ${s.maxQueuedPerPeer} queued`,
          ),
          'busy',
        )
      }
    })
  }

  /** A response part arrived from `src`. */
  onResponse(src: A, f: ResponseFrame): void {
    const o = this.#lookup(src, f.id)
    if (o === undefined) return
    this.#sample(o, f.echo, f.holdMs)
    if (o.response === undefined) {
      const len = Assembly.check(f, f.data.length, o.maxResponse)
      if (len === undefined) {
        this.#drops.badResponsePart++
        return
      }
      if (f.count === 1) {
        // The whole response in one part. Its bytes are a view into the inner message, which
        // is ours alone (an inner swarm's receiver owns each payload): the caller gets them.
        this.#c.responseParts++
        this.#finish(o, f.data, 'succeeded')
        return
      }
      o.response = new Assembly(f.total, f.count, len)
    }
    const r = o.response.add(f, f.data)
    if (r === 'inconsistent') {
      this.#drops.badResponsePart++
      return
    }
    if (r === 'duplicate') {
      this.#c.duplicateResponseParts++
    } else {
      this.#c.responseParts++
      if (f.index > o.highestPart) o.highestPart = f.index
      if (r === 'complete') {
        this.#finish(o, o.response.take(), 'succeeded')
        return
      }
      this.#progress(o)
    }
    o.serverHasAll = true
    if (f.ackRequested) {
      this.#sendPoll(o, false)
      this.#armTimer(o)
    }
  }

  /** An error response arrived from `src`. */
  onError(src: A, f: ErrorFrame): void {
    const o = this.#lookup(src, f.id)
    if (o === undefined) return
    this.#sample(o, f.echo, f.holdMs)
    this.#finish(o, errorFor(f, o), 'failed')
  }

  /** An ACK arrived from `src`. */
  onAck(src: A, f: AckFrame): void {
    const o = this.#lookup(src, f.id)
    if (o === undefined) return
    this.#c.acks++
    this.#sample(o, f.echo, f.holdMs)
    if (f.unknown) {
      // Only sent in reply to a POLL, which we send once the server had the request: it lost
      // it (a restart, or its cache forgot it). Start over; see README on at-most-once.
      this.#c.unknownReplies++
      o.acked?.clear()
      o.serverHasAll = false
      o.response = undefined
      o.highestPart = -1
      this.#sendBurst(o)
      this.#armTimer(o)
      return
    }
    if (f.complete) {
      if (!o.serverHasAll) {
        o.serverHasAll = true
        this.#progress(o)
      }
      return
    }
    // A one-part request is answered, never acknowledged part by part: such an ACK says nothing.
    if (o.acked === undefined || o.serverHasAll || o.acked.merge(f.bitmap, f.base) === 0) return
    this.#progress(o)
    if (!o.acked.full) this.#sendBurst(o)
  }

  /**
   * First step of closing: stops every timer and sends a CANCEL for each active ask (best
   * effort). The asks stay pending until `close`.
   */
  shutdown(): void {
    for (const o of this.#pending.values()) {
      o.cancelTimer?.()
      o.cancelTimer = undefined
      if (o.phase === 'active') this.#sendCancel(o)
    }
  }

  /** Last step of closing: rejects every pending ask with `err`. */
  close(err: ClosedError): void {
    for (const o of [...this.#pending.values()]) this.#finish(o, err, 'closed')
    this.#peers.clear()
    this.#rtt.clear()
  }

  /** Asks active now (sent, not finished). */
  get inFlight(): number {
    let n = 0
    for (const o of this.#pending.values()) if (o.phase === 'active') n++
    return n
  }

  /** Counters, drops and the RTT estimate of the peer sampled last. */
  stats(): {
    counters: ClientCounters
    drops: ClientDrops
    rtt: { [name: string]: number }
    inFlight: number
    queued: number
  } {
    const last = this.#lastSampled === undefined ? undefined : this.rttOf(this.#lastSampled)
    const inFlight = this.inFlight
    return {
      counters: { ...this.#c },
      drops: { ...this.#drops },
      rtt: {
        peers: this.#rtt.size,
        srttMs: last?.srttMs ?? 0,
        rttvarMs: last?.rttvarMs ?? 0,
        rtoMs: last?.rtoMs ?? this.#rtt.options.initialRtoMs,
      },
      inFlight,
      queued: this.#pending.size - inFlight,
    }
  }

  /** Checks an ask's arguments; throws what `ask` rejects with. */
  #plan(
    dst: A,
    payload: Payload,
    opts: AskOptions,
  ): { partLen: number; count: number; timeoutMs: number; maxResponse: number } {
    checkCall(this.#link.closer, opts)
    const s = this.#s
    const timeoutMs = Math.min(
      opts.timeoutMs ?? (opts.signal === undefined ? s.defaultTimeoutMs : s.maxTimeoutMs),
      s.maxTimeoutMs,
    )
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${opts.timeoutMs}`)
    const maxResponse = opts.maxResponseSize ?? s.maxAskSize
    if (!Number.isSafeInteger(maxResponse) || maxResponse < 0 || maxResponse > s.maxAskSize) {
      throw new RangeError(
        `maxResponseSize must be an integer in 0..${s.maxAskSize}, got ${opts.maxResponseSize}`,
      )
    }
    const size = payloadSize(payload)
    if (size > s.maxAskSize)
      throw new MTUExceededError(size, s.maxAskSize, 'larger than maxAskSize')
    const innerMtu = this.#link.innerMtu(dst)
    const partLen = innerMtu - REQUEST_HEADER_SIZE
    if (partLen < 1) {
      throw new MTUExceededError(
        size,
        0,
        `the inner mtu ${innerMtu} leaves no room for a request part`,
      )
    }
    const count = partCount(size, partLen)
    if (count > MAX_PARTS) {
      throw new MTUExceededError(size, MAX_PARTS * partLen, `more than ${MAX_PARTS} parts`)
    }
    return { partLen, count, timeoutMs, maxResponse }
  }

  #setSession(session: bigint): void {
    const w = WireId.of({ session, seq: 0 })
    this.#session = session
    this.#sessionHi = w.hi
    this.#sessionLo = w.lo
  }

  #takeId(): WireId {
    if (this.#nextSeq > MAX_UINT32) {
      // A fresh session keeps ids unique: (session, seq) never repeats.
      this.#setSession(randomSession())
      this.#nextSeq = 0
    }
    return new WireId(this.#sessionHi, this.#sessionLo, this.#nextSeq++)
  }

  #lookup(src: A, id: AskId): Outgoing<A> | undefined {
    const o = this.#pending.get(id.seq)
    if (o === undefined || !o.id.sameSession(id) || o.phase !== 'active') {
      this.#drops.unknownId++
      return undefined
    }
    if (src.toString() !== o.dstKey) {
      this.#drops.wrongSource++
      return undefined
    }
    return o
  }

  #start(o: Outgoing<A>, peer: PeerSlots<A>): void {
    o.phase = 'active'
    peer.inFlight++
    this.#sendBurst(o)
    this.#armTimer(o)
  }

  /** Sends up to `burstParts` parts not yet acknowledged; flags the last when there are several. */
  #sendBurst(o: Outgoing<A>): void {
    if (o.acked === undefined) {
      // One part: the whole request, never flagged (its answer is the response).
      this.#c.bursts++
      this.#sendPart(o, this.#nextTx(o), this.#wireTimeout(o), 0, false)
      if (o.sentOne) this.#c.requestPartsResent++
      o.sentOne = true
      return
    }
    const parts = o.acked.missing(this.#s.burstParts)
    if (parts.length === 0) return
    const tx = this.#nextTx(o)
    const timeoutMs = this.#wireTimeout(o)
    this.#c.bursts++
    for (const [k, index] of parts.entries()) {
      this.#sendPart(o, tx, timeoutMs, index, k === parts.length - 1)
      if (!o.sent!.add(index)) this.#c.requestPartsResent++
    }
  }

  /** The ask's remaining time as request parts carry it. */
  #wireTimeout(o: Outgoing<A>): number {
    return Math.max(1, Math.min(MAX_UINT32, Math.ceil(o.deadline - this.#link.clock.now())))
  }

  /** Sends request part `index` as part of transmission `tx`. */
  #sendPart(
    o: Outgoing<A>,
    tx: number,
    timeoutMs: number,
    index: number,
    ackRequested: boolean,
  ): void {
    const header = encodeRequestHeader({
      id: o.id,
      ackRequested,
      tx,
      timeoutMs,
      maxResponse: o.maxResponse,
      total: o.req.length,
      index,
      count: o.count,
    })
    this.#c.requestParts++
    this.#link.send(o.dst, [header, o.count === 1 ? o.req : partOf(o.req, o.partLen, index)])
  }

  /**
   * Sends a POLL: what we have of the response. When it asks for parts to be sent again, its
   * bitmap is padded with zero bytes (parts past the bitmap's last set bit are missing anyway)
   * so the server's reply budget covers them: a third of their bytes, up to the mtu. Lost are
   * the parts below the highest one received, and after a timeout (`fromTimer`) every missing
   * part, up to a burst.
   */
  #sendPoll(o: Outgoing<A>, fromTimer: boolean): void {
    const room = Math.max(0, this.#link.innerMtu(o.dst) - POLL_HEADER_SIZE)
    const r = o.response
    let { base, bitmap } = r?.received.encode(room) ?? NOTHING
    if (r !== undefined) {
      const have = r.received.count
      const lost = fromTimer
        ? Math.min(r.count - have, this.#s.burstParts)
        : Math.max(0, o.highestPart + 1 - have)
      const want = Math.ceil((lost * (r.partLen + RESPONSE_HEADER_SIZE)) / DEFAULT_REPLY_FACTOR)
      const size = Math.min(room, want)
      if (size > bitmap.length) {
        const padded = new Uint8Array(size)
        padded.set(bitmap)
        bitmap = padded
      }
    }
    this.#c.polls++
    this.#link.send(o.dst, encodePoll({ id: o.id, tx: this.#nextTx(o), base, bitmap }))
  }

  #sendCancel(o: Outgoing<A>): void {
    this.#c.cancels++
    this.#link.send(o.dst, encodeCancel(o.id))
  }

  /**
   * Numbers a transmission and records its send time. At most `MAX_TIMED` recent ones are
   * kept, the oldest dropped first; a number reused (after 65536) replaces the old record.
   */
  #nextTx(o: Outgoing<A>): number {
    const tx = o.tx & 0xffff
    const now = this.#link.clock.now()
    if (o.tx++ === 0) {
      o.firstSentAt = now
      return tx
    }
    // The first transmission is the oldest: displaced first, and by a reuse of its number.
    if (tx === 0) o.firstSentAt = undefined
    const times = (o.txTimes ??= new Map())
    times.delete(tx)
    times.set(tx, now)
    if (times.size + (o.firstSentAt === undefined ? 0 : 1) > MAX_TIMED) {
      if (o.firstSentAt !== undefined) o.firstSentAt = undefined
      else times.delete(times.keys().next().value as number)
    }
    return tx
  }

  #sample(o: Outgoing<A>, echo: number, holdMs: number): void {
    let sentAt: number | undefined
    if (echo === 0 && o.firstSentAt !== undefined) {
      sentAt = o.firstSentAt
      o.firstSentAt = undefined
    } else {
      sentAt = o.txTimes?.get(echo)
      if (sentAt === undefined) return
      o.txTimes!.delete(echo)
    }
    const r = Math.max(0, this.#link.clock.now() - sentAt - holdMs)
    this.#rtt.get(o.dstKey).sample(r)
    this.#lastSampled = o.dstKey
    this.#c.rttSamples++
  }

  /** Something new arrived: the backoff starts again from the (updated) RTO. */
  #progress(o: Outgoing<A>): void {
    o.attempt = 0
    this.#armTimer(o)
  }

  /**
   * (Re)sets the ask's one timer: for an active ask the next retransmission (the RTO backed
   * off by the attempts since the last progress), unless that is not before the deadline; else
   * (and for a queued ask) the deadline. Nothing is sent after the deadline.
   */
  #armTimer(o: Outgoing<A>): void {
    o.cancelTimer?.()
    o.cancelTimer = undefined
    if (o.phase === 'settled') return
    const clock = this.#link.clock
    const now = clock.now()
    let wait = o.deadline - now
    o.timerIsDeadline = true
    if (o.phase === 'active') {
      const rto = this.#rtt.get(o.dstKey).backoff(o.attempt)
      if (now + rto < o.deadline) {
        wait = rto
        o.timerIsDeadline = false
      }
    }
    o.onTimer ??= () => this.#onTimer(o)
    o.cancelTimer = clock.setTimeout(o.onTimer, wait)
  }

  #onTimer(o: Outgoing<A>): void {
    o.cancelTimer = undefined
    if (o.timerIsDeadline) {
      const err = new TimeoutError(`ask to ${o.dstKey} got no answer within ${o.timeoutMs} ms`)
      this.#finish(o, err, 'timedOut')
    } else {
      this.#retransmit(o)
    }
  }

  #retransmit(o: Outgoing<A>): void {
    if (o.phase !== 'active') return
    o.attempt++
    this.#c.retransmissions++
    // Every part acknowledged but no "complete" yet (its ACK was lost): ask where things stand.
    if (!o.serverHasAll && !o.allAcked) this.#sendBurst(o)
    else this.#sendPoll(o, true)
    this.#armTimer(o)
  }

  #finish(o: Outgoing<A>, outcome: Uint8Array | unknown, how: Outcome): void {
    if (o.phase === 'settled') return
    const wasActive = o.phase === 'active'
    o.phase = 'settled'
    o.cancelTimer?.()
    o.cancelTimer = undefined
    o.removeAbort?.()
    this.#pending.delete(o.id.seq)
    this.#c[how]++
    const peer = this.#peers.get(o.dstKey)
    if (peer !== undefined) {
      if (wasActive) {
        peer.inFlight--
        // Hand the slot to the next queued ask (settled ones have left the queue).
        const next = this.#link.closer.closed ? undefined : peer.queue.shift()
        if (next !== undefined) this.#start(next, peer)
      } else {
        const i = peer.queue.indexOf(o)
        if (i >= 0) peer.queue.splice(i, 1)
      }
      if (peer.inFlight === 0 && peer.queue.length === 0) this.#peers.delete(o.dstKey)
    }
    if (wasActive && (how === 'timedOut' || how === 'aborted')) this.#sendCancel(o)
    if (how === 'succeeded') o.resolve(outcome as Uint8Array)
    else o.reject(outcome)
  }
}

/** The error an ERROR frame stands for. */
function errorFor<A extends Addr>(f: ErrorFrame, o: Outgoing<A>): Error {
  switch (f.code) {
    case ErrorCode.HANDLER:
      return new AskError(f.reason)
    case ErrorCode.RESPONSE_TOO_LARGE:
      return new ResponseTooLargeError(f.size, f.limit)
    case ErrorCode.REQUEST_TOO_LARGE:
      return new MTUExceededError(
        f.size,
        f.limit,
        `${o.dstKey} accepts requests of at most ${f.limit} bytes`,
      )
    case ErrorCode.BUSY:
      return new BusyError(`${o.dstKey} is busy: ${f.reason}`)
    case ErrorCode.EXPIRED:
      return new TimeoutError(`${o.dstKey}: ${f.reason}`)
    case ErrorCode.UNAVAILABLE:
      return new UnreachableError(o.dstKey, { message: `${o.dstKey} is closing: ${f.reason}` })
    default:
      return new AskError(f.reason)
  }
}

function randomSession(): bigint {
  return randomBytes(8).readBigUInt64BE(0)
}
