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
 * - answered: the cached answer again (the response parts the caller lacks, or the ERROR);
 * - a tombstone: ERROR ANSWER_LOST if the answer was evicted, nothing if the ask was cancelled
 *   or its deadline passed.
 * A POLL gets the missing response parts (a burst), or the ACK/ERROR above, or an ACK
 * "unknown" when the server knows nothing of the id.
 *
 * Anti-amplification (a source address can be forged over plain UDP, so nothing a packet
 * triggers may be much larger than the packet, or repeat without bound):
 * - the answer itself (the ERROR, or each response part sent for the first time) is sent once;
 * - every other reply (ACKs, answers sent again, ERRORs to refused requests, "unknown") is
 *   charged to its source's `ReplyBudget`: each byte received earns `replyFactor` (3) bytes
 *   of credit for one to two seconds, and a reply is sent only while credit is left
 *   (`budget.ts`);
 * - an ACK is never larger than the packet it answers (or a 38-byte minimum);
 * - a repeat (a part or POLL that brings nothing new) is answered at most once per
 *   `repeatIntervalMs` per request;
 * - each answer's parts are sent again at most max(2 × count, 8) times over its life.
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
  type Receiving,
  type Replies,
  RequestTable,
  type TableLimits,
} from './cache.js'
import { ReplyBudget } from './budget.js'
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
  /** A repeat of one request is answered at most once per this many ms. */
  readonly repeatIntervalMs: number
  /** Bytes of replies per byte received, per source (see `budget.ts`). */
  readonly replyFactor: number
  /** Reply credit lasts one to two of these (ms). */
  readonly replyWindowMs: number
  /** Sources whose reply budget is remembered. */
  readonly maxReplySources: number
}

/** An ACK's bitmap may always use this many bytes, even when the packet it answers is smaller. */
export const MIN_ACK_BITMAP_BYTES = 16
/** An answer of `count` parts is sent again at most max(2 × count, this) parts over its life. */
export const MIN_RESENDS = 8

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
  /** Response parts sent, first sends and resends. */
  responseParts: number
  /** Response parts (and ERRORs) sent again after their first send. */
  responsePartsResent: number
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
  /** Repeats of a request not answered: one was answered less than `repeatIntervalMs` ago. */
  repeatTooSoon: number
  /** Replies not sent: their source's reply budget was spent (see `budget.ts`). */
  replyOverBudget: number
  /** Parts not sent again: the answer was already sent again max(2 × count, 8) parts. */
  resendOverCap: number
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
  /** When a repeat was last answered ("complete"); -Infinity: never. */
  repeatAt = Number.NEGATIVE_INFINITY

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
  readonly #budget: ReplyBudget
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
    responsePartsResent: 0,
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
    repeatTooSoon: 0,
    replyOverBudget: 0,
    resendOverCap: 0,
  }

  constructor(settings: ServerSettings, link: ServerLink<A>) {
    this.#s = settings
    this.#link = link
    this.#table = new RequestTable(settings.limits, settings.incompleteIdleMs)
    this.#budget = new ReplyBudget({
      factor: settings.replyFactor,
      windowMs: settings.replyWindowMs,
      maxSources: settings.maxReplySources,
    })
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
    const src = msg.src
    const srcKey = src.toString()
    const size = msg.payload.length
    this.#budget.received(srcKey, size, now)
    // idKey is a fixed six characters: no separator needed.
    const key = idKey(f.id) + srcKey
    const wantsReply = f.ackRequested || f.count === 1
    const e = this.#table.get(key, now)
    if (e !== undefined && e.state !== 'receiving') {
      this.#onKnown(src, srcKey, f.id, e, f.tx, wantsReply, undefined, size, now)
      return
    }
    if (e === undefined) {
      if (f.total > this.#s.maxAskSize) {
        this.#drops.requestTooLarge++
        if (wantsReply) {
          const frame = errorFrame(f.id, f.tx, 0, {
            kind: 'error',
            code: ErrorCode.REQUEST_TOO_LARGE,
            size: f.total,
            limit: this.#s.maxAskSize,
            reason: `request of ${f.total} bytes exceeds the limit of ${this.#s.maxAskSize}`,
          })
          this.#sendCharged(src, srcKey, frame, now)
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
      const r: Receiving = {
        state: 'receiving',
        src: srcKey,
        assembly,
        timeoutMs,
        maxResponse: f.maxResponse,
        firstAt: now,
        lastAt: now,
        repeatAt: Number.NEGATIVE_INFINITY,
        newSinceAck: true,
      }
      this.#table.addReceiving(key, r)
      this.#armSweep()
      if (f.ackRequested) this.#ackReceiving(src, srcKey, f.id, f.tx, r, size, now)
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
    else r.newSinceAck = true
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
      else if (f.ackRequested) this.#sendAck(src, srcKey, f.id, f.tx, 0, undefined, size, now)
      return
    }
    if (f.ackRequested) this.#ackReceiving(src, srcKey, f.id, f.tx, r, size, now)
  }

  /** A POLL arrived. */
  onPoll(msg: Message<A>, f: PollFrame): void {
    this.#c.polls++
    const now = this.#link.clock.now()
    const src = msg.src
    const srcKey = src.toString()
    const size = msg.payload.length
    this.#budget.received(srcKey, size, now)
    const key = idKey(f.id) + srcKey
    const e = this.#table.get(key, now)
    if (e === undefined) {
      const frame = encodeAck({
        id: f.id,
        echo: f.tx,
        holdMs: 0,
        complete: false,
        unknown: true,
        base: 0,
        bitmap: EMPTY,
      })
      if (this.#sendCharged(src, srcKey, frame, now)) this.#c.acks++
      return
    }
    if (e.state === 'receiving') {
      this.#ackReceiving(src, srcKey, f.id, f.tx, e, size, now)
      return
    }
    this.#onKnown(src, srcKey, f.id, e, f.tx, true, f, size, now)
  }

  /** A CANCEL arrived: the caller gave up. */
  onCancel(msg: Message<A>, f: CancelFrame): void {
    const now = this.#link.clock.now()
    const srcKey = msg.src.toString()
    this.#budget.received(srcKey, msg.payload.length, now)
    const key = idKey(f.id) + srcKey
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

  /**
   * @internal Called once by an `Incoming` with its handler's result: caches and sends it.
   * Never throws, and always moves the request out of the running state: a result that cannot
   * be used as a response (not a payload, or unreadable) is answered as a handler error.
   */
  answer(inc: Incoming<A>, out: { res: Payload } | { err: unknown }): void {
    const now = this.#link.clock.now()
    let answer: Answer
    try {
      answer = 'res' in out ? this.#responseAnswer(inc, out.res) : this.#errorAnswer(out.err)
    } catch (err) {
      answer = this.#errorAnswer(
        new TypeError(`the ask handler's response could not be sent: ${safeReason(err)}`),
      )
    }
    if (answer.kind === 'response') this.#c.responded++
    else this.#c.failed++
    // Closing: the answer is still said (best effort); close() then forgets everything.
    const done = this.#table.finish(inc.key, answer, now)
    this.#armSweep()
    this.#sendAnswer(inc.req.src, inc.srcKey, inc.id, answer, done?.replies, {
      echo: inc.lastTx,
      holdMs: now - inc.lastTxAt,
      repeat: false,
      have: undefined,
      now,
    })
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
      memory: {
        ...this.#table.usage(),
        ...this.#table.counters(),
        replySources: this.#budget.size,
      },
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
      this.#link.send(inc.req.src, errorFrame(inc.id, inc.lastTx, 0, this.#errorAnswer(err)))
      inc.kill(err)
    }
  }

  /** Last step of closing: rejects waiting `serveAsk` calls with `err` and frees all state. */
  close(err: ClosedError): void {
    this.#inbox.close(err)
    this.#table.clear()
    this.#budget.clear()
  }

  #onKnown(
    src: A,
    srcKey: string,
    id: AskId,
    e: Exclude<Entry<Incoming<A>>, { state: 'receiving' }>,
    tx: number,
    wantsReply: boolean,
    have: { base: number; bitmap: Uint8Array } | undefined,
    trigger: number,
    now: number,
  ): void {
    switch (e.state) {
      case 'running': {
        const inc = e.handle
        this.#c.duplicatesWhileHandling++
        inc.lastTx = tx
        inc.lastTxAt = now
        if (!wantsReply || !this.#repeatDue(inc.repeatAt, now)) return
        if (this.#sendAck(src, srcKey, id, tx, 0, undefined, trigger, now)) inc.repeatAt = now
        return
      }
      case 'done': {
        if (!wantsReply) return
        const sent = this.#sendAnswer(src, srcKey, id, e.answer, e.replies, {
          echo: tx,
          holdMs: 0,
          repeat: true,
          have,
          now,
        })
        if (sent) this.#c.answeredFromCache++
        return
      }
      case 'gone': {
        if (e.why !== 'evicted') {
          this.#drops.late++
          return
        }
        if (!wantsReply || !this.#repeatDue(e.repeatAt, now)) return
        const frame = errorFrame(id, tx, 0, {
          kind: 'error',
          code: ErrorCode.ANSWER_LOST,
          size: 0,
          limit: 0,
          reason:
            'the handler ran, but its answer was evicted from the server cache before it was delivered',
        })
        if (this.#sendCharged(src, srcKey, frame, now)) e.repeatAt = now
        return
      }
      default:
        return
    }
  }

  /**
   * ACKs a part (or POLL) of an incomplete request. A repeat (nothing stored since the last
   * ACK) is answered at most once per `repeatIntervalMs` after the last ACK.
   */
  #ackReceiving(
    src: A,
    srcKey: string,
    id: AskId,
    tx: number,
    r: Receiving,
    trigger: number,
    now: number,
  ): void {
    const repeat = !r.newSinceAck
    if (repeat && !this.#repeatDue(r.repeatAt, now)) return
    if (!this.#sendAck(src, srcKey, id, tx, 0, r.assembly.received, trigger, now)) return
    r.newSinceAck = false
    r.repeatAt = now
  }

  /** Whether a repeat answered last at `at` may be answered again now; counts it if not. */
  #repeatDue(at: number, now: number): boolean {
    if (now - at >= this.#s.repeatIntervalMs) return true
    this.#drops.repeatTooSoon++
    return false
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
    return { kind: 'error', code, size: 0, limit: 0, reason: safeReason(err) }
  }

  /**
   * Sends an answer: the ERROR, or a burst of the response parts the caller lacks (what its
   * POLLs reported, `have` merged in). The first send of each part (and of the ERROR) is the
   * answer itself. With `repeat` (a retransmitted request or a POLL), what was sent before is
   * sent again only within the limits: once per `repeatIntervalMs`, at most
   * max(2 × count, MIN_RESENDS) parts over the answer's life, and within the source's reply
   * budget. The last part of a multi-part burst is flagged. Returns whether anything was sent.
   * Without `replies` (an answer not kept) the first burst is sent.
   */
  #sendAnswer(
    dst: A,
    srcKey: string,
    id: AskId,
    answer: Answer,
    replies: Replies | undefined,
    how: {
      echo: number
      holdMs: number
      repeat: boolean
      have: { base: number; bitmap: Uint8Array } | undefined
      now: number
    },
  ): boolean {
    const { echo, holdMs, repeat, have, now } = how
    if (answer.kind === 'error') {
      const frame = errorFrame(id, echo, holdMs, answer)
      if (replies === undefined || !repeat) {
        this.#link.send(dst, frame)
        return true
      }
      if (!this.#resendAllowed(replies, 1, now)) return false
      if (!this.#sendCharged(dst, srcKey, frame, now)) return false
      replies.resent++
      replies.repeatAt = now
      this.#c.responsePartsResent++
      return true
    }
    const { data, partLen } = answer
    const count = partCount(data.length, partLen)
    if (count === 1) return this.#sendOnlyPart(dst, srcKey, id, data, replies, how)
    const burst = this.#s.burstParts
    let parts: number[]
    if (replies === undefined) {
      parts = Array.from({ length: Math.min(count, burst) }, (_, i) => i)
    } else {
      const sent = (replies.sent ??= new Bitset(count))
      const has = (replies.has ??= new Bitset(count))
      if (have !== undefined) has.merge(have.bitmap, have.base)
      parts = []
      let resends = 0
      // Decided at the first part that would be sent again (so only real refusals count).
      let mayResend: boolean | undefined = repeat ? undefined : false
      for (const index of has.missing(burst)) {
        if (!sent.has(index)) {
          // Never sent: part of the answer itself.
          sent.add(index)
          parts.push(index)
          continue
        }
        mayResend ??= this.#resendAllowed(replies, count, now)
        if (!mayResend) continue
        if (replies.resent >= resendCap(count)) {
          this.#drops.resendOverCap++
          mayResend = false
          continue
        }
        const size = RESPONSE_HEADER_SIZE + partOf(data, partLen, index).length
        if (!this.#budget.take(srcKey, size, now)) {
          this.#drops.replyOverBudget++
          mayResend = false
          continue
        }
        replies.resent++
        resends++
        parts.push(index)
      }
      if (resends > 0) {
        replies.repeatAt = now
        this.#c.responsePartsResent += resends
      }
    }
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
    return parts.length > 0
  }

  /**
   * `#sendAnswer` for a response of one part, by the same rules without bitsets or arrays: the
   * part is not sent when a POLL reported it arrived; its first send is the answer itself; after
   * that it is sent again only for a repeat, within the interval, the lifetime cap and the
   * source's reply budget. Never flagged (a one-part answer needs no POLL).
   */
  #sendOnlyPart(
    dst: A,
    srcKey: string,
    id: AskId,
    data: Uint8Array,
    replies: Replies | undefined,
    how: {
      echo: number
      holdMs: number
      repeat: boolean
      have: { base: number; bitmap: Uint8Array } | undefined
      now: number
    },
  ): boolean {
    const { echo, holdMs, repeat, have, now } = how
    if (replies !== undefined) {
      if (have !== undefined && (have.base >= 1 || ((have.bitmap[0] ?? 0) & 1) !== 0)) {
        replies.hasOne = true
      }
      if (replies.hasOne) return false
      if (!replies.sentOne) {
        replies.sentOne = true
      } else {
        if (!repeat || !this.#resendAllowed(replies, 1, now)) return false
        if (!this.#budget.take(srcKey, RESPONSE_HEADER_SIZE + data.length, now)) {
          this.#drops.replyOverBudget++
          return false
        }
        replies.resent++
        replies.repeatAt = now
        this.#c.responsePartsResent++
      }
    }
    const header = encodeResponseHeader({
      id,
      ackRequested: false,
      echo,
      holdMs,
      total: data.length,
      index: 0,
      count: 1,
    })
    this.#c.responseParts++
    this.#link.send(dst, [header, data])
    return true
  }

  /** Whether an answer of `count` parts may be sent again now (interval and lifetime cap). */
  #resendAllowed(replies: Replies, count: number, now: number): boolean {
    if (!this.#repeatDue(replies.repeatAt, now)) return false
    if (replies.resent < resendCap(count)) return true
    this.#drops.resendOverCap++
    return false
  }

  /**
   * Sends an ACK: "complete" without `received`, else `received`'s base and bitmap, cut so the
   * ACK is no larger than the `trigger`-byte packet it answers (or the mtu, or a small minimum).
   * Charged to the source's reply budget. Returns whether it was sent.
   */
  #sendAck(
    dst: A,
    srcKey: string,
    id: AskId,
    echo: number,
    holdMs: number,
    received: Bitset | undefined,
    trigger: number,
    now: number,
  ): boolean {
    const room = Math.min(
      this.#link.innerMtu(dst) - ACK_HEADER_SIZE,
      Math.max(MIN_ACK_BITMAP_BYTES, trigger - ACK_HEADER_SIZE),
    )
    const { base, bitmap } =
      received === undefined ? { base: 0, bitmap: EMPTY } : received.encode(room)
    const frame = encodeAck({
      id,
      echo,
      holdMs,
      complete: received === undefined,
      unknown: false,
      base,
      bitmap,
    })
    if (!this.#sendCharged(dst, srcKey, frame, now)) return false
    this.#c.acks++
    return true
  }

  /** Sends a reply that is not the answer itself, if the source's reply budget allows it. */
  #sendCharged(dst: A, srcKey: string, frame: Uint8Array, now: number): boolean {
    if (!this.#budget.take(srcKey, frame.length, now)) {
      this.#drops.replyOverBudget++
      return false
    }
    this.#link.send(dst, frame)
    return true
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

const EMPTY = new Uint8Array(0)

/** Most parts an answer of `count` parts is sent again over its life. */
function resendCap(count: number): number {
  return Math.max(2 * count, MIN_RESENDS)
}

/** An ERROR frame for `e`. */
function errorFrame(id: AskId, echo: number, holdMs: number, e: ErrorAnswer): Uint8Array {
  return encodeError({
    id,
    echo,
    holdMs,
    code: e.code,
    size: e.size,
    limit: e.limit,
    reason: e.reason,
  })
}

/** `errorReason`, for anything a handler may throw (even what cannot become a string). */
function safeReason(err: unknown): string {
  try {
    return errorReason(err, MAX_REASON_BYTES)
  } catch {
    return 'unprintable error'
  }
}
