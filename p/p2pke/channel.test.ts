import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Clock,
  isClosedError,
  isMTUExceededError,
  SeededRandom,
  SwarmError,
} from '../../core/index.js'
import { ED25519_OID, type PrivateKey } from '../../f/x509/index.js'
import { ManualClock, testKey } from '../../p2ptest/index.js'
import { type MemAddr, Realm, type TellTransform } from '../../s/memswarm/index.js'
import { Channel, type ChannelOptions } from './channel.js'
import {
  HANDSHAKE_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_MESSAGE_LEN,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_TIME_MS,
} from './constants.js'
import {
  compareTai64n,
  decodeTai64n,
  isInitHello,
  messageCounter,
  parseInitHelloMessage,
  tai64nToUnixNanos,
} from './messages.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)
const toHex = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('hex')
const key = (i: number): PrivateKey => ({ algorithm: ED25519_OID, data: testKey(i).seed })
const codeOf = (e: unknown): string | undefined => (e instanceof SwarmError ? e.code : undefined)

/** 2024-01-01T00:00:00Z: wall clocks in these tests are this plus the manual clock. */
const BASE_WALL = 1_704_067_200_000

type Side = 'a' | 'b'
const other = (s: Side): Side => (s === 'a' ? 'b' : 'a')

/**
 * Two channels joined by a simulated link on a ManualClock: each message is delivered after
 * `latency` ms, unless `filter` drops, duplicates or alters it. Either side can be replaced by a
 * fresh channel (a crash and restart).
 */
class Link {
  readonly clock = new ManualClock(0)
  latency = 1
  filter: ((from: Side, m: Uint8Array) => Uint8Array[]) | undefined
  readonly received: Record<Side, string[]> = { a: [], b: [] }
  readonly sent: Record<Side, { at: number; bytes: Uint8Array }[]> = { a: [], b: [] }
  readonly ends: Record<Side, Channel>
  readonly #opts: Record<Side, Partial<ChannelOptions>>
  readonly #wall: Record<Side, () => number>

  constructor(
    opts: { a?: Partial<ChannelOptions>; b?: Partial<ChannelOptions> } = {},
    skew: { a?: number; b?: number } = {},
  ) {
    this.#opts = { a: { privateKey: key(1), ...opts.a }, b: { privateKey: key(2), ...opts.b } }
    this.#wall = {
      a: () => BASE_WALL + (skew.a ?? 0) + this.clock.now(),
      b: () => BASE_WALL + (skew.b ?? 0) + this.clock.now(),
    }
    this.ends = { a: this.#make('a'), b: this.#make('b') }
  }

  #make(side: Side): Channel {
    return new Channel({
      clock: this.clock,
      wallClock: this.#wall[side],
      privateKey: key(1),
      ...this.#opts[side],
      send: (m) => this.#transmit(side, m),
    })
  }

  /** Replaces `side` by a fresh channel with the same key and wall clock (a crash). */
  restart(side: Side): Channel {
    this.ends[side].close()
    this.ends[side] = this.#make(side)
    return this.ends[side]
  }

  #transmit(from: Side, m: Uint8Array): void {
    this.sent[from].push({ at: this.clock.now(), bytes: m.slice() })
    const copies = this.filter === undefined ? [m] : this.filter(from, m)
    for (const c of copies) {
      this.clock.setTimeout(() => this.inject(other(from), c), this.latency)
    }
  }

  /** Delivers bytes to `to` as if they came over the link. */
  inject(to: Side, m: Uint8Array): void {
    const data = this.ends[to].deliver(m)
    if (data !== undefined) this.received[to].push(text(data))
  }

  run(ms: number): void {
    this.clock.advance(ms)
  }

  send(from: Side, msg: string): Promise<void> {
    return this.ends[from].send(utf8(msg))
  }
}

/** Lets promise continuations run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('Channel: basics', () => {
  it('handshakes on first send, delivers both ways, pins the key', async () => {
    const link = new Link()
    const { a, b } = link.ends
    expect(a.ready).toBe(false)
    expect(a.remoteKey()).toBeUndefined()
    const p = link.send('a', 'hello')
    link.run(10)
    await p
    expect(link.received.b).toEqual(['hello'])
    await link.send('b', 'world')
    link.run(10)
    expect(link.received.a).toEqual(['world'])
    expect(a.ready && b.ready).toBe(true)
    expect(toHex(a.remoteKey()!.data)).toBe(toHex(testKey(2).publicKey))
    expect(toHex(b.remoteKey()!.data)).toBe(toHex(testKey(1).publicKey))
    expect(toHex(a.sessions().current!.id)).toBe(toHex(b.sessions().current!.id))
    expect(a.stats()).toMatchObject({
      handshakesInitiated: 1,
      handshakesCompleted: 1,
      messagesSent: 1,
      messagesDelivered: 1,
    })
    expect(b.stats()).toMatchObject({ handshakesInitiated: 0, handshakesCompleted: 1 })
    // 4 handshake messages and 2 data messages, nothing more.
    expect(link.sent.a.length + link.sent.b.length).toBe(6)
    // No timer left once the handshake is done.
    expect(link.clock.pending).toBe(0)
  })

  it('waitReady handshakes; aborting it leaves the channel usable', async () => {
    const link = new Link()
    const ac = new AbortController()
    const p = link.ends.a.waitReady({ signal: ac.signal })
    ac.abort(new Error('stop'))
    await expect(p).rejects.toThrow('stop')
    const q = link.ends.a.waitReady()
    link.run(10)
    await q
    expect(link.ends.a.ready).toBe(true)
    await expect(link.ends.a.waitReady({ signal: AbortSignal.abort('x') })).rejects.toBe('x')
    await link.ends.a.waitReady()
  })

  it('refuses empty and oversized messages', async () => {
    const link = new Link()
    await expect(link.ends.a.send(new Uint8Array(0))).rejects.toThrow(RangeError)
    const big = link.ends.a.send([new Uint8Array(MAX_MESSAGE_LEN), new Uint8Array(1)])
    await expect(big).rejects.toSatisfy(isMTUExceededError)
    const max = link.ends.a.send([new Uint8Array(MAX_MESSAGE_LEN - 1), new Uint8Array(1)])
    link.run(10)
    await max
    expect(link.ends.b.stats().messagesDelivered).toBe(1)
  })

  it('queues while the handshake runs, in order, bounded', async () => {
    const link = new Link({ a: { maxQueuedMessages: 3 } })
    const sends = ['1', '2', '3'].map((m) => link.send('a', m))
    await expect(link.send('a', '4')).rejects.toSatisfy((e) => codeOf(e) === 'ERR_BUSY')
    expect(link.ends.a.stats().sendsRejected).toBe(1)
    link.run(10)
    await Promise.all(sends)
    expect(link.received.b).toEqual(['1', '2', '3'])

    const bytes = new Link({ a: { maxQueuedBytes: 10 } })
    const ok = bytes.send('a', '0123456789')
    await expect(bytes.send('a', 'x')).rejects.toSatisfy((e) => codeOf(e) === 'ERR_BUSY')
    // A caller may give up on a queued message; it is then not sent.
    const ac = new AbortController()
    const gone = new Link()
    const g = gone.ends.a.send(utf8('gone'), { signal: ac.signal })
    const kept = gone.send('a', 'kept')
    ac.abort(new Error('no longer'))
    await expect(g).rejects.toThrow('no longer')
    bytes.run(10)
    gone.run(10)
    await Promise.all([ok, kept])
    expect(bytes.received.b).toEqual(['0123456789'])
    expect(gone.received.b).toEqual(['kept'])
  })

  it('close() rejects what waits, stops timers and sends nothing more', async () => {
    const link = new Link()
    link.latency = 1000
    const p = link.send('a', 'never')
    const w = link.ends.a.waitReady()
    const sentBefore = link.sent.a.length
    link.ends.a.close()
    link.ends.a.close()
    await expect(p).rejects.toSatisfy(isClosedError)
    await expect(w).rejects.toSatisfy(isClosedError)
    await expect(link.send('a', 'later')).rejects.toSatisfy(isClosedError)
    await expect(link.ends.a.waitReady()).rejects.toSatisfy(isClosedError)
    link.run(60_000)
    expect(link.sent.a.length).toBe(sentBefore)
    expect(link.ends.a.deliver(new Uint8Array(20))).toBeUndefined()
    expect(link.ends.a.stats().dropped.closed).toBeGreaterThan(0)
    expect(link.ends.a.closed).toBe(true)
  })

  it('counts send callback failures and carries on', async () => {
    let n = 0
    const clock = new ManualClock()
    const c = new Channel({
      privateKey: key(1),
      clock,
      send: () => {
        n++
        if (n % 2 === 0) throw new Error('socket gone')
        return Promise.reject(new Error('async failure'))
      },
    })
    void c.waitReady().catch(() => {})
    clock.advance(1000)
    await settle()
    expect(c.stats().sendErrors).toBe(n)
    expect(n).toBeGreaterThan(2)
    c.close()
  })

  it('as initiator confirms a new session at once; as responder never lets data overtake RespDone', async () => {
    const link = new Link()
    // a only waits: its session is confirmed to b by a keepalive.
    const w = link.ends.a.waitReady()
    // b has data queued while it is the responder; the first RespDone is lost.
    let dropRespDone = true
    link.filter = (from, m) => {
      if (from === 'b' && messageCounter(m) === 3 && dropRespDone) {
        dropRespDone = false
        return []
      }
      return [m]
    }
    link.run(1) // InitHello reaches b
    const queued = link.send('b', 'queued')
    link.run(20)
    await Promise.all([w, queued])
    // RespDone, its copy, then the data: a go-p2p initiator needs RespDone first.
    expect(link.sent.b.map((s) => messageCounter(s.bytes))).toEqual([1, 3, 3, 16])
    expect(link.sent.a.map((s) => messageCounter(s.bytes))).toEqual([0, 2, 16])
    expect(link.ends.a.stats().keepalivesSent).toBe(1)
    expect(link.received.a).toEqual(['queued'])
  })

  it('as responder of a rekey, keeps sending on the previous session until the initiator confirms', async () => {
    const link = new Link({ a: { rekeyAfterTimeMs: 1000 } })
    const p = link.send('a', 'first')
    link.run(10)
    await p
    // From here, bytes move by hand.
    const inFlight: Record<Side, Uint8Array[]> = { a: [], b: [] }
    link.filter = (from, m) => {
      inFlight[from].push(m)
      return []
    }
    const pass = (from: Side) => {
      for (const m of inFlight[from].splice(0)) link.inject(other(from), m)
    }
    link.run(1000)
    await link.send('a', 'second') // sent on the old session, and a rekey starts
    expect(inFlight.a.map(messageCounter)).toEqual([17, 0])
    pass('a') // data and InitHello to b
    pass('b') // RespHello to a
    pass('a') // InitDone to b: b's new session is ready but unconfirmed
    const rd = inFlight.b.splice(0)
    expect(rd.map(messageCounter)).toEqual([3])
    await link.send('b', 'on the old one')
    pass('b')
    // a took it on its current (old) session; its new session is still waiting for RespDone.
    expect(link.received.a).toEqual(['on the old one'])
    expect(link.ends.a.sessions().next?.state).toBe('init-done-sent')
    for (const m of rd) link.inject('a', m)
    expect(link.ends.a.sessions().next).toBeUndefined()
    pass('a') // a's keepalive on the new session confirms it to b
    await link.send('b', 'on the new one')
    pass('b')
    expect(link.received.a).toEqual(['on the old one', 'on the new one'])
    expect(link.received.b).toEqual(['first', 'second'])
  })

  it('works wired synchronously (send calls the peer at once, as go-p2p tests do)', async () => {
    const got: Record<Side, string[]> = { a: [], b: [] }
    const ends = {} as Record<Side, Channel>
    for (const side of ['a', 'b'] as const) {
      ends[side] = new Channel({
        privateKey: key(side === 'a' ? 1 : 2),
        clock: new ManualClock(),
        send: (m) => {
          const d = ends[other(side)].deliver(m)
          if (d !== undefined) got[other(side)].push(text(d))
        },
      })
    }
    await ends.a.send(utf8('x'))
    await ends.b.send(utf8('y'))
    await Promise.all([ends.a.send(utf8('x2')), ends.b.send(utf8('y2'))])
    expect(got).toEqual({ a: ['y', 'y2'], b: ['x', 'x2'] })
    expect(ends.a.stats().handshakesCompleted).toBe(1)
  })

  it('writes InitHello timestamps later than any the peer sent, whatever its own clock says', async () => {
    // a's wall clock is an hour behind b's; b initiates first, then a (after b restarts).
    const link = new Link({}, { a: -3_600_000 })
    const p = link.send('b', 'from b')
    link.run(10)
    await p
    link.restart('b')
    link.run(KEEP_ALIVE_TIMEOUT_MS + 1) // a's session with the old b is dead: a initiates
    const q = link.send('a', 'from a')
    link.run(10)
    await q
    const stamp = (m: Uint8Array) => decodeTai64n(parseInitHelloMessage(m).hello.timestampTai64n)
    const bHello = link.sent.b.find((s) => isInitHello(s.bytes))!.bytes
    const aHello = link.sent.a.find((s) => isInitHello(s.bytes))!.bytes
    expect(compareTai64n(stamp(aHello), stamp(bHello))).toBeGreaterThan(0)
    // Its own clock would have said an hour earlier.
    expect(tai64nToUnixNanos(stamp(aHello)) / 1_000_000n).toBeGreaterThanOrEqual(BigInt(BASE_WALL))
    expect(link.received).toEqual({ a: ['from b'], b: ['from a'] })
  })

  it('checks its options', () => {
    expect(() => new Channel({ privateKey: key(1) } as ChannelOptions)).toThrow(TypeError)
    expect(
      () => new Channel({ privateKey: key(1), send: () => {}, handshakeBackoffMs: 0 }),
    ).toThrow(RangeError)
    expect(() => new Channel({ privateKey: key(1), send: () => {}, allowKey: 3 as never })).toThrow(
      TypeError,
    )
    expect(
      () =>
        new Channel({
          privateKey: { algorithm: ED25519_OID, data: new Uint8Array(3) },
          send: () => {},
        }),
    ).toThrow()
  })
})

describe('Channel: retransmission and give-up', () => {
  it('resends the same InitHello with a doubling, capped backoff, then gives up', async () => {
    const link = new Link()
    link.filter = () => [] // the peer never hears anything
    const p = link.send('a', 'lost')
    link.run(HANDSHAKE_TIMEOUT_MS + 10_000)
    await expect(p).rejects.toSatisfy((e) => codeOf(e) === 'ERR_HANDSHAKE')
    const sends = link.sent.a
    // 0, 250, 750, 1750, 3750, 7750, 12750, 17750, … (gaps 250, 500, …, capped at 5 s), until
    // 90 s have passed; always the same bytes.
    const expected: number[] = []
    for (let t = 0, gap = 250; t < HANDSHAKE_TIMEOUT_MS; t += gap, gap = Math.min(2 * gap, 5000)) {
      expected.push(t)
    }
    expect(sends.map((s) => s.at)).toEqual(expected)
    expect(new Set(sends.map((s) => toHex(s.bytes))).size).toBe(1)
    expect(isInitHello(sends[0]!.bytes)).toBe(true)
    // Nothing after giving up, no timer left.
    expect(link.clock.pending).toBe(0)
    expect(link.ends.a.stats()).toMatchObject({ handshakesFailed: 1, handshakesInitiated: 1 })
    // The next send tries again.
    link.filter = undefined
    const q = link.send('a', 'again')
    link.run(100)
    await q
    expect(link.received.b).toEqual(['again'])
  })

  it('replaces an attempt whose InitDone goes unanswered (the responder lost its state)', async () => {
    const link = new Link()
    link.filter = (from, m) => (from === 'a' && messageCounter(m) === 2 ? [] : [m])
    const p = link.send('a', 'x')
    link.run(9_000)
    expect(link.ends.a.sessions().next?.state).toBe('init-done-sent')
    const hellos = () =>
      new Set(link.sent.a.filter((s) => isInitHello(s.bytes)).map((s) => toHex(s.bytes)))
    expect(hellos().size).toBe(1)
    link.run(5_000)
    expect(hellos().size).toBe(2)
    expect(link.ends.a.stats().sessionsSuperseded).toBe(1)
    // b takes the newer InitHello in place of its pending attempt.
    expect(link.ends.b.stats().sessionsSuperseded).toBe(1)
    link.filter = undefined
    link.run(6_000)
    await p
    expect(link.received.b).toEqual(['x'])
    expect(link.ends.b.stats().handshakesCompleted).toBe(1)
  })

  it('converges under heavy loss, duplication and reordering on the link (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), async (seed) => {
        const rnd = new SeededRandom(seed)
        const link = new Link()
        const lossy = (m: Uint8Array) => {
          if (rnd.chance(0.4)) return []
          return rnd.chance(0.2) ? [m, m.slice()] : [m]
        }
        link.filter = (_from, m) => lossy(m)
        link.latency = 5 + rnd.int(50)
        // Both sides want to talk; each resends its message every second until it arrives
        // (data is lost too: a channel promises no delivery).
        for (let t = 0; t < 60_000; t += 100) {
          if (t % 1000 === 0) {
            if (link.received.b.length === 0) void link.send('a', 'from a').catch(() => {})
            if (link.received.a.length === 0) void link.send('b', 'from b').catch(() => {})
          }
          link.run(100)
          if (link.received.a.length > 0 && link.received.b.length > 0 && link.ends.a.ready) break
        }
        expect(new Set(link.received.a)).toEqual(new Set(['from b']))
        expect(new Set(link.received.b)).toEqual(new Set(['from a']))
        const [a, b] = [link.ends.a.sessions(), link.ends.b.sessions()]
        expect(toHex(a.current?.id)).toBe(toHex(b.current?.id))
      }),
      { numRuns: 25 },
    )
  })
})

describe('Channel: simultaneous initiation', () => {
  it('converges to one session, the one whose InitHello hashes lower (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 60 }),
        async (skew, latency, keyBase) => {
          const link = new Link(
            { a: { privateKey: key(10 + keyBase) }, b: { privateKey: key(100 + keyBase) } },
            { a: skew, b: -skew },
          )
          link.latency = latency
          const a = link.send('a', 'A')
          const b = link.send('b', 'B')
          const idA = link.ends.a.sessions().next!.id!
          const idB = link.ends.b.sessions().next!.id!
          link.run(1000)
          await Promise.all([a, b])
          expect(link.received).toEqual({ a: ['B'], b: ['A'] })
          const winner = Buffer.compare(idA, idB) < 0 ? idA : idB
          for (const side of ['a', 'b'] as const) {
            const s = link.ends[side].sessions()
            expect(toHex(s.current?.id)).toBe(toHex(winner))
            expect(s.next).toBeUndefined()
            expect(s.previous).toBeUndefined()
            expect(link.ends[side].stats().handshakesCompleted).toBe(1)
          }
          const loser = Buffer.compare(idA, idB) < 0 ? 'b' : 'a'
          expect(link.ends[other(loser)].stats().dropped.tieBreak).toBeGreaterThanOrEqual(1)
          expect(link.ends[loser].stats().sessionsSuperseded).toBe(1)
        },
      ),
      { numRuns: 30 },
    )
  })
})

describe('Channel: long runs', () => {
  for (const oneWay of [false, true]) {
    it(`ten minutes of steady ${oneWay ? 'one-way' : 'two-way'} traffic: nothing lost, one handshake per 120 s at most`, async () => {
      const link = new Link()
      link.latency = 20
      const minutes = 10
      let n = 0
      const pending: Promise<void>[] = []
      for (let t = 0; t < minutes * 60_000; t += 100) {
        pending.push(link.send('a', `a${n}`))
        if (!oneWay) pending.push(link.send('b', `b${n}`))
        n++
        link.run(100)
      }
      link.run(1000)
      await Promise.all(pending)
      const expected = (p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`)
      expect(link.received.b).toEqual(expected('a'))
      expect(link.received.a).toEqual(oneWay ? [] : expected('b'))
      const handshakes = link.ends.a.stats().handshakesCompleted
      expect(handshakes).toBeGreaterThanOrEqual((minutes * 60_000) / REKEY_AFTER_TIME_MS)
      expect(handshakes).toBeLessThanOrEqual(1 + (minutes * 60_000) / REKEY_AFTER_TIME_MS)
      expect(link.ends.b.stats().handshakesCompleted).toBe(handshakes)
      for (const side of ['a', 'b'] as const) {
        const d = link.ends[side].stats().dropped
        expect(d.replayed + d.unauthenticated + d.expired + d.badHandshake).toBe(0)
      }
      if (oneWay) expect(link.ends.b.stats().keepalivesSent).toBeGreaterThan(0)
    })
  }

  it('an idle channel does not rekey; a dead session is replaced on the next send', async () => {
    const link = new Link()
    const p = link.send('a', 'first')
    link.run(10)
    await p
    const id = link.ends.a.sessions().current!.id
    link.run(REKEY_AFTER_TIME_MS * 2)
    expect(link.sent.a.length + link.sent.b.length).toBe(5)
    // 240 s later the session has expired: a new handshake, and the message gets through.
    const q = link.send('a', 'second')
    expect(link.ends.a.ready).toBe(false)
    link.run(10)
    await q
    expect(link.received.b).toEqual(['first', 'second'])
    expect(toHex(link.ends.a.sessions().current!.id)).not.toBe(toHex(id))

    // Silence for longer than KEEP_ALIVE_TIMEOUT_MS, well before expiry: the session is dead.
    link.run(KEEP_ALIVE_TIMEOUT_MS + 1)
    expect(link.ends.a.ready).toBe(false)
    const r = link.send('a', 'third')
    expect(link.ends.a.sessions().next?.initiator).toBe(true)
    link.run(10)
    await r
    expect(link.received.b).toEqual(['first', 'second', 'third'])
    expect(link.ends.a.stats().handshakesCompleted).toBe(3)
  })

  it('the last-received time advances on every authenticated packet (no needless re-handshake)', async () => {
    const link = new Link()
    const pending: Promise<void>[] = []
    for (let t = 0; t < 60_000; t += 5_000) {
      pending.push(link.send('a', 'ping'), link.send('b', 'pong'))
      link.run(5_000)
    }
    await Promise.all(pending)
    expect(link.received.a).toHaveLength(12)
    // go-p2p would re-handshake every 15 s here; one session serves the whole minute.
    expect(link.ends.a.stats().handshakesCompleted).toBe(1)
    expect(link.ends.a.lastReceived).toBeGreaterThan(50_000)
  })
})

describe('Channel: replay', () => {
  it('delivers captured packets zero extra times: at once, after rekeys, from another source', async () => {
    const link = new Link()
    const tap: Uint8Array[] = []
    link.filter = (from, m) => {
      if (from === 'a') tap.push(m.slice())
      return [m]
    }
    const p = link.send('a', 'secret')
    link.run(10)
    await p
    const deliveredOnce = () =>
      expect(link.received.b.filter((m) => m === 'secret')).toHaveLength(1)
    deliveredOnce()
    for (const m of tap) link.inject('b', m)
    deliveredOnce()
    const bSessions = toHex(link.ends.b.sessions().current?.id)
    expect(bSessions).toBeDefined()
    // Keep the channel busy through two rekeys, so the captured session is gone.
    for (let t = 0; t < 2 * REKEY_AFTER_TIME_MS + 10_000; t += 1000) {
      void link.send('a', 'tick')
      link.run(1000)
    }
    expect(link.ends.b.stats().handshakesCompleted).toBeGreaterThanOrEqual(3)
    for (const m of tap) link.inject('b', m)
    deliveredOnce()
    // The same packets from another source: a channel that never saw this peer.
    const elsewhere = new Channel({ privateKey: key(2), clock: link.clock, send: () => {} })
    for (const m of tap) expect(elsewhere.deliver(m)).toBeUndefined()
    expect(elsewhere.stats().messagesDelivered).toBe(0)
    elsewhere.close()
    // The replayed InitHello did nothing at b.
    expect(link.ends.b.stats().dropped.staleTimestamp).toBeGreaterThan(0)
  })

  it('refuses an InitHello older than one already accepted; never compares with its own clock', async () => {
    // a's clock is an hour behind b's: b accepts a anyway.
    const link = new Link({}, { a: -3_600_000 })
    const p = link.send('a', 'one')
    const firstHello = link.sent.a[0]!.bytes
    link.run(10)
    await p
    // While b still holds that session, the InitHello is a retransmission: same answer, no change.
    let before = link.ends.b.sessions()
    link.inject('b', firstHello)
    expect(link.ends.b.sessions()).toEqual(before)
    expect(isInitHello(firstHello)).toBe(true)
    // a restarts twice, each time with a newer InitHello; the first session is gone from b.
    for (const msg of ['two', 'three']) {
      link.restart('a')
      const q = link.send('a', msg)
      link.run(10)
      await q
    }
    before = link.ends.b.sessions()
    link.inject('b', firstHello)
    expect(link.ends.b.stats().dropped.staleTimestamp).toBe(1)
    expect(link.ends.b.sessions()).toEqual(before)
    expect(link.received.b).toEqual(['one', 'two', 'three'])
  })

  it('a corrupted copy of an InitHello arriving first does not shut out the real one', async () => {
    const link = new Link()
    let corruptNext = true
    link.filter = (from, m) => {
      if (from === 'a' && isInitHello(m) && corruptNext) {
        corruptNext = false
        const bad = m.slice()
        bad[10]! ^= 0x40 // in the ephemeral key, which no signature covers
        return [bad, m]
      }
      return [m]
    }
    const p = link.send('a', 'real')
    link.run(10)
    await p
    expect(link.received.b).toEqual(['real'])
    expect(link.ends.a.stats().handshakeRetransmits).toBe(0)
  })
})

describe('Channel: keys', () => {
  it('pins the first key: a different key is refused later, in either role', async () => {
    const allowed: string[] = []
    const link = new Link({
      a: {
        allowKey: (k) => {
          allowed.push(toHex(k.data)!)
          return true
        },
      },
    })
    const p = link.send('a', 'hi')
    link.run(10)
    await p
    expect(allowed).toEqual([toHex(testKey(2).publicKey)])
    const a = link.ends.a
    // An impostor with key 3 initiates: a refuses its InitHello.
    const toA: Uint8Array[] = []
    const c = new Channel({ privateKey: key(3), clock: link.clock, send: (m) => void toA.push(m) })
    void c.waitReady().catch(() => {})
    for (const m of toA.splice(0)) a.deliver(m)
    expect(a.stats().dropped.keyRejected).toBe(1)
    // a initiates (its session went dead) and another impostor answers: refused too.
    link.run(KEEP_ALIVE_TIMEOUT_MS + 1)
    link.filter = () => []
    void a.send(utf8('to whom?')).catch(() => {})
    const hello = link.sent.a.at(-1)!.bytes
    expect(isInitHello(hello)).toBe(true)
    const toA2: Uint8Array[] = []
    const d = new Channel({ privateKey: key(4), clock: link.clock, send: (m) => void toA2.push(m) })
    d.deliver(hello)
    expect(toA2.map(messageCounter)).toEqual([1])
    a.deliver(toA2[0]!)
    expect(a.stats().dropped.keyRejected).toBe(2)
    expect(a.sessions().next?.state).toBe('init-hello-sent')
    expect(allowed).toHaveLength(1)
    expect(toHex(a.remoteKey()!.data)).toBe(toHex(testKey(2).publicKey))
    c.close()
    d.close()
  })

  it('allowKey refuses a peer outright', async () => {
    const link = new Link({ b: { allowKey: () => false } })
    const p = link.send('a', 'no')
    link.run(HANDSHAKE_TIMEOUT_MS + 10_000)
    await expect(p).rejects.toSatisfy((e) => codeOf(e) === 'ERR_HANDSHAKE')
    expect(link.ends.b.stats().dropped.keyRejected).toBeGreaterThan(0)
    expect(link.ends.b.remoteKey()).toBeUndefined()
  })
})

describe('Channel: crashes and clocks', () => {
  // Crash one side after k messages went out (k = 0 … 4: after InitHello, RespHello, InitDone,
  // RespDone, and after the first data), then keep both sides sending. Ephemeral keys are random,
  // so each repetition meets other tie-break outcomes.
  for (const crashed of ['a', 'b'] as const) {
    for (let k = 0; k <= 4; k++) {
      it(`recovers when ${crashed === 'a' ? 'the initiator' : 'the responder'} restarts after ${k} messages`, async () => {
        for (let rep = 0; rep < 8; rep++) {
          const link = new Link()
          let count = 0
          link.filter = (_from, m) => (++count <= k ? [m] : [])
          void link.send('a', 'before').catch(() => {})
          link.run(50)
          link.restart(crashed)
          link.filter = undefined
          const pending: Promise<unknown>[] = []
          const through = () =>
            link.received.a.some((m) => m.startsWith('b')) &&
            link.received.b.some((m) => m.startsWith('a'))
          let t = 0
          for (; t < 60_000 && !through(); t += 1000) {
            pending.push(link.send('a', `a${t}`).catch(() => {}))
            pending.push(link.send('b', `b${t}`).catch(() => {}))
            link.run(1000)
          }
          expect(through()).toBe(true)
          // From here on nothing is lost.
          const from = [link.received.a.length, link.received.b.length]
          for (let i = 0; i < 20; i++) {
            pending.push(link.send('a', `x${i}`), link.send('b', `y${i}`))
            link.run(500)
          }
          await Promise.all(pending)
          expect(link.received.b.slice(from[1])).toEqual(
            Array.from({ length: 20 }, (_, i) => `x${i}`),
          )
          expect(link.received.a.slice(from[0])).toEqual(
            Array.from({ length: 20 }, (_, i) => `y${i}`),
          )
          for (const side of ['a', 'b'] as const) link.ends[side].close()
        }
      })
    }
  }

  it('clock skew of ±10 minutes between peers locks nobody out', async () => {
    const link = new Link({}, { a: 10 * 60_000, b: -10 * 60_000 })
    const pending: Promise<void>[] = []
    let n = 0
    // The peer whose clock is behind initiates, then rekeys; then the other restarts and
    // initiates; then both cross-initiate after the session dies.
    for (let t = 0; t < 5 * 60_000; t += 500) {
      pending.push(link.send('b', `b${n}`), link.send('a', `a${n}`))
      n++
      link.run(500)
      if (t === 150_000) link.restart('a')
    }
    link.run(1000)
    await Promise.allSettled(pending)
    const allFrom = (p: string, got: string[]) => got.filter((m) => m.startsWith(p)).length
    // Only what a lost when it crashed may be missing.
    expect(allFrom('b', link.received.a)).toBeGreaterThan(n - 5)
    expect(allFrom('a', link.received.b)).toBeGreaterThan(n - 5)
    for (const side of ['a', 'b'] as const) {
      expect(link.ends[side].stats().dropped.staleTimestamp).toBe(0)
    }
  })

  it('the responder rekeys at 150 s when the initiator does not, so traffic never stops', async () => {
    const link = new Link({ a: { rekeyAfterTimeMs: REJECT_AFTER_TIME_MS * 2 } })
    // The initiator never rekeys (past REJECT_AFTER_TIME_MS); the responder does at 150 s.
    const pending: Promise<void>[] = []
    for (let t = 0; t < 200_000; t += 1000) {
      pending.push(link.send('a', `m${t}`))
      link.run(1000)
    }
    await Promise.all(pending)
    expect(link.received.b).toHaveLength(200)
    expect(link.ends.b.stats().handshakesInitiated).toBeGreaterThanOrEqual(1)
  })
})

// ---------------------------------------------------------------------------------------------
// Over memswarm, with the realm's fault injection on a ManualClock.

/** Drops messages in bursts: each message starts a burst of `len` losses with probability q. */
function burstLoss(seed: number, rate: number, len: number): TellTransform {
  const rnd = new SeededRandom(seed)
  // Loss fraction = len·q / (1 + (len − 1)·q); solve for q.
  const q = rate / (len - (len - 1) * rate)
  const burst = new Map<string, number>()
  return (msg) => {
    const k = `${msg.src}>${msg.dst}`
    const left = burst.get(k) ?? 0
    if (left > 0) {
      burst.set(k, left - 1)
      return undefined
    }
    if (rnd.chance(q)) {
      burst.set(k, len - 1)
      return undefined
    }
    return msg
  }
}

async function pairsOverMemswarm(
  clock: ManualClock,
  realm: Realm,
  pairs: number,
): Promise<{ channels: [Channel, Channel][]; received: Map<Channel, string[]>; stop: () => void }> {
  const channels: [Channel, Channel][] = []
  const received = new Map<Channel, string[]>()
  const loops: (() => void)[] = []
  for (let p = 0; p < pairs; p++) {
    const sa = realm.newSwarm()
    const sb = realm.newSwarm()
    const mk = (self: typeof sa, peer: MemAddr, k: number, wall: number) => {
      const ch = new Channel({
        privateKey: key(k),
        clock,
        wallClock: () => wall + clock.now(),
        send: (m) => self.tell(peer, m),
      })
      received.set(ch, [])
      let stopped = false
      const loop = async () => {
        while (!stopped) {
          try {
            await self.receive((msg) => {
              const d = ch.deliver(msg.payload)
              if (d !== undefined) received.get(ch)!.push(text(d))
            })
          } catch {
            return
          }
        }
      }
      void loop()
      loops.push(() => {
        stopped = true
      })
      return ch
    }
    channels.push([
      mk(sa, sb.addr, 2 * p + 1, BASE_WALL),
      mk(sb, sa.addr, 2 * p + 2, BASE_WALL + 7),
    ])
  }
  return {
    channels,
    received,
    stop: () => {
      for (const l of loops) l()
    },
  }
}

describe('Channel over memswarm (ManualClock)', () => {
  let cleanup: (() => Promise<void>) | undefined
  afterEach(async () => {
    await cleanup?.()
    cleanup = undefined
  })

  /** Each side of each pair sends `<side><pair>` every 500 ms until the other has it. */
  async function exchange(
    clock: ManualClock,
    net: Awaited<ReturnType<typeof pairsOverMemswarm>>,
  ): Promise<void> {
    const missing = () =>
      net.channels.flatMap(([a, b], i) => [
        ...(net.received.get(b)!.includes(`a${i}`) ? [] : [() => a.send(utf8(`a${i}`))]),
        ...(net.received.get(a)!.includes(`b${i}`) ? [] : [() => b.send(utf8(`b${i}`))]),
      ])
    for (let t = 0; t < 60_000 && missing().length > 0; t += 500) {
      for (const send of missing()) void send().catch(() => {})
      await clock.tick(500)
    }
    net.channels.forEach(([a, b], i) => {
      expect(new Set(net.received.get(a))).toEqual(new Set([`b${i}`]))
      expect(new Set(net.received.get(b))).toEqual(new Set([`a${i}`]))
    })
  }

  async function runUntil(clock: ManualClock, done: () => boolean, limitMs: number): Promise<void> {
    for (let t = 0; t < limitMs && !done(); t += 50) await clock.tick(50)
  }

  it('50 handshakes at 30% loss in bursts of 3 all complete', async () => {
    const clock = new ManualClock(0)
    const realm = new Realm({
      clock: clock as Clock,
      latencyMs: 5,
      transform: burstLoss(7, 0.3, 3),
    })
    const net = await pairsOverMemswarm(clock, realm, 50)
    cleanup = async () => {
      net.stop()
      for (const [a, b] of net.channels) {
        a.close()
        b.close()
      }
      await realm.close()
    }
    // Every a waits for its session; b becomes ready first (on InitDone), a on RespDone.
    const ready = net.channels.map(([a]) => a.waitReady())
    // (`ready` turns false again once a pair has been idle for 15 s: count completions.)
    const allReady = () =>
      net.channels.every(
        ([a, b]) => a.stats().handshakesCompleted > 0 && b.stats().handshakesCompleted > 0,
      )
    await runUntil(clock, allReady, HANDSHAKE_TIMEOUT_MS)
    await Promise.all(ready)
    for (const [a, b] of net.channels) {
      expect(toHex(a.sessions().current?.id)).toBe(toHex(b.sessions().current?.id))
      expect(a.stats().handshakesCompleted).toBe(1)
      // b may have completed an attempt whose RespDone never reached a before a replaced it.
      expect(b.stats().handshakesCompleted).toBeGreaterThanOrEqual(1)
      expect(b.stats().handshakesCompleted).toBeLessThanOrEqual(a.stats().handshakesInitiated)
    }
    // The keys work: data (resent while lost, as datagrams go) arrives.
    await exchange(clock, net)
    const stats = realm.stats()
    expect(stats.transformedAway / stats.tells).toBeGreaterThan(0.2)
    const retransmits = net.channels.reduce(
      (n, [a, b]) => n + a.stats().handshakeRetransmits + b.stats().handshakeRetransmits,
      0,
    )
    expect(retransmits).toBeGreaterThan(0)
  })

  it('converges with loss, duplication, reordering and jitter; both sides initiating', async () => {
    const clock = new ManualClock(0)
    const realm = new Realm({
      clock: clock as Clock,
      seed: 11,
      loss: 0.25,
      duplicate: 0.2,
      reorder: 0.3,
      reorderDelayMs: 40,
      latencyMs: 10,
      jitterMs: 30,
    })
    const net = await pairsOverMemswarm(clock, realm, 20)
    cleanup = async () => {
      net.stop()
      for (const [a, b] of net.channels) {
        a.close()
        b.close()
      }
      await realm.close()
    }
    // Both sides of every pair initiate at once.
    const ready = net.channels.flatMap(([a, b]) => [a.waitReady(), b.waitReady()])
    // (`ready` turns false again once a pair has been idle for 15 s: count completions.)
    const allReady = () =>
      net.channels.every(
        ([a, b]) => a.stats().handshakesCompleted > 0 && b.stats().handshakesCompleted > 0,
      )
    await runUntil(clock, allReady, HANDSHAKE_TIMEOUT_MS)
    await Promise.all(ready)
    await exchange(clock, net)
    for (const [a, b] of net.channels) {
      expect(toHex(a.sessions().current?.id)).toBe(toHex(b.sessions().current?.id))
      // Usually one session; more only when an attempt was replaced after its RespDone was lost.
      const attempts = a.stats().handshakesInitiated + b.stats().handshakesInitiated
      for (const c of [a, b]) {
        expect(c.stats().handshakesCompleted).toBeGreaterThanOrEqual(1)
        expect(c.stats().handshakesCompleted).toBeLessThanOrEqual(attempts)
      }
    }
  })
})
