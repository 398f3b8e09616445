import { getEventListeners } from 'node:events'
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type Addr,
  type CallOptions,
  ErrorCodes,
  type Message,
  type Swarm,
  errorCode,
  isAskError,
  isAsker,
  isClosedError,
  isMTUExceededError,
  isSecure,
  isUnreachableError,
} from '../../core/index.js'
import { newAskSwarm } from '../../s/askswarm/index.js'
import { FragSwarm } from '../../s/fragswarm/index.js'
import { UDPSwarm } from '../../s/udpswarm/index.js'
import { type MemAddr, type MemSwarm, Realm, type SecureMemSwarm } from '../../s/memswarm/index.js'
import {
  AskMuxChannel,
  type Mux,
  MuxChannel,
  SecureAskMuxChannel,
  newMux,
  newStringMux,
  newUint16Mux,
  newUint32Mux,
  newUint64Mux,
  newVarintMux,
} from './index.js'
import {
  type ChannelCodec,
  stringCodec,
  uint16Codec,
  uint32Codec,
  uint64Codec,
  varintCodec,
} from './wire.js'

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

/** Yields to the event loop until `cond` holds (no sleeping). */
async function waitFor(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition not reached')
}

interface Kind<Id> {
  codec: ChannelCodec<Id>
  a: Id
  b: Id
  header: number[]
}

const kinds = [
  { codec: stringCodec, a: 'chat', b: 'files', header: [4, 0x63, 0x68, 0x61, 0x74] },
  { codec: uint16Codec, a: 7, b: 0xffff, header: [0, 7] },
  { codec: uint32Codec, a: 7, b: 0xffff_ffff, header: [0, 0, 0, 7] },
  { codec: uint64Codec, a: 7n, b: (1n << 64n) - 1n, header: [0, 0, 0, 0, 0, 0, 0, 7] },
  { codec: varintCodec, a: 7, b: 300, header: [7] },
] as Kind<unknown>[]

describe('p2pmux', () => {
  for (const k of kinds) {
    describe(`${k.codec.kind} mux over memswarm`, () => {
      it('delivers each tell to its channel, with the go-p2p header on the inner swarm', async () => {
        const seen: Uint8Array[] = []
        const realm = new Realm({
          mtu: 1000,
          transform: (m) => {
            seen.push(m.payload.slice())
            return m
          },
        })
        const mx = newMux(realm.newSwarm(), k.codec)
        const my = newMux(realm.newSwarm(), k.codec)
        try {
          const xa = mx.open(k.a)
          const ya = my.open(k.a)
          const yb = my.open(k.b)
          const dst = ya.localAddrs()[0]!
          const gotA = nextMessage(ya)
          const gotB = nextMessage(yb)
          await xa.tell(dst, Uint8Array.of(1, 2))
          const m = await gotA
          expect(m.payload).toEqual(Uint8Array.of(1, 2))
          expect(m.src.toString()).toBe(xa.localAddrs()[0]!.toString())
          expect([...seen[0]!]).toEqual([...k.header, 1, 2])
          // Channel b heard nothing; a tell on b reaches it.
          await mx.open(k.b).tell(dst, Uint8Array.of(3))
          expect((await gotB).payload).toEqual(Uint8Array.of(3))
          expect(xa.mtu(dst)).toBe(1000 - k.header.length)
          expect(ya.maxIncomingSize()).toBe(1000 - k.header.length)
          expect(
            isMTUExceededError(
              await rejection(xa.tell(dst, new Uint8Array(1001 - k.header.length))),
            ),
          ).toBe(true)
          expect(my.stats()).toMatchObject({ channels: 2, tellsIn: 2, tellsUnknownChannel: 0 })
        } finally {
          await Promise.all([mx.close(), my.close()])
        }
      })
    })
  }

  it('drops and counts tells for unopened channels and malformed headers', async () => {
    const realm = new Realm()
    const raw = realm.newSwarm()
    const mux = newStringMux(realm.newSwarm())
    const ch = mux.open('here')
    const dst = ch.localAddrs()[0]!
    try {
      const enc = (s: string) => [...new TextEncoder().encode(s)]
      await raw.tell(dst, Uint8Array.from([5, ...enc('there'), 1])) // nobody opened "there"
      await raw.tell(dst, Uint8Array.of(9, 0x61)) // length past the end
      await raw.tell(dst, Uint8Array.of(1, 0xff, 1)) // not UTF-8: no channel can have it
      const got = nextMessage(ch)
      await raw.tell(dst, Uint8Array.from([4, ...enc('here'), 42]))
      expect((await got).payload).toEqual(Uint8Array.of(42))
      expect(mux.stats()).toMatchObject({ tellsIn: 1, tellsMalformed: 1, tellsUnknownChannel: 2 })
    } finally {
      await Promise.all([raw.close(), mux.close()])
    }
  })

  it('refuses to open an open channel; closing a channel frees its id', async () => {
    const realm = new Realm()
    const mux = newUint16Mux(realm.newSwarm())
    const peer = newUint16Mux(realm.newSwarm())
    try {
      const ch = mux.open(1)
      const dst = ch.localAddrs()[0]!
      const from = peer.open(1)
      expect(() => mux.open(1)).toThrow(expect.objectContaining({ code: 'ERR_IN_USE' }))
      expect(() => mux.open(-1)).toThrow(RangeError)
      const pending = ch.receive(() => {})
      await ch.close()
      expect(isClosedError(await rejection(pending))).toBe(true)
      expect(isClosedError(await rejection(ch.tell(dst, Uint8Array.of(1))))).toBe(true)
      expect(isClosedError(await rejection(ch.receive(() => {})))).toBe(true)
      expect(mux.openChannels()).toEqual([])
      // While closed, its tells are unknown-channel drops.
      await from.tell(dst, Uint8Array.of(1))
      await waitFor(() => mux.stats().tellsUnknownChannel === 1)
      // Reopened, the id works again.
      const again = mux.open(1)
      expect(mux.openChannels()).toEqual([1])
      const got = nextMessage(again)
      await from.tell(dst, Uint8Array.of(2))
      expect((await got).payload).toEqual(Uint8Array.of(2))
    } finally {
      await Promise.all([mux.close(), peer.close()])
    }
  })

  it('finds each of many channels by its header, with or without the codec fast path', async () => {
    const slowPath: ChannelCodec<string> = { ...stringCodec, headerLength: undefined }
    for (const codec of [stringCodec, slowPath]) {
      const realm = new Realm()
      const mux = newMux(realm.newSwarm(), codec)
      const peer = newMux(realm.newSwarm(), codec)
      try {
        const names = Array.from({ length: 300 }, (_, i) => `ch-${i}`).concat(['', 'x'.repeat(200)])
        const chans = names.map((n) => mux.open(n))
        const dst = chans[0]!.localAddrs()[0]!
        await chans[7]!.close() // closed: its tells are unknown-channel drops
        for (const [i, n] of names.entries()) await peer.open(n).tell(dst, Uint8Array.of(i & 0xff))
        for (const [i, ch] of chans.entries()) {
          if (i === 7) continue
          expect((await nextMessage(ch)).payload).toEqual(Uint8Array.of(i & 0xff))
        }
        expect(mux.stats()).toMatchObject({ tellsIn: names.length - 1, tellsUnknownChannel: 1 })
      } finally {
        await Promise.all([mux.close(), peer.close()])
      }
    }
  })

  it('a slow channel does not stall the others', async () => {
    const realm = new Realm()
    const mux = newVarintMux(realm.newSwarm(), { inboxItems: 4 })
    const peer = newVarintMux(realm.newSwarm())
    try {
      const slow = mux.open(1)
      const fast = mux.open(2)
      const dst = slow.localAddrs()[0]!
      const toSlow = peer.open(1)
      for (let i = 0; i < 50; i++) await toSlow.tell(dst, Uint8Array.of(i))
      const got = nextMessage(fast)
      await peer.open(2).tell(dst, Uint8Array.of(99))
      expect((await got).payload).toEqual(Uint8Array.of(99))
      expect(slow.stats().inbox).toMatchObject({ queued: 4, droppedFull: 46 })
      // The slow channel still has its first four, in order.
      const first = await nextMessage(slow)
      expect(first.payload).toEqual(Uint8Array.of(0))
    } finally {
      await Promise.all([mux.close(), peer.close()])
    }
  })

  describe('asks', () => {
    it('multiplexes asks: the request carries the header, the response is raw', async () => {
      const realm = new Realm()
      const inner = realm.newSwarm()
      const mux = newUint32Mux(inner)
      const server = newUint32Mux(realm.newSwarm())
      try {
        const ch = mux.open(5)
        const sc = server.open(5)
        const other = server.open(6)
        const dst = sc.localAddrs()[0]!
        const serving = sc.serveAsk((req) => {
          expect(req.src.toString()).toBe(ch.localAddrs()[0]!.toString())
          return [req.payload, Uint8Array.of(0)]
        })
        expect(await ch.ask(dst, Uint8Array.of(1, 2))).toEqual(Uint8Array.of(1, 2, 0))
        await serving
        // The raw inner ask: header then body; the response has no header.
        const rawServe = other.serveAsk(() => Uint8Array.of(9))
        expect(await inner.ask(dst, Uint8Array.of(0, 0, 0, 6, 1))).toEqual(Uint8Array.of(9))
        await rawServe
        expect(server.stats()).toMatchObject({ asksIn: 2 })
      } finally {
        await Promise.all([mux.close(), server.close()])
      }
    })

    it('answers asks for unknown channels and bad headers with an error', async () => {
      const realm = new Realm()
      const inner = realm.newSwarm()
      const mux = newUint16Mux(inner)
      const server = newUint16Mux(realm.newSwarm())
      try {
        const dst = server.open(1).localAddrs()[0]!
        const err = await rejection(mux.open(2).ask(dst, Uint8Array.of(1)))
        expect(isAskError(err)).toBe(true)
        expect(String(err)).toMatch(/no channel 2/)
        const bad = await rejection(inner.ask(dst, Uint8Array.of(1)))
        expect(String(bad)).toMatch(/malformed uint16 channel header/)
        expect(server.stats()).toMatchObject({ asksUnknownChannel: 1, asksMalformed: 1 })
      } finally {
        await Promise.all([mux.close(), server.close()])
      }
    })

    it('a channel that does not serve fails its asks as busy without holding the others', async () => {
      const realm = new Realm()
      const mux = newStringMux(realm.newSwarm())
      const server = newStringMux(realm.newSwarm(), { askInboxItems: 2, maxAsksInFlight: 8 })
      try {
        const idle = server.open('idle')
        const busy = server.open('busy')
        const dst = idle.localAddrs()[0]!
        const toIdle = mux.open('idle')
        const stuck = [1, 2].map((i) =>
          toIdle.ask(dst, Uint8Array.of(i), { signal: AbortSignal.timeout(60_000) }),
        )
        await waitFor(() => (idle.stats().askInbox as { queued: number }).queued === 2)
        const refused = await rejection(toIdle.ask(dst, Uint8Array.of(3)))
        expect(String(refused)).toMatch(/too many asks/)
        // Another channel is served meanwhile.
        const serving = busy.serveAsk((req) => req.payload)
        expect(await mux.open('busy').ask(dst, Uint8Array.of(4))).toEqual(Uint8Array.of(4))
        await serving
        await idle.close()
        for (const p of stuck) expect(String(await rejection(p))).toMatch(/closed/)
      } finally {
        await Promise.all([mux.close(), server.close()])
      }
    })

    it('holds requests and responses to the inner ask limit minus the header, in channel sizes', async () => {
      const realm = new Realm({ mtu: 100 })
      const mux = newUint16Mux(realm.newSwarm())
      const small = newUint16Mux(realm.newSwarm(), { innerMaxAskSize: 50 })
      try {
        const ch = mux.open(1)
        const dst = ch.localAddrs()[0]!
        // memswarm holds asks to its mtu: 100 - 2 header bytes, both ways.
        expect(ch.maxAskSize(dst)).toBe(98)
        const err = await rejection(ch.ask(dst, new Uint8Array(99)))
        expect(isMTUExceededError(err)).toBe(true)
        expect(err).toMatchObject({ size: 99, mtu: 98 })
        let serving = ch.serveAsk(() => new Uint8Array(98))
        expect(await ch.ask(dst, new Uint8Array(98))).toHaveLength(98)
        await serving
        // Responses carry no header, so memswarm lets one of 99 bytes through; the asking
        // channel holds it to the same limit as requests, with a coded error.
        serving = ch.serveAsk(() => new Uint8Array(99))
        const tooBig = await rejection(ch.ask(dst, Uint8Array.of(1)))
        expect(errorCode(tooBig)).toBe(ErrorCodes.RESPONSE_TOO_LARGE)
        expect(String(tooBig)).toMatch(/response of 99 bytes exceeds the limit of 98/)
        await serving
        // The option overrides what the inner swarm says.
        expect(small.open(1).maxAskSize(dst)).toBe(48)
        expect(() => newUint16Mux(realm.newSwarm(), { innerMaxAskSize: -1 })).toThrow(RangeError)
      } finally {
        await Promise.all([mux.close(), small.close()])
      }
    })

    it('carries responses larger than the tell mtu over askswarm (udpswarm)', async () => {
      const [ua, ub] = await Promise.all([
        UDPSwarm.bind('127.0.0.1:0'),
        UDPSwarm.bind('127.0.0.1:0'),
      ])
      const mx = newStringMux(newAskSwarm(ua, { maxAskSize: 200_000 }))
      const my = newStringMux(newAskSwarm(ub, { maxAskSize: 200_000 }))
      try {
        const x = mx.open('files')
        const y = my.open('files')
        const dst = y.localAddrs()[0]!
        const response = new Uint8Array(5000).map((_, i) => i & 0xff)
        let serving = y.serveAsk((req) => {
          expect(req.payload).toHaveLength(100_000)
          return response
        })
        expect(await x.ask(dst, new Uint8Array(100_000))).toEqual(response)
        await serving
        expect(x.mtu(dst)).toBe(1232 - 1 - 6) // udpswarm, askswarm's tell header, ours
        expect(x.maxAskSize(dst)).toBe(200_000 - 6)
        // Both directions up to the channel's maxAskSize; one byte more is refused.
        const max = x.maxAskSize(dst)
        serving = y.serveAsk(() => new Uint8Array(max))
        expect(await x.ask(dst, new Uint8Array(max))).toHaveLength(max)
        await serving
        expect(isMTUExceededError(await rejection(x.ask(dst, new Uint8Array(max + 1))))).toBe(true)
      } finally {
        await Promise.all([mx.close(), my.close()])
      }
    })

    it('closing a channel ends its pending asks with ERR_CLOSED; the mux and other channels go on', async () => {
      const realm = new Realm()
      const mux = newStringMux(realm.newSwarm())
      const server = newStringMux(realm.newSwarm())
      try {
        const a = mux.open('a')
        const b = mux.open('b')
        const sa = server.open('a')
        const sb = server.open('b')
        const dst = sa.localAddrs()[0]!
        const caller = new AbortController()
        // Nobody serves on the server's channel a: the ask waits.
        const pending = rejection(a.ask(dst, Uint8Array.of(1), { signal: caller.signal }))
        await waitFor(() => (sa.stats().askInbox as { queued: number }).queued === 1)
        expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1)
        await a.close()
        expect(isClosedError(await pending)).toBe(true)
        // The listener on the caller's signal is gone with the ask.
        expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
        expect(isClosedError(await rejection(a.ask(dst, Uint8Array.of(2))))).toBe(true)
        const serving = sb.serveAsk((req) => req.payload)
        expect(await b.ask(dst, Uint8Array.of(3), { signal: caller.signal })).toEqual(
          Uint8Array.of(3),
        )
        await serving
        expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
        expect(mux.openChannels()).toEqual(['b'])
      } finally {
        await Promise.all([mux.close(), server.close()])
      }
    })

    it('an ask held by a mux that closes fails as unreachable, never as a handler error', async () => {
      const realm = new Realm()
      const mux = newStringMux(newAskSwarm(realm.newSwarm()))
      const server = newStringMux(newAskSwarm(realm.newSwarm()))
      try {
        const held = server.open('x')
        const dst = held.localAddrs()[0]!
        const pending = rejection(
          mux.open('x').ask(dst, Uint8Array.of(1), { signal: AbortSignal.timeout(60_000) }),
        )
        await waitFor(() => (held.stats().askInbox as { queued: number }).queued === 1)
        await server.close()
        const err = await pending
        expect(isAskError(err)).toBe(false)
        expect(isUnreachableError(err)).toBe(true)
      } finally {
        await Promise.all([mux.close(), server.close()])
      }
    })
  })

  it('closing a channel ends its pending lookupPublicKey with ERR_CLOSED', async () => {
    const realm = new Realm()
    const inner = realm.newSecureSwarm(new Uint8Array(32).fill(1))
    // A lookup that waits (as a handshake would) until its signal aborts.
    inner.lookupPublicKey = (_addr, opts?: CallOptions) =>
      new Promise((_resolve, reject) => {
        opts?.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true })
      })
    const mux = newStringMux(inner)
    try {
      const ch = mux.open('k')
      const pending = rejection(ch.lookupPublicKey(ch.localAddrs()[0]!))
      await ch.close()
      expect(isClosedError(await pending)).toBe(true)
    } finally {
      await mux.close()
    }
  })

  it('passes Asker and Secure through exactly when the inner swarm has them', async () => {
    const realm = new Realm()
    const key = new Uint8Array(32).fill(3)
    const plain = newStringMux(new FragSwarm(realm.newSwarm()))
    const asking = newStringMux(realm.newSwarm())
    const secure = newUint64Mux(realm.newSecureSwarm(key))
    const peer = newUint64Mux(realm.newSecureSwarm(new Uint8Array(32).fill(4)))
    try {
      const p = plain.open('x')
      const a = asking.open('x')
      const s = secure.open(1n)
      expect([isAsker(p), isSecure(p)]).toEqual([false, false])
      expect([isAsker(a), isSecure(a)]).toEqual([true, false])
      expect([isAsker(s), isSecure(s)]).toEqual([true, true])
      expect(p).toBeInstanceOf(MuxChannel)
      expect(a).toBeInstanceOf(AskMuxChannel)
      expect(s).toBeInstanceOf(SecureAskMuxChannel)
      expectTypeOf(p).toEqualTypeOf<MuxChannel<MemAddr, string>>()
      expectTypeOf(a).toEqualTypeOf<AskMuxChannel<MemAddr, string>>()
      expectTypeOf(s).toEqualTypeOf<SecureAskMuxChannel<MemAddr, bigint, Uint8Array<ArrayBuffer>>>()
      expectTypeOf(asking).toEqualTypeOf<Mux<MemSwarm, string>>()
      expectTypeOf(secure).toEqualTypeOf<Mux<SecureMemSwarm<Uint8Array<ArrayBuffer>>, bigint>>()
      expect(s.publicKey()).toEqual(key)
      const ps = peer.open(1n)
      const got = new Promise<Uint8Array>((resolve, reject) => {
        ps.receive(async (m) => resolve(await ps.lookupPublicKey(m.src))).catch(reject)
      })
      await s.tell(ps.localAddrs()[0]!, Uint8Array.of(1))
      expect(await got).toEqual(key)
    } finally {
      await Promise.all([plain.close(), asking.close(), secure.close(), peer.close()])
    }
  })

  it('close closes every channel and the inner swarm; open afterwards fails', async () => {
    const realm = new Realm()
    const inner = realm.newSwarm()
    const mux = newStringMux(inner)
    const a = mux.open('a')
    const b = mux.open('b')
    const pending = [a.receive(() => {}), b.serveAsk(() => Uint8Array.of(0))]
    const first = mux.close()
    expect(mux.close()).toBe(first)
    await first
    expect(inner.closed).toBe(true)
    for (const p of pending) expect(isClosedError(await rejection(p))).toBe(true)
    expect(() => mux.open('c')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
    expect(mux.stats().channels).toBe(0)
  })

  it('closes itself and its channels when the inner swarm closes underneath', async () => {
    const realm = new Realm()
    const inner = realm.newSwarm()
    const peer = realm.newSwarm()
    const mux = newStringMux(inner)
    const ch = mux.open('a')
    const pending = [
      rejection(ch.receive(() => {})),
      rejection(ch.serveAsk(() => Uint8Array.of(0))),
      // The peer never serves: the ask waits until the inner swarm closes.
      rejection(ch.ask(peer.addr, Uint8Array.of(1))),
    ]
    await inner.close()
    for (const p of pending) expect(isClosedError(await p)).toBe(true)
    expect(() => mux.open('b')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
    expect(isClosedError(await rejection(ch.receive(() => {})))).toBe(true)
    await Promise.all([mux.close(), peer.close()])
  })

  it('refuses a channel whose header fills the inner swarm', async () => {
    const realm = new Realm({ mtu: 10 })
    const mux = newStringMux(realm.newSwarm())
    try {
      expect(() => mux.open('x'.repeat(9))).toThrow(/no room/)
      expect(mux.open('x'.repeat(8)).maxIncomingSize()).toBe(1)
    } finally {
      await mux.close()
    }
  })
})
