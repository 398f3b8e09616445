import fc from 'fast-check'
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type Addr,
  type Message,
  type Swarm,
  isAskError,
  isAsker,
  isBadAddrError,
  isClosedError,
  isSecure,
  isUnreachableError,
} from '../../core/index.js'
import { newAskSwarm } from '../askswarm/index.js'
import { FragSwarm } from '../fragswarm/index.js'
import { Realm } from '../memswarm/index.js'
import {
  AskMultiSwarm,
  MultiAddr,
  MultiSwarm,
  SecureAskMultiSwarm,
  SecureMultiSwarm,
  newMultiSwarm,
} from './index.js'

function nextMessage<A extends Addr>(s: Swarm<A>): Promise<Message<A>> {
  return new Promise((resolve, reject) => {
    s.receive((m) => resolve(m)).catch(reject)
  })
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

/** Two nodes, each with a child in realm `a` and a child in realm `b`. */
function pair() {
  const ra = new Realm()
  const rb = new Realm({ mtu: 1000 })
  const x = newMultiSwarm({ a: ra.newSwarm(), b: rb.newSwarm() })
  const y = newMultiSwarm({ a: ra.newSwarm(), b: rb.newSwarm() })
  return { x, y, close: () => Promise.all([x.close(), y.close()]) }
}

describe('multiswarm', () => {
  it('routes tells by scheme and merges what every child receives', async () => {
    const { x, y, close } = pair()
    try {
      const [ya, yb] = y.localAddrs()
      expect(y.localAddrs().map(String)).toEqual(['a://1', 'b://1'])
      let got = nextMessage(y)
      await x.tell(ya!, Uint8Array.of(1))
      let m = await got
      expect(m.payload).toEqual(Uint8Array.of(1))
      expect(m.src.toString()).toBe('a://0')
      expect(m.dst.toString()).toBe('a://1')
      got = nextMessage(y)
      await x.tell(yb!, Uint8Array.of(2))
      m = await got
      expect(m.src.toString()).toBe('b://0')
      // msg.src can be told back to.
      const back = nextMessage(x)
      await y.tell(m.src, Uint8Array.of(3))
      expect((await back).src.toString()).toBe('b://1')
      expect(x.mtu(ya!)).toBe(64 * 1024)
      expect(x.mtu(yb!)).toBe(1000)
      expect(x.maxIncomingSize()).toBe(64 * 1024)
      expect(x.schemes()).toEqual(['a', 'b'])
    } finally {
      await close()
    }
  })

  it('rejects an unknown scheme with ERR_BAD_ADDR everywhere', async () => {
    const { x, close } = pair()
    const ghost = new MultiAddr('zz', x.localAddrs()[0]!.inner)
    try {
      expect(isBadAddrError(await rejection(x.tell(ghost, Uint8Array.of(1))))).toBe(true)
      expect(isBadAddrError(await rejection(x.ask(ghost, Uint8Array.of(1))))).toBe(true)
      expect(() => x.mtu(ghost)).toThrow(expect.objectContaining({ code: 'ERR_BAD_ADDR' }))
      expect(() => x.parseAddr('zz://0')).toThrow(/unknown multiswarm scheme/)
      expect(() => x.parseAddr('a://x')).toThrow(expect.objectContaining({ code: 'ERR_BAD_ADDR' }))
      expect(x.parseAddr('b://7').toString()).toBe('b://7')
    } finally {
      await close()
    }
  })

  it('parseAddr throws only ERR_BAD_ADDR and its results round-trip (property)', async () => {
    const { x, close } = pair()
    try {
      const text = fc.oneof(
        fc.string(),
        fc
          .tuple(fc.constantFrom('a', 'b', 'c', ''), fc.string({ maxLength: 6 }))
          .map(([s, r]) => `${s}://${r}`),
        fc.tuple(fc.constantFrom('a://', 'b://'), fc.nat({ max: 1e6 })).map(([s, n]) => `${s}${n}`),
      )
      fc.assert(
        fc.property(text, (t) => {
          let a: MultiAddr
          try {
            a = x.parseAddr(t)
          } catch (e) {
            expect(isBadAddrError(e)).toBe(true)
            return
          }
          expect(x.parseAddr(a.toString()).toString()).toBe(a.toString())
        }),
        { numRuns: 1000 },
      )
    } finally {
      await close()
    }
  })

  it('asks through the child named by the scheme, and serves asks from every child', async () => {
    const { x, y, close } = pair()
    try {
      expect(isAsker(x)).toBe(true)
      const served: string[] = []
      const server = (async () => {
        for (let i = 0; i < 3; i++) {
          await y.serveAsk((req) => {
            served.push(`${req.src}>${req.dst}`)
            if (req.payload[0] === 0) throw new Error('no zeros')
            return [Uint8Array.of(req.payload[0]! * 2)]
          })
        }
      })()
      const [ya, yb] = y.localAddrs()
      expect(await x.ask(ya!, Uint8Array.of(2))).toEqual(Uint8Array.of(4))
      expect(await x.ask(yb!, Uint8Array.of(5))).toEqual(Uint8Array.of(10))
      const err = await rejection(x.ask(yb!, Uint8Array.of(0)))
      expect(isAskError(err)).toBe(true)
      expect(String(err)).toMatch(/no zeros/)
      await server
      expect(served).toEqual(['a://0>a://1', 'b://0>b://1', 'b://0>b://1'])
    } finally {
      await close()
    }
  })

  it('fails asks as busy once its ask inbox is full, and frees the slot when the asker gives up', async () => {
    const r = new Realm()
    const x = newMultiSwarm({ a: r.newSwarm() })
    const y = newMultiSwarm({ a: r.newSwarm() }, { askInboxItems: 1, asksPerChild: 4 })
    try {
      const dst = y.localAddrs()[0]!
      const first = new AbortController()
      const waiting = x.ask(dst, Uint8Array.of(1), { signal: first.signal })
      // Wait until the first ask sits in y's inbox, then the second one finds it full.
      await waitFor(() => (y.stats().askInbox as { queued: number }).queued === 1)
      const busy = await rejection(x.ask(dst, Uint8Array.of(2)))
      expect(isAskError(busy)).toBe(true)
      expect(String(busy)).toMatch(/too many asks/)
      first.abort(new Error('gave up'))
      expect(String(await rejection(waiting))).toMatch(/gave up/)
      // The dead ask is skipped; a new one is served.
      const third = x.ask(dst, Uint8Array.of(3))
      await y.serveAsk((req) => req.payload)
      expect(await third).toEqual(Uint8Array.of(3))
    } finally {
      await Promise.all([x.close(), y.close()])
    }
  })

  it('is an Asker exactly when every child asks', async () => {
    const r = new Realm()
    const mixed = newMultiSwarm({ a: r.newSwarm(), f: new FragSwarm(r.newSwarm()) })
    const asking = newMultiSwarm({ a: r.newSwarm() })
    try {
      expect(isAsker(mixed)).toBe(false)
      expect(mixed).toBeInstanceOf(MultiSwarm)
      expect(isAsker(asking)).toBe(true)
      expect(asking).toBeInstanceOf(AskMultiSwarm)
      expectTypeOf(mixed).toEqualTypeOf<MultiSwarm>()
      expectTypeOf(asking).toEqualTypeOf<AskMultiSwarm>()
      expect(() => new AskMultiSwarm({ f: new FragSwarm(r.newSwarm()) })).toThrow(/does not ask/)
    } finally {
      await Promise.all([mixed.close(), asking.close()])
      await r.close()
    }
  })

  it('is Secure exactly when every child is secure with one key', async () => {
    const ra = new Realm()
    const rb = new Realm()
    const key = (n: number) => new Uint8Array(32).fill(n)
    const x = newMultiSwarm({ a: ra.newSecureSwarm(key(1)), b: rb.newSecureSwarm(key(1)) })
    const y = newMultiSwarm({ a: ra.newSecureSwarm(key(2)), b: rb.newSecureSwarm(key(2)) })
    try {
      expect(isSecure(x)).toBe(true)
      expect(x).toBeInstanceOf(SecureAskMultiSwarm)
      expectTypeOf(x).toEqualTypeOf<SecureAskMultiSwarm<ReturnType<typeof key>>>()
      expect(x.publicKey()).toEqual(key(1))
      const got = new Promise<Uint8Array>((resolve, reject) => {
        y.receive(async (m) => resolve(await y.lookupPublicKey(m.src))).catch(reject)
      })
      await x.tell(y.localAddrs()[1]!, Uint8Array.of(1))
      expect(await got).toEqual(key(1))
      expect(await x.lookupPublicKey(y.localAddrs()[0]!)).toEqual(key(2))
      const ghost = new MultiAddr('zz', y.localAddrs()[0]!.inner)
      expect(isBadAddrError(await rejection(x.lookupPublicKey(ghost)))).toBe(true)

      expect(() =>
        newMultiSwarm({ a: ra.newSecureSwarm(key(1)), b: rb.newSecureSwarm(key(9)) }),
      ).toThrow(/different public keys/)
      const loose = newMultiSwarm(
        { a: ra.newSecureSwarm(key(1)), b: rb.newSecureSwarm(key(9)) },
        { secure: false },
      )
      expect(isSecure(loose)).toBe(false)
      expectTypeOf(loose).toEqualTypeOf<AskMultiSwarm>()
      const custom = newMultiSwarm(
        { a: ra.newSecureSwarm('k1'), b: rb.newSecureSwarm('K1') },
        { keyEquals: (p: string, q: string) => p.toLowerCase() === q.toLowerCase() },
      )
      expect(custom.publicKey()).toBe('k1')
      const half = newMultiSwarm({ a: ra.newSecureSwarm(key(1)), b: rb.newSwarm() })
      expect(isSecure(half)).toBe(false)
      expect(() => new SecureMultiSwarm({ b: rb.newSwarm() })).toThrow(/not secure/)
      await Promise.all([loose.close(), custom.close(), half.close()])
    } finally {
      await Promise.all([x.close(), y.close()])
      await Promise.all([ra.close(), rb.close()])
    }
  })

  it('close closes every child, stops every loop and rejects pending calls', async () => {
    const r = new Realm()
    const a = r.newSwarm()
    const b = r.newSwarm()
    const x = newMultiSwarm({ a, b })
    const pendingReceive = x.receive(() => {})
    const pendingServe = x.serveAsk(() => Uint8Array.of(0))
    const first = x.close()
    expect(x.close()).toBe(first)
    await first
    expect(a.closed && b.closed).toBe(true)
    expect(isClosedError(await rejection(pendingReceive))).toBe(true)
    expect(isClosedError(await rejection(pendingServe))).toBe(true)
    expect(isClosedError(await rejection(x.tell(x.localAddrs()[0]!, Uint8Array.of(1))))).toBe(true)
    expect(isClosedError(await rejection(x.ask(x.localAddrs()[0]!, Uint8Array.of(1))))).toBe(true)
  })

  it('keeps working when one child closes underneath', async () => {
    const r = new Realm()
    const a = r.newSwarm()
    const x = newMultiSwarm({ a, b: r.newSwarm() })
    const y = newMultiSwarm({ a: r.newSwarm(), b: r.newSwarm() })
    try {
      await a.close()
      await waitFor(() => x.stats().childrenClosed === 1)
      const got = nextMessage(x)
      await y.tell(x.localAddrs()[1]!, Uint8Array.of(7))
      expect((await got).payload).toEqual(Uint8Array.of(7))
    } finally {
      await Promise.all([x.close(), y.close()])
    }
  })

  it('closes itself once every child is closed underneath: pending receive, serveAsk and ask reject', async () => {
    const r = new Realm()
    const a = r.newSwarm()
    const b = r.newSwarm()
    const x = newMultiSwarm({ a, b })
    const y = newMultiSwarm({ a: r.newSwarm() })
    try {
      const pendingReceive = rejection(x.receive(() => {}))
      const pendingServe = rejection(x.serveAsk(() => Uint8Array.of(0)))
      // y never serves: the ask waits until x's child closes under it.
      const pendingAsk = rejection(x.ask(y.localAddrs()[0]!, Uint8Array.of(1)))
      await a.close()
      await waitFor(() => x.stats().childrenClosed === 1)
      expect(isClosedError(await pendingAsk)).toBe(true)
      await b.close()
      expect(isClosedError(await pendingReceive)).toBe(true)
      expect(isClosedError(await pendingServe)).toBe(true)
      expect(x.stats().childrenClosed).toBe(2)
      expect(isClosedError(await rejection(x.receive(() => {})))).toBe(true)
      expect(() => x.localAddrs()).not.toThrow()
    } finally {
      await Promise.all([x.close(), y.close()])
    }
  })

  describe('an ask held by a node that closes fails as unreachable, never as a handler error', () => {
    const cases = {
      memswarm: (r: Realm) => r.newSwarm(),
      'askswarm over memswarm': (r: Realm) => newAskSwarm(r.newSwarm()),
      // A child whose close takes a turn before it reaches the askswarm (as any wrapper with
      // asynchronous teardown): asks failed by the multiswarm meanwhile would reach the
      // askswarm as handler errors, and be answered (and cached) as such.
      'askswarm behind a wrapper whose close takes a turn': (r: Realm) =>
        closingLate(newAskSwarm(r.newSwarm())),
    }
    for (const [name, child] of Object.entries(cases)) {
      it(`children: ${name}`, async () => {
        const r = new Realm()
        const x = newMultiSwarm({ a: child(r) })
        const y = newMultiSwarm({ a: child(r) })
        try {
          const dst = y.localAddrs()[0]!
          // Nobody serves on y: the ask waits in y's ask inbox (forwarded from its child).
          const held = rejection(
            x.ask(dst, Uint8Array.of(1), { signal: AbortSignal.timeout(60_000) }),
          )
          await waitFor(() => (y.stats().askInbox as { queued: number }).queued === 1)
          await y.close()
          const err = await held
          expect(isAskError(err)).toBe(false)
          expect(isUnreachableError(err)).toBe(true)
        } finally {
          await Promise.all([x.close(), y.close()])
        }
      })
    }
  })

  it('refuses bad children as argument errors', () => {
    const r = new Realm()
    expect(() => new MultiSwarm({})).toThrow(/at least one/)
    expect(() => new MultiSwarm({ 'a:b': r.newSwarm() })).toThrow(/invalid scheme/)
    expect(() => new MultiSwarm({ a: {} as unknown as Swarm<Addr> })).toThrow(/not a swarm/)
    expect(() => new MultiSwarm({ a: r.newSwarm() }, { asksPerChild: 0 })).toThrow(RangeError)
  })
})

/** `s`, except that `close()` first yields one turn of the event loop. */
function closingLate<S extends Swarm<Addr>>(s: S): S {
  return new Proxy(s, {
    get(target, prop) {
      if (prop === 'close' || prop === Symbol.asyncDispose) {
        return async () => {
          await new Promise((r) => setImmediate(r))
          await target.close()
        }
      }
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

/** Yields to the event loop until `cond` holds (no sleeping). */
async function waitFor(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition not reached')
}
