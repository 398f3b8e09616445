/**
 * The channel table on its own: caps, who is evicted to make room, expiry, and the
 * anti-amplification credit. Channels are fakes (a `lastReceived` the test sets, a `close` that
 * is counted); the time is a number.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PeerID } from '../../core/index.js'
import { MemAddr } from '../memswarm/index.js'
import { P2PKEAddr } from './addr.js'
import { type ChannelEntry, ChannelTable, type TableLimits } from './table.js'

class FakeChannel {
  lastReceived = Number.NEGATIVE_INFINITY
  closes = 0
  close(): void {
    this.closes++
  }
}

type Entry = ChannelEntry<MemAddr, FakeChannel>

const id = (n: number): PeerID => new PeerID(new Uint8Array(32).fill(n))
const at = (n: number) => new MemAddr(n)
const pk = { algorithm: '1.3.101.112', data: new Uint8Array(32) }

const LIMITS: TableLimits = {
  maxChannels: 8,
  maxHalfOpen: 4,
  maxPerAddr: 2,
  halfOpenTimeout: 1000,
  idleTimeout: 5000,
}

function table(limits: Partial<TableLimits> = {}) {
  const closed: Entry[] = []
  const t = new ChannelTable<MemAddr, FakeChannel>(
    { ...LIMITS, ...limits },
    { open: () => new FakeChannel(), closed: (e) => closed.push(e) },
  )
  return { t, closed }
}

describe('ChannelTable', () => {
  it('creates one entry per (PeerID, inner address), found by its address text', () => {
    const { t } = table()
    const a = t.create(id(1), at(1), true, 10)!
    const b = t.create(id(2), at(1), false, 20)!
    expect(a.key).toBe(`${id(1)}@1`)
    expect(a.addr.toString()).toBe(a.key)
    expect(a).toMatchObject({ inbound: true, createdAt: 10, lastUsed: 10, waiting: 0 })
    expect(a).toMatchObject({ established: false, remoteKey: undefined, closed: false })
    expect(t.get(a.key)).toBe(a)
    expect(t.get(b.key)).toBe(b)
    expect([...t.values()]).toEqual([a, b])
    expect(t.stats()).toMatchObject({ open: 2, halfOpenInbound: 1, created: 2, established: 0 })
  })

  it('outbound returns the existing entry, no longer a half-open eviction candidate, or a new one', () => {
    const { t } = table({ maxHalfOpen: 1 })
    const a = t.create(id(1), at(1), true, 0)!
    expect(t.outbound(new P2PKEAddr(id(1), at(1)), 5)).toBe(a)
    expect(t.stats().halfOpenInbound).toBe(0)
    t.create(id(2), at(2), true, 0)
    t.create(id(3), at(3), true, 0) // evicts id(2), the only half-open candidate
    expect(a.closed).toBe(false)
    const c = t.outbound(new P2PKEAddr(id(4), at(4)), 7)!
    expect(c).toMatchObject({ inbound: false, createdAt: 7 })
  })

  it('per address: a half-open inbound entry goes first; a remote InitHello never evicts an established one; a local call evicts the LRU', () => {
    const { t, closed } = table({ maxPerAddr: 2 })
    const est1 = t.create(id(1), at(1), false, 0)!
    const half = t.create(id(2), at(1), true, 0)!
    t.established(est1, pk)
    const inb = t.create(id(3), at(1), true, 1)!
    expect(closed).toEqual([half])
    t.established(inb, pk)
    expect(t.create(id(4), at(1), true, 2)).toBeUndefined()
    expect(t.stats()).toMatchObject({ open: 2, evicted: 1 })
    est1.channel.lastReceived = 100
    inb.lastUsed = 50
    const out = t.create(id(5), at(1), false, 200)!
    expect(out).toBeDefined()
    expect(closed).toEqual([half, inb])
    // Nobody evicts an entry someone waits on.
    est1.waiting = 1
    out.waiting = 1
    expect(t.create(id(6), at(1), false, 300)).toBeUndefined()
    expect(t.stats()).toMatchObject({ open: 2, evicted: 2 })
  })

  it('a new half-open inbound entry evicts the oldest one when maxHalfOpen are open', () => {
    const { t, closed } = table({ maxHalfOpen: 2 })
    const [a, b] = [t.create(id(1), at(1), true, 0)!, t.create(id(2), at(2), true, 1)!]
    const c = t.create(id(3), at(3), true, 2)!
    expect(closed).toEqual([a])
    expect(t.stats()).toMatchObject({ open: 2, halfOpenInbound: 2, evicted: 1 })
    t.established(b, pk)
    t.create(id(4), at(4), true, 3)
    expect(closed).toEqual([a])
    expect(c.closed).toBe(false)
  })

  it('overall: a half-open inbound entry goes first, then (for a local call only) the LRU nobody waits on', () => {
    const { t, closed } = table({ maxChannels: 3, maxHalfOpen: 3 })
    const e1 = t.create(id(1), at(1), false, 0)!
    const e2 = t.create(id(2), at(2), false, 0)!
    const h = t.create(id(3), at(3), true, 0)!
    t.established(e1, pk)
    t.established(e2, pk)
    e1.lastUsed = 10
    const e4 = t.create(id(4), at(4), false, 20)!
    expect(closed).toEqual([h])
    t.established(e4, pk)
    expect(t.create(id(5), at(5), true, 30)).toBeUndefined()
    expect(t.create(id(6), at(6), false, 30)).toBeDefined()
    expect(closed).toEqual([h, e2])
    for (const e of t.values()) e.waiting = 1
    expect(t.create(id(7), at(7), false, 40)).toBeUndefined()
    expect(t.stats()).toMatchObject({ open: 3, evicted: 2 })
  })

  it('sweep: half-open after halfOpenTimeout from creation or last use, established after idleTimeout without traffic; never while waited on', () => {
    const { t } = table()
    const half = t.create(id(1), at(1), true, 0)!
    const used = t.create(id(2), at(2), false, 0)!
    const waited = t.create(id(3), at(3), false, 0)!
    const est = t.create(id(4), at(4), false, 0)!
    t.established(est, pk)
    used.lastUsed = 500
    waited.waiting = 1
    t.sweep(999)
    expect(t.size).toBe(4)
    t.sweep(1000)
    expect(half.closed).toBe(true)
    expect(used.closed).toBe(false)
    t.sweep(1500)
    expect(used.closed).toBe(true)
    est.channel.lastReceived = 3000
    t.sweep(7999)
    expect(est.closed).toBe(false)
    t.sweep(8000)
    expect(est.closed).toBe(true)
    t.sweep(1e9)
    expect(waited.closed).toBe(false)
    expect(t.stats()).toMatchObject({ open: 1, halfOpenExpired: 2, idleExpired: 1 })
    expect(t.sweepEveryMs).toBe(250)
    expect(table({ halfOpenTimeout: 8, idleTimeout: 8 }).t.sweepEveryMs).toBe(10)
  })

  it('anti-amplification: a half-open inbound entry spends only what its address sent; others always send', () => {
    const { t } = table()
    const inb = t.create(id(1), at(1), true, 0)!
    const other = t.create(id(2), at(1), false, 0)!
    expect(t.received('9', 100)).toBeUndefined()
    t.credit(inb, 166)
    expect(t.spend(inb, 164)).toBe(true)
    expect(t.spend(inb, 164)).toBe(false)
    expect(t.received('1', 162)).toEqual([inb, other])
    expect(t.spend(inb, 164)).toBe(true) // 2 left + 162 received from the address
    expect(t.spend(other, 10_000)).toBe(true)
    t.established(inb, pk)
    expect(t.spend(inb, 10_000)).toBe(true)
    expect(t.stats().sendsWithheld).toBe(1)
  })

  it('close: once, counted only with a reason, the address forgotten with its last entry; closeAll closes the rest uncounted', () => {
    const { t, closed } = table()
    const a = t.create(id(1), at(1), true, 0)!
    const b = t.create(id(2), at(2), false, 0)!
    const c = t.create(id(3), at(2), false, 0)!
    t.close(a, 'halfOpenExpired')
    t.close(a, 'halfOpenExpired')
    expect(a.channel.closes).toBe(1)
    expect(t.received('1', 10)).toBeUndefined()
    t.closeAll()
    expect([b, c].map((e) => [e.closed, e.channel.closes])).toEqual([
      [true, 1],
      [true, 1],
    ])
    expect(closed).toEqual([a, b, c])
    expect(t.stats()).toMatchObject({ open: 0, halfOpenInbound: 0, halfOpenExpired: 1, evicted: 0 })
    expect(t.received('2', 10)).toBeUndefined()
  })

  it('keeps every cap, closes each channel exactly once, and never drops an entry someone waits on (property)', () => {
    const limits = {
      maxChannels: 6,
      maxHalfOpen: 3,
      maxPerAddr: 2,
      halfOpenTimeout: 100,
      idleTimeout: 300,
    }
    const op = fc.oneof(
      fc.record({ kind: fc.constant('inbound' as const), peer: fc.nat(7), addr: fc.nat(3) }),
      fc.record({ kind: fc.constant('outbound' as const), peer: fc.nat(7), addr: fc.nat(3) }),
      fc.record({ kind: fc.constant('establish' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('release' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('hear' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('sweep' as const), dt: fc.nat(200) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const { t, closed } = table(limits)
        const all: Entry[] = []
        let now = 0
        const pick = (i: number) => {
          const open = [...t.values()]
          return open.length === 0 ? undefined : open[i % open.length]
        }
        for (const o of ops) {
          if (o.kind === 'inbound') {
            if (t.get(`${id(o.peer)}@${o.addr}`) === undefined) {
              const e = t.create(id(o.peer), at(o.addr), true, now)
              if (e) all.push(e)
            }
          } else if (o.kind === 'outbound') {
            // As the swarm does: the entry is claimed, then waited on.
            const e = t.outbound(new P2PKEAddr(id(o.peer), at(o.addr)), now)
            if (e) {
              if (!all.includes(e)) all.push(e)
              e.waiting++
              e.lastUsed = now
            }
          } else if (o.kind === 'establish') {
            const e = pick(o.i)
            if (e && !e.established) t.established(e, pk)
          } else if (o.kind === 'release') {
            const e = [...t.values()].filter((x) => x.waiting > 0)[o.i % 8]
            if (e) e.waiting--
          } else if (o.kind === 'hear') {
            const e = pick(o.i)
            if (e) e.channel.lastReceived = now
          } else {
            now += o.dt
            t.sweep(now)
          }
          const st = t.stats()
          expect(st.open).toBeLessThanOrEqual(limits.maxChannels)
          expect(st.halfOpenInbound).toBeLessThanOrEqual(limits.maxHalfOpen)
          const perAddr = new Map<string, number>()
          for (const e of t.values()) {
            const k = e.addr.inner.toString()
            perAddr.set(k, (perAddr.get(k) ?? 0) + 1)
            expect(e.channel.closes).toBe(0)
          }
          for (const n of perAddr.values()) expect(n).toBeLessThanOrEqual(limits.maxPerAddr)
          for (const e of all) {
            expect(e.channel.closes).toBe(e.closed ? 1 : 0)
            if (e.closed) expect(e.waiting).toBe(0)
          }
          expect(closed.length).toBe(all.filter((e) => e.closed).length)
          expect(st.created).toBe(all.length)
        }
      }),
      { numRuns: 300 },
    )
  })
})
