/**
 * Retransmission, backoff, RTT and deadlines, driven by a ManualClock (no sleeps): a memswarm
 * realm and both AskSwarms share the clock, and a transform records (or drops) every datagram.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type AskHandler, isTimeoutError, serveAsks } from '../../core/index.js'
import { ManualClock } from '../../p2ptest/index.js'
import { type MemAddr, Realm } from '../memswarm/index.js'
import { AskSwarm, type AskSwarmOptions, Kind, encodeAck, parseFrame } from './index.js'

interface Sent {
  t: number
  kind: number
  from: number
}

function setup(
  opts: {
    latencyMs?: number
    drop?: (s: Sent, m: Uint8Array) => boolean
    /** More options of the asking side. */
    a?: AskSwarmOptions
  } = {},
) {
  const clock = new ManualClock()
  const sent: Sent[] = []
  const realm = new Realm({
    clock,
    latencyMs: opts.latencyMs ?? 0,
    transform: (m) => {
      const s = { t: clock.now(), kind: m.payload[0]!, from: m.src.n }
      sent.push(s)
      return opts.drop?.(s, m.payload) ? undefined : m
    },
  })
  const a = new AskSwarm(realm.newSwarm(), {
    clock,
    initialRtoMs: 1000,
    minRtoMs: 100,
    maxRtoMs: 2000,
    ...opts.a,
  })
  const bInner = realm.newSwarm()
  const b = new AskSwarm(bInner, {
    clock,
    initialRtoMs: 1000,
    minRtoMs: 100,
    maxRtoMs: 2000,
  })
  const bAddr = b.localAddrs()[0]!
  cleanups.push(async () => {
    await a.close()
    await b.close()
    // Every timer of both swarms (and of the realm) is gone once they are closed.
    expect(clock.pending).toBe(0)
  })
  return { clock, sent, a, b, bAddr, bInner }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f()
})

const times = (sent: Sent[], kind: number, from: number) =>
  sent.filter((s) => s.kind === kind && s.from === from).map((s) => s.t)

/** A handler that takes `ms` of the manual clock. */
function slow(clock: ManualClock, ms: number, calls: { n: number }): AskHandler<MemAddr> {
  return async (req) => {
    calls.n++
    await new Promise<void>((r) => clock.setTimeout(r, ms))
    return req.payload
  }
}

describe('askswarm timing (ManualClock)', () => {
  it('with no answer, retransmits at RTO, doubling up to maxRto, and times out at the default deadline', async () => {
    const { clock, sent, a, bAddr } = setup({ drop: (s) => s.kind === Kind.REQUEST })
    const outcome = a.ask(bAddr, Uint8Array.of(1)).catch((e: unknown) => e)
    await clock.tick(10_000)
    expect(isTimeoutError(await outcome)).toBe(true)
    expect(times(sent, Kind.REQUEST, 0)).toEqual([0, 1000, 3000, 5000, 7000, 9000])
    // Then it tells the server it gave up.
    expect(times(sent, Kind.CANCEL, 0)).toEqual([10_000])
    expect(a.stats().asks).toMatchObject({ retransmissions: 5, timedOut: 1, cancels: 1 })
  })

  it('measures the RTT without the handler time and adapts the RTO', async () => {
    const { clock, sent, a, b, bAddr } = setup({ latencyMs: 50 })
    const calls = { n: 0 }
    const serving = serveAsks(b, slow(clock, 500, calls), { concurrency: 1 })
    const res = a.ask(bAddr, Uint8Array.of(7))
    await clock.tick(700)
    expect(await res).toEqual(Uint8Array.of(7))
    // 600 ms from request to response, of which the server held it 500: the RTT is 100.
    expect(a.rtt(bAddr)).toEqual({ srttMs: 100, rttvarMs: 50, rtoMs: 300 })
    expect(times(sent, Kind.REQUEST, 0)).toEqual([0])
    expect(calls.n).toBe(1)
    await b.close()
    await serving
  })

  it('retransmits a lost request after the measured RTO, and samples the retransmission by its echo', async () => {
    let dropNext = false
    const { clock, sent, a, b, bAddr } = setup({
      latencyMs: 50,
      drop: (s) => {
        if (s.kind !== Kind.REQUEST || !dropNext) return false
        dropNext = false
        return true
      },
    })
    const serving = serveAsks(b, (req) => req.payload)
    const first = a.ask(bAddr, Uint8Array.of(1))
    await clock.tick(100)
    await first
    expect(a.rtt(bAddr)?.rtoMs).toBe(300)
    dropNext = true
    const start = clock.now()
    const second = a.ask(bAddr, Uint8Array.of(2))
    await clock.tick(500)
    expect(await second).toEqual(Uint8Array.of(2))
    expect(times(sent, Kind.REQUEST, 0).filter((t) => t >= start)).toEqual([start, start + 300])
    // The retransmission's reply echoes its number: a valid sample of 100 ms.
    expect(a.rtt(bAddr)?.srttMs).toBe(100)
    expect(a.stats().asks).toMatchObject({ retransmissions: 1, rttSamples: 2 })
    await b.close()
    await serving
  })

  it('a slow handler runs once: retransmissions get "complete", then polls back off until the response', async () => {
    const { clock, sent, a, b, bAddr } = setup({ latencyMs: 50 })
    const calls = { n: 0 }
    const serving = serveAsks(b, slow(clock, 6000, calls), { concurrency: 1 })
    const res = a.ask(bAddr, Uint8Array.of(9))
    await clock.tick(6200)
    expect(await res).toEqual(Uint8Array.of(9))
    expect(calls.n).toBe(1)
    // The request is resent once, at the initial RTO (1000). Its ACK "complete" is progress
    // and the first RTT sample (100 ms: RTO 300), so the next timer is 300 ms later and sends
    // a POLL. Each POLL's ACK is another 100 ms sample (RTTVAR shrinks: RTO 250, 212.5, 184...)
    // and brings nothing new, so the backoff doubles: 600, 4 × 250, 8 × 212.5 ms later.
    expect(times(sent, Kind.REQUEST, 0)).toEqual([0, 1000])
    expect(times(sent, Kind.POLL, 0)).toEqual([1400, 2000, 3000, 4700])
    expect(times(sent, Kind.RESPONSE, 1)).toEqual([6050])
    expect(b.stats().served).toMatchObject({
      accepted: 1,
      duplicatesWhileHandling: 5,
      responded: 1,
    })
    await b.close()
    await serving
  })

  it('carries the deadline: the handler signal aborts when it passes and no answer is sent', async () => {
    const { clock, sent, a, b, bAddr } = setup({
      latencyMs: 50,
      // Without the CANCEL, only the deadline on the wire can stop the handler.
      drop: (s) => s.kind === Kind.CANCEL,
    })
    let abortedAt = -1
    let reason: unknown
    const served = b.serveAsk(async (req, ctx) => {
      await new Promise<void>((r) =>
        ctx.signal.addEventListener('abort', () => r(), { once: true }),
      )
      abortedAt = clock.now()
      reason = ctx.signal.reason
      return req.payload
    })
    const outcome = a.ask(bAddr, Uint8Array.of(1), { timeoutMs: 1000 }).catch((e: unknown) => e)
    await clock.tick(1200)
    expect(isTimeoutError(await outcome)).toBe(true)
    await served
    // Sent at 0 with 1000 ms left, arrived at 50: the server's deadline is 1050.
    expect(abortedAt).toBe(1050)
    expect(isTimeoutError(reason)).toBe(true)
    expect(times(sent, Kind.RESPONSE, 1)).toEqual([])
    expect(b.stats().served).toMatchObject({
      deadlinesPassed: 1,
      answersSuppressed: 1,
      responded: 0,
    })
  })

  it("the caller's abort reaches the handler as a CANCEL", async () => {
    const { clock, a, b, bAddr } = setup({ latencyMs: 50 })
    let abortedAt = -1
    const served = b.serveAsk(async (req, ctx) => {
      await new Promise<void>((r) =>
        ctx.signal.addEventListener('abort', () => r(), { once: true }),
      )
      abortedAt = clock.now()
      return req.payload
    })
    const ac = new AbortController()
    const reason = new Error('caller gave up')
    clock.setTimeout(() => ac.abort(reason), 200)
    const outcome = a.ask(bAddr, Uint8Array.of(1), { signal: ac.signal }).catch((e: unknown) => e)
    await clock.tick(400)
    expect(await outcome).toBe(reason)
    await served
    expect(abortedAt).toBe(250)
    expect(b.stats().served).toMatchObject({ cancelled: 1, answersSuppressed: 1 })
  })

  it('a retransmission after the answer was sent is answered from the cache, not by the handler', async () => {
    let dropResponses = 1
    const { clock, sent, a, b, bAddr } = setup({
      latencyMs: 10,
      drop: (s) => s.kind === Kind.RESPONSE && dropResponses-- > 0,
    })
    let calls = 0
    const serving = serveAsks(b, (req) => {
      calls++
      return [req.payload, req.payload]
    })
    const res = a.ask(bAddr, Uint8Array.of(3))
    await clock.tick(1100)
    expect(await res).toEqual(Uint8Array.of(3, 3))
    expect(calls).toBe(1)
    expect(times(sent, Kind.RESPONSE, 1)).toEqual([10, 1010])
    expect(b.stats().served).toMatchObject({ accepted: 1, answeredFromCache: 1 })
    await b.close()
    await serving
  })

  it('a one-part ask keeps one timer: its retransmissions, then its deadline', async () => {
    const { clock, sent, a, bAddr } = setup({ drop: (s) => s.kind === Kind.REQUEST })
    const outcome = a.ask(bAddr, Uint8Array.of(1), { timeoutMs: 4000 }).catch((e: unknown) => e)
    const timers: number[] = []
    for (let t = 0; t < 4000; t += 500) {
      timers.push(clock.pending)
      await clock.tick(500)
    }
    // Nothing reaches the server: every timer is the caller's.
    expect(timers).toEqual([1, 1, 1, 1, 1, 1, 1, 1])
    expect(isTimeoutError(await outcome)).toBe(true)
    // RTO 1000, then 2000; the next (4000 later) would pass the deadline, so the timer ends it.
    expect(times(sent, Kind.REQUEST, 0)).toEqual([0, 1000, 3000])
    expect(times(sent, Kind.CANCEL, 0)).toEqual([4000])
    expect(clock.pending).toBe(0)
  })

  it("a queued ask's timer is its deadline; once it starts, the same timer retransmits", async () => {
    const { clock, sent, a, bAddr } = setup({
      drop: (s) => s.kind === Kind.REQUEST,
      a: { maxInFlightPerPeer: 1 },
    })
    const first = a.ask(bAddr, Uint8Array.of(1), { timeoutMs: 2000 }).catch((e: unknown) => e)
    const second = a.ask(bAddr, Uint8Array.of(2), { timeoutMs: 5000 }).catch((e: unknown) => e)
    const third = a.ask(bAddr, Uint8Array.of(3), { timeoutMs: 1500 }).catch((e: unknown) => e)
    expect(clock.pending).toBe(3)
    await clock.tick(6000)
    for (const outcome of [first, second, third]) expect(isTimeoutError(await outcome)).toBe(true)
    // The third times out in the queue at 1500, never sent. The first is sent at 0 and 1000 and
    // times out at 2000, which starts the second: sent at 2000 and 3000, timed out at 5000.
    expect(times(sent, Kind.REQUEST, 0)).toEqual([0, 1000, 2000, 3000])
    expect(times(sent, Kind.CANCEL, 0)).toEqual([2000, 5000])
    expect(a.stats().asks).toMatchObject({ started: 3, timedOut: 3, cancels: 2 })
    expect(clock.pending).toBe(0)
  })

  it('an ACK with a bitmap says nothing of a one-part request: it is sent again, not polled for', async () => {
    let request: Uint8Array | undefined
    const { clock, sent, a, bAddr, bInner } = setup({
      drop: (s, m) => {
        if (s.kind !== Kind.REQUEST) return false
        request ??= m.slice()
        return true
      },
    })
    const outcome = a.ask(bAddr, Uint8Array.of(1), { timeoutMs: 1500 }).catch((e: unknown) => e)
    await clock.tick(0)
    const f = parseFrame(request!)
    if (f.kind !== Kind.REQUEST) throw new Error('not a request')
    const ack = { id: f.id, echo: f.tx, holdMs: 0, complete: false, unknown: false }
    await bInner.tell(a.localAddrs()[0]!, encodeAck({ ...ack, base: 1, bitmap: new Uint8Array(0) }))
    await bInner.tell(a.localAddrs()[0]!, encodeAck({ ...ack, base: 0, bitmap: Uint8Array.of(1) }))
    await clock.tick(1600)
    expect(isTimeoutError(await outcome)).toBe(true)
    // The first ACK echoes the request: an RTT sample of 0 (RTO 100), but no progress, so the
    // timer set for 1000 stays; then 200 later, and the next (400 later) passes the deadline.
    expect(a.stats().asks).toMatchObject({ acks: 2, rttSamples: 1 })
    expect(times(sent, Kind.REQUEST, 0)).toEqual([0, 1000, 1200])
    expect(times(sent, Kind.POLL, 0)).toEqual([])
  })
})
