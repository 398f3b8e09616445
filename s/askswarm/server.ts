/**
 * The serving side of an AskSwarm: reassembles requests under budgets, runs each request at
 * most once (see `cache.ts`), answers retransmissions from the cache, carries the caller's
 * deadline into the handler's signal, and sends responses in ACK-clocked bursts.
 *
 * Replies: a request part gets a reply only when it is a whole one-part request or carries
 * ACK_REQUESTED (the last part of a burst), so a retransmitted burst costs one reply, not one
 * per part. The reply depends on what the server knows of the request:
 * - incomplete: an ACK with the bitmap of parts received;
 * - queued or in a handler: an ACK "complete" (the handler is not run again);
 * - answered: the cached answer again (the first burst of the response, or the ERROR);
 * - a tombstone: ERROR ANSWER_LOST if the answer was evicted, nothing if the ask was cancelled
 *   or its deadline passed.
 * A POLL gets the missing response parts (a burst), or the ACK/ERROR above, or an ACK
 * "unknown" when the server knows nothing of the id.
 */
import {
  type Addr,
  type AskHandler,
  type CallOptions,
  type Clock,
  type CloseOnce,
  type ClosedError,
  type Inbox,
  type IncomingAsk,
  type Message,
  type Payload,
  TimeoutError,
  checkCall,
  errorReason,
  hasErrorCode,
  ErrorCodes,
  isClosedError,
  isTimeoutError,
  newAskInbox,
  payloadCopy,
  payloadSize,
  serveOne,
} from '../../core/index.js'
import {
  type Answer,
  type BudgetRefusal,
  type Entry,
  type ErrorAnswer,
  RequestTable,
  type TableLimits,
} from './cache.js'
import { Assembly, Bitset, partOf } from './reassembly.js'
import {
  ACK_HEADER_SIZE,
  type AskId,
  type CancelFrame,
  ErrorCode,
  MAX_PARTS,
  MAX_REASON_BYTES,
  type PollFrame,
  RESPONSE_HEADER_SIZE,
  type RequestFrame,
  encodeAck,
  encodeError,
  encodeResponseHeader,
  idKey,
  partCount,
} from './wire.js'

/** Settings of the serving side, resolved by `AskSwarm`. */
export interface ServerSettings {
  readonly maxAskSize: number
  readonly maxTimeoutMs: number
  readonly burstParts: number
  readonly limits: TableLimits
  readonly incompleteIdleMs: number
  readonly answerSlackMs: number
  readonly sweepMs: number
  readonly askInboxItems: number
  readonly askInboxBytes: number
}

/** How the server reaches the network; provided by `AskSwarm`. */
export interface ServerLink<A extends Addr> {
  readonly clock: Clock
  readonly closer: CloseOnce
  send(dst: A, data: Payload): void
  innerMtu(dst: A): number
}

/** Counters of the serving side. */
export interface ServerCounters {
  [name: string]: number
  /** Whole requests accepted for handling (each at most once). */
  accepted: number
  /** Requests answered with a response. */
  responded: number
  /** Requests answered with an error (handler throw, too large, busy, expired). */
  failed: number
  /** Retransmitted requests or polls answered from the cache, without running the handler. */
  answeredFromCache: number
  /** Retransmitted requests or polls for a request still queued or in its handler. */
  duplicatesWhileHandling: number
  /** Handlers whose signal aborted because the caller's deadline passed. */
  deadlinesPassed: number
  /** Handlers whose signal aborted because the caller cancelled. */
  cancelled: number
  /** Answers not sent because the deadline passed, the caller cancelled or the swarm closed. */
  answersSuppressed: number
  /** ACKs sent. */
  acks: number
  /** Response parts sent. */
  responseParts: number
  /** POLLs received. */
  polls: number
}

/** Requests and polls the server drops, by reason. */
export interface ServerDrops {
  [name: string]: number
  /** Larger than `maxAskSize` (answered with REQUEST_TOO_LARGE when it asks for a reply). */
  requestTooLarge: number
  /** A part that disagrees with the first part of its request. */
  badRequestPart: number
  /** A part of an incomplete request that arrived before. */
  duplicateRequestPart: number
  /** A request whose remaining time was 0. */
  noTimeLeft: number
  /** Over the incomplete-request budget of its source. */
  incompletePerSource: number
  /** Over the total incomplete-request budget. */
  incompleteTotal: number
  /** Over the per-source limit on requests being handled. */
  handlingPerSource: number
  /** Over the total limit on requests being handled. */
  handlingTotal: number
  /** For a request whose deadline passed or that was cancelled (a tombstone). */
  late: number
}

/** A request queued for or inside a handler: the `IncomingAsk` the ask inbox holds. */
class Incoming<A extends Addr> implements IncomingAsk<A> {
  readonly req: Message<A>
  /** Answered, or no longer wanted (deadline, cancel, close). */
  #done = false
  /** The handler settled (respond/fail called). */
  #settled = false
  #controller: AbortController | undefined
  #deadReason: unknown
  cancelDeadline: (() => void) | undefined
  lastTx: number
  lastTxAt: number

  constructor(
    readonly server: AskServer<A>,
    req: Message<A>,
    readonly key: string,
    readonly srcKey: string,
    readonly id: AskId,
    readonly maxResponse: number,
    tx: number,
    txAt: number,
  ) {
    this.req = req
    this.lastTx = tx
    this.lastTxAt = txAt
  }

  get done(): boolean {
    return this.#done
  }

  /** Created on first use: most handlers never look at it. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#deadReason !== undefined) this.#controller.abort(this.#deadReason)
    }
    return this.#controller.signal
  }

  /** Nobody waits for the answer any more: abort the handler's signal with `reason`. */
  kill(reason: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#deadReason = reason
    this.#controller?.abort(reason)
  }

  respond(res: Payload): void {
    if (!this.#settle()) return
    this.server.answer(this, { res })
  }

  fail(err: unknown): void {
    if (!this.#settle()) return
    this.server.answer(this, { err })
  }

  /** The handler settled: true the first time. Marks it done (the answer is being sent). */
  #settle(): boolean {
    if (this.#settled) return false
    this.#settled = true
    this.cancelDeadline?.()
    this.server.release(this)
    if (this.#done) {
      this.server.suppressed()
      return false
    }
    this.#done = true
    return true
  }
}

/** The serving side. */
export class AskServer<A extends Addr> {
  readonly #s: ServerSettings
  readonly #link: ServerLink<A>
  readonly #table: RequestTable<Incoming<A>>
  readonly #inbox: Inbox<IncomingAsk<A>>
  #cancelSweep: (() => void) | undefined
  readonly #c: ServerCounters = {
    accepted: 0,
    responded: 0,
    failed: 0,
    answeredFromCache: 0,
    duplicatesWhileHandling: 0,
    deadlinesPassed: 0,
    cancelled: 0,
    answersSuppressed: 0,
    acks: 0,
    responseParts: 0,
    polls: 0,
  }
  readonly #drops: ServerDrops = {
    requestTooLarge: 0,
    badRequestPart: 0,
    duplicateRequestPart: 0,
    noTimeLeft: 0,
    incompletePerSource: 0,
    incompleteTotal: 0,
    handlingPerSource: 0,
    handlingTotal: 0,
    late: 0,
  }

  constructor(settings: ServerSettings, link: ServerLink<A>) {
    this.#s = settings
    this.#link = link
    this.#table = new RequestTable(settings.limits, settings.incompleteIdleMs)
    this.#inbox = newAskInbox<A>({
      maxItems: settings.askInboxItems,
      maxBytes: settings.askInboxBytes,
      clock: link.clock,
    })
  }

  /** See `AskSwarm.serveAsk`. */
  serveAsk(handler: AskHandler<A>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.#link.closer, opts)
      if (typeof handler !== 'function') throw new TypeError('handler must be a function')
    } catch (err) {
      return Promise.reject(err)
    }
    return serveOne(this.#inbox, handler, opts)
  }

  /** A request part arrived (the message is ours: its payload is not copied). */
  onRequest(msg: Message<A>, f: RequestFrame): void {
    const now = this.#link.clock.now()
    const srcKey = msg.src.toString()
    const key = `${idKey(f.id)} ${srcKey}`
    const wantsReply = f.ackRequested || f.count === 1
    const e = this.#table.get(key, now)
    if (e !== undefined && e.state !== 'receiving') {
      this.#onKnown(msg.src, f.id, e, f.tx, wantsReply, undefined)
      return
    }
    if (e === undefined) {
      if (f.total > this.#s.maxAskSize) {
        this.#drops.requestTooLarge++
        if (wantsReply) {
          this.#sendError(msg.src, f.id, f.tx, 0, {
            kind: 'error',
            code: ErrorCode.REQUEST_TOO_LARGE,
            size: f.total,
            limit: this.#s.maxAskSize,
            reason: `request of ${f.total} bytes exceeds the limit of ${this.#s.maxAskSize}`,
          })
        }
        return
      }
      const timeoutMs = Math.min(f.timeoutMs, this.#s.maxTimeoutMs)
      if (timeoutMs <= 0) {
        this.#drops.noTimeLeft++
        return
      }
      if (f.count === 1) {
        this.#startHandling(msg, key, srcKey, f, f.data, timeoutMs, f.maxResponse, now)
        return
      }
      // Every field was checked by the parser and against maxAskSize: only now is memory taken.
      const partLen = Assembly.check(f, f.data.length, this.#s.maxAskSize)
      const refusal =
        partLen === undefined ? undefined : this.#table.refuseIncomplete(srcKey, f.total)
      if (partLen === undefined || refusal !== undefined) {
        this.#refused(refusal ?? 'incompleteTotal')
        return
      }
      const assembly = new Assembly(f.total, f.count, partLen)
      assembly.add(f, f.data)
      this.#table.addReceiving(key, {
        state: 'receiving',
        src: srcKey,
        assembly,
        timeoutMs,
        maxResponse: f.maxResponse,
        firstAt: now,
        lastAt: now,
      })
      this.#armSweep()
      if (f.ackRequested) this.#sendAck(msg.src, f.id, f.tx, 0, assembly.received)
      return
    }
    // An incomplete request: add the part.
    const r = e
    const res = r.assembly.add(f, f.data)
    if (res === 'inconsistent') {
      this.#drops.badRequestPart++
      return
    }
    r.lastAt = now
    if (res === 'duplicate') this.#drops.duplicateRequestPart++
    if (res === 'complete') {
      const started = this.#startHandling(
        msg,
        key,
        srcKey,
        f,
        r.assembly.take(),
        r.timeoutMs - (now - r.firstAt),
        r.maxResponse,
        now,
      )
      if (!started) this.#table.dropIncomplete(key)
      else if (f.ackRequested) this.#sendAck(msg.src, f.id, f.tx, 0, undefined)
      return
    }
    if (f.ackRequested) this.#sendAck(msg.src, f.id, f.tx, 0, r.assembly.received)
  }

  /** A POLL arrived. */
  onPoll(msg: Message<A>, f: PollFrame): void {
    this.#c.polls++
    const now = this.#link.clock.now()
    const key = `${idKey(f.id)} ${msg.src.toString()}`
    const e = this.#table.get(key, now)
    if (e === undefined) {
      this.#c.acks++
      this.#link.send(
        msg.src,
        encodeAck({
          id: f.id,
          echo: f.tx,
          holdMs: 0,
          complete: false,
          unknown: true,
          base: 0,
          bitmap: new Uint8Array(0),
        }),
      )
      return
    }
    if (e.state === 'receiving') {
      this.#sendAck(msg.src, f.id, f.tx, 0, e.assembly.received)
      return
    }
    this.#onKnown(msg.src, f.id, e, f.tx, true, f)
  }

  /** A CANCEL arrived: the caller gave up. */
  onCancel(msg: Message<A>, f: CancelFrame): void {
    const now = this.#link.clock.now()
    const key = `${idKey(f.id)} ${msg.src.toString()}`
    const e = this.#table.get(key, now)
    if (e === undefined) return
    if (e.state === 'receiving') {
      this.#table.dropIncomplete(key)
      return
    }
    if (e.state === 'running') {
      this.#c.cancelled++
      e.handle.kill(new DOMException(`${msg.src} cancelled the ask`, 'AbortError'))
    }
    if (e.state !== 'gone') this.#table.forget(key, 'cancelled')
  }

  /** @internal Called by an `Incoming` when its handler settled: frees its handling budget. */
  release(inc: Incoming<A>): void {
    this.#table.releaseHandling(inc.srcKey, inc.req.payload.length)
  }

  /** @internal An answer nobody waits for any more was not sent. */
  suppressed(): void {
    this.#c.answersSuppressed++
  }

  /** @internal Called once by an `Incoming` with its handler's result: caches and sends it. */
  answer(inc: Incoming<A>, out: { res: Payload } | { err: unknown }): void {
    const now = this.#link.clock.now()
    const answer = 'res' in out ? this.#responseAnswer(inc, out.res) : this.#errorAnswer(out.err)
    if (answer.kind === 'response') this.#c.responded++
    else this.#c.failed++
    if (this.#link.closer.closed) {
      // Closing: say so (best effort), keep nothing.
      this.#sendAnswer(inc.req.src, inc.id, answer, inc.lastTx, now - inc.lastTxAt, undefined)
      return
    }
    this.#table.finish(inc.key, answer, now)
    this.#armSweep()
    this.#sendAnswer(inc.req.src, inc.id, answer, inc.lastTx, now - inc.lastTxAt, undefined)
  }

  /** Memory held, counters and drops. */
  stats(): {
    counters: ServerCounters
    drops: ServerDrops
    memory: { [name: string]: number }
    askInbox: { [name: string]: number }
  } {
    return {
      counters: { ...this.#c },
      drops: { ...this.#drops },
      memory: { ...this.#table.usage(), ...this.#table.counters() },
      askInbox: this.#inbox.stats(),
    }
  }

  /**
   * First step of closing: stops the sweep, tells the callers of queued and running requests
   * that the server is closing (best effort) and aborts the handlers' signals with
   * `ClosedError`. Their answers are then not sent.
   */
  shutdown(err: ClosedError): void {
    this.#cancelSweep?.()
    this.#cancelSweep = undefined
    for (const inc of this.#table.runningHandles()) {
      inc.cancelDeadline?.()
      inc.cancelDeadline = undefined
      if (inc.done) continue
      this.#sendError(inc.req.src, inc.id, inc.lastTx, 0, this.#errorAnswer(err))
      inc.kill(err)
    }
  }

  /** Last step of closing: rejects waiting `serveAsk` calls with `err` and frees all state. */
  close(err: ClosedError): void {
    this.#inbox.close(err)
    this.#table.clear()
  }

  #onKnown(
    src: A,
    id: AskId,
    e: Exclude<Entry<Incoming<A>>, { state: 'receiving' }>,
    tx: number,
    wantsReply: boolean,
    have: { base: number; bitmap: Uint8Array } | undefined,
  ): void {
    switch (e.state) {
      case 'running': {
        this.#c.duplicatesWhileHandling++
        e.handle.lastTx = tx
        e.handle.lastTxAt = this.#link.clock.now()
        if (wantsReply) this.#sendAck(src, id, tx, 0, undefined)
        return
      }
      case 'done': {
        if (!wantsReply) return
        this.#c.answeredFromCache++
        this.#sendAnswer(src, id, e.answer, tx, 0, have)
        return
      }
      case 'gone': {
        if (e.why !== 'evicted') {
          this.#drops.late++
          return
        }
        if (wantsReply) {
          this.#sendError(src, id, tx, 0, {
            kind: 'error',
            code: ErrorCode.ANSWER_LOST,
            size: 0,
            limit: 0,
            reason:
              'the handler ran, but its answer was evicted from the server cache before it was delivered',
          })
        }
        return
      }
      default:
        return
    }
  }

  #startHandling(
    msg: Message<A>,
    key: string,
    srcKey: string,
    f: RequestFrame,
    payload: Uint8Array,
    timeoutMs: number,
    maxResponse: number,
    now: number,
  ): boolean {
    if (timeoutMs <= 0) {
      this.#drops.noTimeLeft++
      return false
    }
    const refusal = this.#table.refuseHandling(srcKey, payload.length)
    if (refusal !== undefined) {
      this.#refused(refusal)
      return false
    }
    const req: Message<A> = { src: msg.src, dst: msg.dst, payload }
    const inc = new Incoming(this, req, key, srcKey, f.id, maxResponse, f.tx, now)
    // Answers are kept until the caller's deadline (which is never later than ours) plus slack.
    const deadline = now + timeoutMs
    this.#table.startRunning(key, srcKey, payload.length, inc, deadline + this.#s.answerSlackMs)
    inc.cancelDeadline = this.#link.clock.setTimeout(() => {
      inc.cancelDeadline = undefined
      if (inc.done) return
      this.#c.deadlinesPassed++
      inc.kill(new TimeoutError('the deadline of the ask passed'))
      this.#table.forget(key, 'late')
      this.#armSweep()
    }, timeoutMs)
    this.#c.accepted++
    this.#inbox.put(inc)
    return true
  }

  #responseAnswer(inc: Incoming<A>, res: Payload): Answer {
    const size = payloadSize(res)
    const limit = Math.min(inc.maxResponse, this.#s.maxAskSize)
    const partLen = this.#link.innerMtu(inc.req.src) - RESPONSE_HEADER_SIZE
    const fits = partLen >= 1 ? Math.min(limit, MAX_PARTS * partLen) : 0
    if (size > fits) {
      return {
        kind: 'error',
        code: ErrorCode.RESPONSE_TOO_LARGE,
        size,
        limit: fits,
        reason: `response of ${size} bytes exceeds the limit of ${fits} bytes`,
      }
    }
    return { kind: 'response', data: payloadCopy(res), partLen: Math.max(1, partLen) }
  }

  #errorAnswer(err: unknown): ErrorAnswer {
    let code: number = ErrorCode.HANDLER
    if (isClosedError(err) && this.#link.closer.closed) code = ErrorCode.UNAVAILABLE
    else if (hasErrorCode(err, ErrorCodes.BUSY)) code = ErrorCode.BUSY
    else if (isTimeoutError(err)) code = ErrorCode.EXPIRED
    return { kind: 'error', code, size: 0, limit: 0, reason: errorReason(err, MAX_REASON_BYTES) }
  }

  /**
   * Sends an answer: the ERROR, or a burst of response parts: the parts `have` (a POLL's
   * bitmap) lacks, else the first ones. The last part of a multi-part burst is flagged.
   */
  #sendAnswer(
    dst: A,
    id: AskId,
    answer: Answer,
    echo: number,
    holdMs: number,
    have: { base: number; bitmap: Uint8Array } | undefined,
  ): void {
    if (answer.kind === 'error') {
      this.#sendError(dst, id, echo, holdMs, answer)
      return
    }
    const { data, partLen } = answer
    const count = partCount(data.length, partLen)
    const got = new Bitset(count)
    if (have !== undefined) got.merge(have.bitmap, have.base)
    const parts = got.missing(this.#s.burstParts)
    for (const [k, index] of parts.entries()) {
      const header = encodeResponseHeader({
        id,
        ackRequested: count > 1 && k === parts.length - 1,
        echo,
        holdMs,
        total: data.length,
        index,
        count,
      })
      this.#c.responseParts++
      this.#link.send(dst, [header, partOf(data, partLen, index)])
    }
  }

  #sendError(dst: A, id: AskId, echo: number, holdMs: number, e: ErrorAnswer): void {
    this.#link.send(
      dst,
      encodeError({
        id,
        echo,
        holdMs,
        code: e.code,
        size: e.size,
        limit: e.limit,
        reason: e.reason,
      }),
    )
  }

  #sendAck(dst: A, id: AskId, echo: number, holdMs: number, received: Bitset | undefined): void {
    this.#c.acks++
    const room = this.#link.innerMtu(dst) - ACK_HEADER_SIZE
    const { base, bitmap } =
      received === undefined ? { base: 0, bitmap: new Uint8Array(0) } : received.encode(room)
    this.#link.send(
      dst,
      encodeAck({
        id,
        echo,
        holdMs,
        complete: received === undefined,
        unknown: false,
        base,
        bitmap,
      }),
    )
  }

  #refused(r: BudgetRefusal): void {
    this.#drops[r]++
  }

  /** Keeps one sweep timer while anything can expire, so memory is freed without traffic. */
  #armSweep(): void {
    if (this.#cancelSweep !== undefined || this.#link.closer.closed || this.#table.idle) return
    this.#cancelSweep = this.#link.clock.setTimeout(() => {
      this.#cancelSweep = undefined
      this.#table.expire(this.#link.clock.now())
      this.#armSweep()
    }, this.#s.sweepMs)
  }
}
