import { afterEach, describe, expect, it } from 'vitest'
import {
  type Message,
  errorCode,
  isAskError,
  isClosedError,
  isMTUExceededError,
  isSecure,
  serveAsks,
} from '../../core/index.js'
import { ManualClock } from '../../p2ptest/index.js'
import { type MemAddr, type MemSwarm, Realm, type RealmOptions } from '../memswarm/index.js'
import {
  AskSwarm,
  type AskSwarmOptions,
  ErrorCode,
  Kind,
  MAX_REASON_BYTES,
  SecureAskSwarm,
  encodeAck,
  encodeError,
  encodeRequestHeader,
  newAskSwarm,
  parseFrame,
} from './index.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const text = (s: string) => encoder.encode(s)

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f()
})

function pair(realmOpts: RealmOptions = {}, opts: AskSwarmOptions = {}, serverOpts = opts) {
  const realm = new Realm(realmOpts)
  const a = new AskSwarm(realm.newSwarm(), opts)
  const b = new AskSwarm(realm.newSwarm(), serverOpts)
  cleanups.push(async () => {
    await a.close()
    await b.close()
  })
  return { realm, a, b, bAddr: b.localAddrs()[0]!, aAddr: a.localAddrs()[0]! }
}

/** Receives one message on a raw inner swarm. */
async function recvRaw(s: MemSwarm): Promise<Message<MemAddr>> {
  let got: Message<MemAddr> | undefined
  await s.receive((m) => {
    got = m
  })
  return got!
}

describe('askswarm over a lossy memswarm', () => {
  // Both lossy tests run on a ManualClock: every deadline is simulated time, so what decides
  // the test is its own assertion (never vitest's timeout racing a deadline), and the outcome
  // does not depend on how loaded the machine is. The explicit per-test timeout is only a
  // backstop, far above the few seconds these take.
  it('1000 asks at 20% loss: at least 99.9% succeed within their deadlines and no handler runs twice', async () => {
    const clock = new ManualClock()
    // Wider windows than the defaults (32 asks in flight per peer, 64 handled per source, a
    // first RTO of 1 s) only to keep the test short; the protocol is the same.
    const wide = { maxInFlightPerPeer: 128, maxHandlingPerSource: 128, initialRtoMs: 200, clock }
    const { a, b, bAddr } = pair({ mtu: 1500, loss: 0.2, seed: 1234, clock }, wide)
    const runs = new Map<string, number>()
    const serving = serveAsks(
      b,
      (req) => {
        const key = decoder.decode(req.payload)
        runs.set(key, (runs.get(key) ?? 0) + 1)
        return [text('re:'), req.payload]
      },
      { concurrency: 128 },
    )
    const N = 1000
    // With 20% loss each way an attempt fails with p = 0.36; backoff (capped at 2 s) fits ~15
    // attempts into 30 s, so an ask fails with p ≈ 0.36^15 ≈ 2e-7. (A 10 s deadline fits ~8:
    // p ≈ 3e-4 per ask, too close to the 0.1% allowed to keep the test reliable.)
    const settled = Promise.allSettled(
      Array.from({ length: N }, (_, i) => a.ask(bAddr, text(`ask ${i}`), { timeoutMs: 30_000 })),
    )
    // Past every deadline: each ask has settled, one way or the other.
    await clock.tick(31_000)
    const results = await settled
    expect(a.stats().pending).toEqual({ inFlight: 0, queued: 0 })
    const ok = results.filter(
      (r, i) => r.status === 'fulfilled' && decoder.decode(r.value) === `re:ask ${i}`,
    ).length
    expect(ok / N).toBeGreaterThanOrEqual(0.999)
    for (const [key, n] of runs) expect(n, `handler runs for ${key}`).toBe(1)
    const as = a.stats()
    const bs = b.stats()
    // Loss happened and was repaired by retransmission, with answers from the cache.
    expect(as.asks.retransmissions).toBeGreaterThan(100)
    expect(bs.served.answeredFromCache).toBeGreaterThan(0)
    expect(bs.served.accepted).toBe(runs.size)
    console.log(
      `1000 asks at 20% loss: ${ok} ok, ${as.asks.retransmissions} retransmissions, ` +
        `${bs.served.answeredFromCache} answered from cache, ${bs.served.duplicatesWhileHandling} ` +
        `while handling, srtt ${Number(as.rtt.srttMs).toFixed(2)} ms, rto ${as.rtt.rtoMs} ms`,
    )
    await b.close()
    await serving
  }, 120_000)

  it('at-most-once under heavy duplication and reordering', async () => {
    const { a, b, bAddr } = pair({ mtu: 600, duplicate: 0.5, reorder: 0.3, seed: 9 })
    const runs = new Map<string, number>()
    const keyOf = (p: Uint8Array) => `${p.length}:${p[p.length - 1]}`
    const serving = serveAsks(b, (req) => {
      const key = keyOf(req.payload)
      runs.set(key, (runs.get(key) ?? 0) + 1)
      return req.payload
    })
    // Multi-part requests (2000 bytes over a 600-byte mtu) and single-part ones.
    const payloads = Array.from({ length: 60 }, (_, i) =>
      new Uint8Array(i % 2 === 0 ? 2000 : 10).fill(i),
    )
    const res = await Promise.all(payloads.map((p) => a.ask(bAddr, p)))
    for (const [i, r] of res.entries()) expect(r).toEqual(payloads[i])
    for (const n of runs.values()) expect(n).toBe(1)
    expect(runs.size).toBe(60)
    await b.close()
    await serving
  })

  it('requests and responses of more parts than one ACK or POLL bitmap covers complete under loss', async () => {
    // A 64-byte mtu: 32-byte request parts, and an ACK has room for 42 bytes of bitmap (336
    // parts), a POLL for 46 (368): 20 000 bytes need 625 request and 556 response parts.
    const clock = new ManualClock()
    const { a, b, bAddr } = pair(
      { mtu: 64, loss: 0.1, seed: 77, clock },
      { initialRtoMs: 100, clock },
    )
    const req = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff)
    let runs = 0
    const served = b.serveAsk((m) => {
      runs++
      return m.payload.slice().reverse()
    })
    const asked = a.ask(bAddr, req, { timeoutMs: 25_000 }).catch((e: unknown) => e)
    await clock.tick(26_000)
    expect(await asked).toEqual(req.slice().reverse())
    expect(runs).toBe(1)
    await served
    expect(a.stats().asks.polls).toBeGreaterThan(0)
  }, 120_000)
})

describe('askswarm errors and limits', () => {
  it('a response larger than the caller accepts fails with ResponseTooLargeError, never truncated', async () => {
    const { a, b, bAddr } = pair({ mtu: 1500 })
    const served = b.serveAsk(() => new Uint8Array(5000))
    const err = await a.ask(bAddr, text('x'), { maxResponseSize: 4999 }).catch((e: unknown) => e)
    expect(errorCode(err)).toBe('ERR_RESPONSE_TOO_LARGE')
    expect(String(err)).toContain('5000')
    expect(String(err)).toContain('4999')
    await served
    // Exactly the limit is fine.
    const ok = b.serveAsk(() => new Uint8Array(4999).fill(1))
    expect((await a.ask(bAddr, text('y'), { maxResponseSize: 4999 })).length).toBe(4999)
    await ok
  })

  it("a request over the server's maxAskSize fails with ERR_MTU_EXCEEDED naming its limit", async () => {
    const { a, b, bAddr } = pair({ mtu: 1500 }, { maxAskSize: 100_000 }, { maxAskSize: 3000 })
    void b
    const err = await a.ask(bAddr, new Uint8Array(5000)).catch((e: unknown) => e)
    expect(isMTUExceededError(err)).toBe(true)
    expect(err).toMatchObject({ size: 5000, mtu: 3000 })
    await expect(a.ask(bAddr, new Uint8Array(100_001))).rejects.toMatchObject({
      code: 'ERR_MTU_EXCEEDED',
    })
  })

  it('an error reason is bounded to 256 bytes', async () => {
    const { a, b, bAddr } = pair()
    const served = b.serveAsk(() => {
      throw new Error(`bad ${'ü'.repeat(5000)}`)
    })
    const err = await a.ask(bAddr, text('x')).catch((e: unknown) => e)
    expect(isAskError(err)).toBe(true)
    const reason = (err as { reason: string }).reason
    expect(encoder.encode(reason).length).toBeLessThanOrEqual(MAX_REASON_BYTES)
    expect(reason.startsWith('bad üü')).toBe(true)
    await served
  })

  it('queues asks past maxInFlightPerPeer and refuses past maxQueuedPerPeer with BusyError', async () => {
    const { a, b, bAddr } = pair({}, { maxInFlightPerPeer: 2, maxQueuedPerPeer: 2 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const order: string[] = []
    const serving = serveAsks(b, async (req) => {
      order.push(decoder.decode(req.payload))
      await gate
      return req.payload
    })
    const asks = ['1', '2', '3', '4'].map((s) => a.ask(bAddr, text(s)))
    await expect(a.ask(bAddr, text('5'))).rejects.toMatchObject({ code: 'ERR_BUSY' })
    expect(a.stats().pending).toEqual({ inFlight: 2, queued: 2 })
    release()
    const res = await Promise.all(asks)
    expect(res.map((r) => decoder.decode(r))).toEqual(['1', '2', '3', '4'])
    expect(order).toEqual(['1', '2', '3', '4'])
    await b.close()
    await serving
  })

  it('drops and counts requests past maxHandlingPerSource; retransmission gets them served later', async () => {
    const { a, b, bAddr } = pair(
      {},
      { initialRtoMs: 50 },
      { maxHandlingPerSource: 2, initialRtoMs: 50 },
    )
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let runs = 0
    const serving = serveAsks(b, async (req) => {
      runs++
      await gate
      return req.payload
    })
    const asks = Array.from({ length: 5 }, (_, i) => a.ask(bAddr, Uint8Array.of(i)))
    await waitFor(() => Number(b.stats().dropped.handlingPerSource) >= 3)
    expect(b.stats().memory.handling).toBe(2)
    release()
    const res = await Promise.all(asks)
    expect(res.map((r) => r[0])).toEqual([0, 1, 2, 3, 4])
    expect(runs).toBe(5)
    await b.close()
    await serving
  })

  it('an answer evicted from the cache is reported as lost instead of running the handler again', async () => {
    const clock = new ManualClock()
    let dropFirstResponse = true
    const { a, b, bAddr } = pair(
      {
        clock,
        transform: (m) => {
          if (m.payload[0] === Kind.RESPONSE && dropFirstResponse) {
            dropFirstResponse = false
            return undefined
          }
          return m
        },
      },
      { clock },
      { clock, maxAnswers: 1 },
    )
    let runs = 0
    const serving = serveAsks(b, (req) => {
      runs++
      return req.payload
    })
    const lost = a.ask(bAddr, text('first')).catch((e: unknown) => e)
    await clock.tick(1)
    // A second ask's answer pushes the first one's out of the cache.
    const second = a.ask(bAddr, text('second'))
    await clock.tick(1)
    expect(decoder.decode(await second)).toBe('second')
    await clock.tick(1000)
    const err = await lost
    expect(isAskError(err)).toBe(true)
    expect(String(err)).toContain('evicted')
    expect(runs).toBe(2)
    expect(b.stats().memory).toMatchObject({ answers: 1, tombstones: 1, answersEvicted: 1 })
    await b.close()
    await serving
  })

  it('refuses bad arguments and options with RangeError', async () => {
    const { a, bAddr } = pair()
    await expect(a.ask(bAddr, text('x'), { timeoutMs: 0 })).rejects.toBeInstanceOf(RangeError)
    await expect(a.ask(bAddr, text('x'), { maxResponseSize: -1 })).rejects.toBeInstanceOf(
      RangeError,
    )
    await expect(a.ask(bAddr, text('x'), { maxResponseSize: 2 ** 21 })).rejects.toBeInstanceOf(
      RangeError,
    )
    const realm = new Realm({ mtu: 100 })
    expect(() => new AskSwarm(realm.newSwarm(), { maxAskSize: -1 })).toThrow(RangeError)
    expect(() => new AskSwarm(realm.newSwarm(), { burstParts: 0 })).toThrow(RangeError)
    expect(() => new AskSwarm(realm.newSwarm(), { defaultTimeoutMs: 5, maxTimeoutMs: 4 })).toThrow(
      RangeError,
    )
    // 65535 parts of (100 - 32) bytes is the most a request can be over this mtu.
    expect(() => new AskSwarm(realm.newSwarm(), { maxAskSize: 65535 * 68 + 1 })).toThrow(RangeError)
    expect(() => new AskSwarm(new Realm({ mtu: 32 }).newSwarm())).toThrow(RangeError)
    await realm.close()
  })

  it('a handler response that cannot be read is answered as a handler error; nothing stays running', async () => {
    const { a, b, bAddr } = pair()
    // A Uint8Array is a Payload, but one whose buffer was transferred away cannot be copied.
    const detached = () => {
      const u = new Uint8Array(8)
      structuredClone(u.buffer, { transfer: [u.buffer] })
      return u
    }
    const served = b.serveAsk(() => detached())
    const asked = a.ask(bAddr, text('x'), { timeoutMs: 5000 }).catch((e: unknown) => e)
    // serveAsk resolves: the handler "returned", and the answer is an error, never a throw here.
    await served
    const err = await asked
    expect(isAskError(err)).toBe(true)
    expect(String(err)).toContain('detached')
    expect(b.stats().memory).toMatchObject({ running: 0, handling: 0, answers: 1 })
    expect(b.stats().served).toMatchObject({ accepted: 1, failed: 1 })
    // The server still serves.
    const next = b.serveAsk((m) => m.payload)
    expect(decoder.decode(await a.ask(bAddr, text('again')))).toBe('again')
    await next
  })

  it('when the inner swarm closes underneath, the AskSwarm closes: pending and later calls reject with ERR_CLOSED', async () => {
    const clock = new ManualClock()
    const realm = new Realm({ clock })
    const inner = realm.newSwarm()
    const a = new AskSwarm(inner, { clock })
    // A peer that takes the request but never serves it: the ask stays pending.
    const b = new AskSwarm(realm.newSwarm(), { clock })
    const bAddr = b.localAddrs()[0]!
    cleanups.push(async () => {
      await b.close()
      await realm.close()
      expect(clock.pending).toBe(0)
    })
    const outcome = (p: Promise<unknown>) => {
      const o: { v: unknown } = { v: 'pending' }
      p.then(
        () => (o.v = 'resolved'),
        (e: unknown) => (o.v = e),
      )
      return o
    }
    const asked = outcome(a.ask(bAddr, text('x'), { timeoutMs: 5000 }))
    const served = outcome(a.serveAsk(() => text('y')))
    const received = outcome(a.receive(() => {}))
    await clock.tick(10)
    await inner.close()
    // Well past the ask's deadline: it must have ended with ERR_CLOSED, not ERR_TIMEOUT.
    await clock.tick(6000)
    expect(errorCode(asked.v)).toBe('ERR_CLOSED')
    expect(errorCode(served.v)).toBe('ERR_CLOSED')
    expect(errorCode(received.v)).toBe('ERR_CLOSED')
    await expect(a.ask(bAddr, text('z'))).rejects.toSatisfy(isClosedError)
    await expect(a.serveAsk(() => text('y'))).rejects.toSatisfy(isClosedError)
    await expect(a.receive(() => {})).rejects.toSatisfy(isClosedError)
    await expect(a.tell(bAddr, text('t'))).rejects.toSatisfy(isClosedError)
    // close() is the same (already finished) close.
    await a.close()
  })

  it('after close: pending asks and serveAsks reject with ERR_CLOSED, and the inner swarm is closed', async () => {
    const realm = new Realm()
    const inner = realm.newSwarm()
    const a = new AskSwarm(inner)
    const b = new AskSwarm(realm.newSwarm())
    const pending = a.ask(b.localAddrs()[0]!, text('x'))
    const serving = a.serveAsk(() => text('y'))
    const closing = a.close()
    expect(a.close()).toBe(closing)
    await closing
    await expect(pending).rejects.toSatisfy(isClosedError)
    await expect(serving).rejects.toSatisfy(isClosedError)
    expect(inner.closed).toBe(true)
    await b.close()
  })
})

describe('askswarm tells and capabilities', () => {
  it('tells carry a one-byte header: mtu is the inner mtu minus 1', async () => {
    const sizes: number[] = []
    const { a, b, bAddr } = pair({ mtu: 500, log: (ev) => sizes.push(ev.size) })
    expect(a.mtu(bAddr)).toBe(499)
    expect(b.maxIncomingSize()).toBe(499)
    const got = new Promise<Message<MemAddr>>((resolve) => void b.receive((m) => resolve(m)))
    await a.tell(bAddr, [Uint8Array.of(1), Uint8Array.of(2, 3)])
    const m = await got
    expect(m.payload).toEqual(Uint8Array.of(1, 2, 3))
    expect(sizes[0]).toBe(4)
    await expect(a.tell(bAddr, new Uint8Array(500))).rejects.toSatisfy(isMTUExceededError)
  })

  it('newAskSwarm passes Secure through exactly when the inner swarm has it', async () => {
    const realm = new Realm()
    const key = new Uint8Array(32).fill(3)
    const s = newAskSwarm(realm.newSecureSwarm(key))
    expect(s).toBeInstanceOf(SecureAskSwarm)
    expect(s.publicKey()).toBe(key)
    expect(await s.lookupPublicKey(s.localAddrs()[0]!)).toBe(key)
    const plain = newAskSwarm(realm.newSwarm())
    expect(isSecure(plain)).toBe(false)
    expect(() => new SecureAskSwarm(realm.newSwarm() as never)).toThrow(TypeError)
    await realm.close()
  })

  it('two AskSwarms use different sessions', async () => {
    const realm = new Realm()
    const sessions: bigint[] = []
    const raw = realm.newSwarm()
    for (let i = 0; i < 2; i++) {
      const s = new AskSwarm(realm.newSwarm(), { defaultTimeoutMs: 50 })
      const asked = s.ask(raw.addr, text('x')).catch(() => {})
      // Skip what the previous swarm sent (its CANCEL on close).
      let f = parseFrame((await recvRaw(raw)).payload)
      while (f.kind !== Kind.REQUEST) f = parseFrame((await recvRaw(raw)).payload)
      sessions.push(f.id.session)
      await s.close()
      await asked
    }
    expect(sessions).toHaveLength(2)
    expect(sessions[0]).not.toBe(sessions[1])
    await realm.close()
  })
})

describe('askswarm protocol details (a raw peer speaks the wire format)', () => {
  it('an "unknown" ACK to a poll makes the caller send the request again', async () => {
    const realm = new Realm({ mtu: 1500 })
    const a = new AskSwarm(realm.newSwarm(), { initialRtoMs: 20, minRtoMs: 10 })
    const server = realm.newSwarm()
    cleanups.push(async () => {
      await a.close()
      await realm.close()
    })
    const asked = a.ask(server.addr, text('hello'))
    const first = parseFrame((await recvRaw(server)).payload)
    if (first.kind !== Kind.REQUEST) throw new Error('expected a request')
    const ack = (complete: boolean, unknown: boolean) =>
      encodeAck({
        id: first.id,
        echo: 0,
        holdMs: 0,
        complete,
        unknown,
        base: 0,
        bitmap: new Uint8Array(0),
      })
    // "I have it, working on it" ...
    await server.tell(a.localAddrs()[0]!, ack(true, false))
    let next = parseFrame((await recvRaw(server)).payload)
    while (next.kind === Kind.REQUEST) next = parseFrame((await recvRaw(server)).payload)
    expect(next.kind).toBe(Kind.POLL)
    // ... then a restart forgot it: the caller starts over with the request.
    await server.tell(a.localAddrs()[0]!, ack(false, true))
    const again = parseFrame((await recvRaw(server)).payload)
    expect(again).toMatchObject({ kind: Kind.REQUEST, id: first.id, index: 0, count: 1 })
    await server.tell(
      a.localAddrs()[0]!,
      encodeError({
        id: first.id,
        echo: 0,
        holdMs: 0,
        code: ErrorCode.HANDLER,
        size: 0,
        limit: 0,
        reason: 'no',
      }),
    )
    await expect(asked).rejects.toMatchObject({ code: 'ERR_ASK', reason: 'no' })
    expect(a.stats().asks.unknownReplies).toBe(1)
  })

  it('error codes map to the error classes', async () => {
    const realm = new Realm()
    const a = new AskSwarm(realm.newSwarm())
    const server = realm.newSwarm()
    cleanups.push(async () => {
      await a.close()
      await realm.close()
    })
    const expected: [number, string][] = [
      [ErrorCode.HANDLER, 'ERR_ASK'],
      [ErrorCode.RESPONSE_TOO_LARGE, 'ERR_RESPONSE_TOO_LARGE'],
      [ErrorCode.REQUEST_TOO_LARGE, 'ERR_MTU_EXCEEDED'],
      [ErrorCode.BUSY, 'ERR_BUSY'],
      [ErrorCode.EXPIRED, 'ERR_TIMEOUT'],
      [ErrorCode.UNAVAILABLE, 'ERR_UNREACHABLE'],
      [ErrorCode.ANSWER_LOST, 'ERR_ASK'],
      [200, 'ERR_ASK'],
    ]
    for (const [code, want] of expected) {
      const asked = a.ask(server.addr, text('x'))
      const f = parseFrame((await recvRaw(server)).payload)
      if (f.kind !== Kind.REQUEST) throw new Error('expected a request')
      await server.tell(
        a.localAddrs()[0]!,
        encodeError({ id: f.id, echo: 0, holdMs: 0, code, size: 10, limit: 5, reason: 'why' }),
      )
      await expect(asked).rejects.toMatchObject({ code: want })
    }
  })

  it('a request with no time left is dropped; one too large is refused before any state', async () => {
    const realm = new Realm({ mtu: 1500 })
    const b = new AskSwarm(realm.newSwarm(), { maxAskSize: 1000 })
    const raw = realm.newSwarm()
    cleanups.push(async () => {
      await b.close()
      await realm.close()
    })
    const header = (timeoutMs: number, total: number, count: number) =>
      encodeRequestHeader({
        id: { session: 77n, seq: 1 },
        ackRequested: true,
        tx: 0,
        timeoutMs,
        maxResponse: 100,
        total,
        index: 0,
        count,
      })
    await raw.tell(b.localAddrs()[0]!, [header(0, 1, 1), Uint8Array.of(1)])
    expect(b.stats().dropped.noTimeLeft).toBe(1)
    const reply = recvRaw(raw)
    // A well-formed first part of 1000 bytes of a 1500-byte request.
    await raw.tell(b.localAddrs()[0]!, [header(1000, 1500, 2), new Uint8Array(1000)])
    expect(parseFrame((await reply).payload)).toMatchObject({
      kind: Kind.ERROR,
      code: ErrorCode.REQUEST_TOO_LARGE,
      size: 1500,
      limit: 1000,
    })
    // A part whose size contradicts its header is malformed: dropped, no reply.
    await raw.tell(b.localAddrs()[0]!, [header(1000, 2_000_000, 2), new Uint8Array(1000)])
    expect(b.stats().dropped.malformed).toBe(1)
    expect(b.stats().memory).toMatchObject({ incomplete: 0, incompleteBytes: 0, handling: 0 })
  })
})

/** Waits (on the event loop, no fixed sleep) until `cond` holds. */
async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached')
    await new Promise<void>((r) => setImmediate(r))
  }
}
