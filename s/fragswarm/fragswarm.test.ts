import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type Message,
  isAsker,
  isClosedError,
  isMTUExceededError,
  isSecure,
} from '../../core/index.js'
import { ManualClock } from '../../p2ptest/index.js'
import { type MemAddr, Realm } from '../memswarm/index.js'
import { FragSwarm, type SecureFragSwarm, newFragSwarm } from './fragswarm.js'
import { fragment, parseFragPart } from './wire.js'

function receiveOnce<A extends MemAddr>(s: {
  receive: FragSwarm<A>['receive']
}): Promise<Message<A>> {
  return new Promise((resolve, reject) => {
    s.receive((m) => resolve(m)).catch(reject)
  })
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

describe('FragSwarm', () => {
  it('carries a message larger than the inner mtu, intact', async () => {
    const realm = new Realm({ mtu: 100 })
    const a = new FragSwarm(realm.newSwarm(), { mtu: 5000 })
    const b = new FragSwarm(realm.newSwarm(), { mtu: 5000 })
    try {
      const data = bytes(5000)
      const got = receiveOnce(b)
      await a.tell(b.localAddrs()[0]!, data)
      const msg = await got
      expect(msg.payload).toEqual(data)
      expect(msg.src.toString()).toBe(a.localAddrs()[0]!.toString())
      const parts = Math.ceil(5000 / 91)
      expect(a.stats()).toMatchObject({ messagesOut: 1, fragmentsOut: parts })
      expect(b.stats()).toMatchObject({ fragmentsIn: parts, messagesIn: 1, messagesReassembled: 1 })
      expect(b.stats().pending).toEqual({ messages: 0, bytes: 0, tombstones: 1, sources: 0 })
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('frames a message that fits in one part, and takes iovec payloads without modifying them', async () => {
    const seen: Uint8Array[] = []
    const realm = new Realm({
      mtu: 100,
      transform: (m) => {
        seen.push(m.payload.slice())
        return m
      },
    })
    const a = new FragSwarm(realm.newSwarm(), { mtu: 1000, initialMsgId: 7 })
    const b = new FragSwarm(realm.newSwarm(), { mtu: 1000 })
    try {
      const parts = [Uint8Array.of(1, 2), Uint8Array.of(3)]
      let got = receiveOnce(b)
      await a.tell(b.localAddrs()[0]!, parts)
      expect((await got).payload).toEqual(Uint8Array.of(1, 2, 3))
      expect([...seen[0]!]).toEqual([7, 0, 1, 1, 2, 3])
      expect(parts).toEqual([Uint8Array.of(1, 2), Uint8Array.of(3)])

      const big = [bytes(150, 2), bytes(60, 3)]
      const copy = big.map((p) => p.slice())
      got = receiveOnce(b)
      await a.tell(b.localAddrs()[0]!, big)
      expect((await got).payload).toEqual(Uint8Array.from([...copy[0]!, ...copy[1]!]))
      expect(big).toEqual(copy)
      const headers = seen.slice(1).map((p) => parseFragPart(p)!)
      expect(headers.map((h) => [h.msgId, h.partIndex, h.partCount])).toEqual([
        [8, 0, 3],
        [8, 1, 3],
        [8, 2, 3],
      ])
      // Every part but the last is inner mtu - 9 bytes.
      expect(headers.map((h) => h.data.length)).toEqual([91, 91, 28])

      got = receiveOnce(b)
      await a.tell(b.localAddrs()[0]!, new Uint8Array(0))
      expect((await got).payload).toEqual(new Uint8Array(0))
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('cuts a multi-part iovec into views of the caller buffers, copying nothing', async () => {
    const realm = new Realm({ mtu: 100 })
    const inner = realm.newSwarm()
    const given: (readonly Uint8Array[])[] = []
    const tell = inner.tell.bind(inner)
    inner.tell = (dst, data, opts) => {
      given.push(data as readonly Uint8Array[])
      return tell(dst, data, opts)
    }
    const a = new FragSwarm(inner, { mtu: 1000 })
    const b = new FragSwarm(realm.newSwarm(), { mtu: 1000 })
    try {
      // A header part in front, as a mux over fragswarm sends: the common multi-part case.
      const header = Uint8Array.of(4, 0x63, 0x68, 0x61, 0x74)
      const body = bytes(400, 5)
      const got = receiveOnce(b)
      await a.tell(b.localAddrs()[0]!, [header, body])
      expect((await got).payload).toEqual(Uint8Array.from([...header, ...body]))
      expect(given).toHaveLength(5)
      for (const [, ...chunks] of given) {
        for (const c of chunks)
          expect(c.buffer === header.buffer || c.buffer === body.buffer).toBe(true)
      }
      // The first part spans both buffers.
      expect(given[0]!.slice(1).map((c) => c.length)).toEqual([5, 86])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('rejects payloads over the mtu and mtus that need more than 255 parts', async () => {
    const realm = new Realm({ mtu: 100 })
    const inner = realm.newSwarm()
    expect(() => new FragSwarm(inner, { mtu: 255 * 91 + 1 })).toThrow(
      /at most 255 parts are allowed, so the mtu can be at most 23205/,
    )
    expect(() => new FragSwarm(inner, { mtu: 0 })).toThrow(RangeError)
    expect(() => new FragSwarm(new Realm({ mtu: 9 }).newSwarm())).toThrow(/no room for data/)
    const a = new FragSwarm(inner, { mtu: 255 * 91 })
    try {
      expect(a.mtu(inner.localAddrs()[0]!)).toBe(255 * 91)
      const err = await a.tell(inner.localAddrs()[0]!, new Uint8Array(255 * 91 + 1)).catch((e) => e)
      expect(isMTUExceededError(err)).toBe(true)
      // Default: 64 KiB capped by 255 parts.
      expect(new FragSwarm(realm.newSwarm()).maxIncomingSize()).toBe(255 * 91)
      expect(new FragSwarm(new Realm().newSwarm()).maxIncomingSize()).toBe(65536)
    } finally {
      await a.close()
      await realm.close()
    }
  })

  it('drops and counts malformed and oversized input, and keeps working', async () => {
    const realm = new Realm({ mtu: 200 })
    const raw = realm.newSwarm()
    const b = new FragSwarm(realm.newSwarm(), { mtu: 1000 })
    const dst = b.localAddrs()[0]!
    try {
      await raw.tell(dst, Uint8Array.of(0x80)) // truncated id
      await raw.tell(dst, Uint8Array.of(0, 2, 2, 1)) // index == count
      await raw.tell(dst, Uint8Array.of(0, 0, 255, 1, 1, 1, 1, 1)) // 255 × 5 bytes > 1000
      await raw.tell(dst, Uint8Array.of(1, 0, 2)) // empty part of a 2-part message
      const got = receiveOnce(b)
      await raw.tell(dst, Uint8Array.of(9, 0, 1, 42))
      expect((await got).payload).toEqual(Uint8Array.of(42))
      expect(b.stats().droppedParts).toMatchObject({ malformed: 2, tooLarge: 1, inconsistent: 1 })
      expect(b.stats().pending.messages).toBe(0)
    } finally {
      await Promise.all([raw.close(), b.close()])
    }
  })

  it('expires incomplete messages on its clock and stops its timer on close', async () => {
    const clock = new ManualClock()
    const realm = new Realm({ mtu: 50 })
    const raw = realm.newSwarm()
    const b = new FragSwarm(realm.newSwarm(), { mtu: 1000, clock, reassemblyTimeoutMs: 500 })
    const dst = b.localAddrs()[0]!
    try {
      const [first] = fragment(3, bytes(100), 41)
      await raw.tell(dst, first!)
      // Delivered synchronously by memswarm; the pump takes it on the next turns.
      await waitFor(() => b.stats().pending.messages === 1)
      expect(clock.pending).toBe(1)
      clock.advance(499)
      expect(b.stats().pending.messages).toBe(1)
      clock.advance(1)
      expect(b.stats().pending).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
      expect(b.stats().droppedMessages.expired).toBe(1)
      expect(clock.pending).toBe(0)
      await raw.tell(dst, first!)
      await waitFor(() => b.stats().pending.messages === 1)
    } finally {
      await Promise.all([raw.close(), b.close()])
    }
    expect(clock.pending).toBe(0)
    expect(b.stats().pending.messages).toBe(0)
  })

  describe('a sender that restarts', () => {
    // The old incarnation's message lost its later parts; the peer restarts on the same
    // address and tells a new message. The receiver must get the new message intact, or
    // nothing: never old bytes joined with new ones.
    async function restart(oldId: number, newId: number | undefined, newSize: number) {
      const realm = new Realm({ mtu: 50 })
      const inner = realm.newSwarm()
      const b = new FragSwarm(realm.newSwarm(), { mtu: 1000 })
      const dst = b.localAddrs()[0]!
      try {
        const [first] = fragment(oldId, bytes(120, 1), 41)
        await inner.tell(dst, first!)
        await waitFor(() => b.stats().pending.messages === 1)
        const reborn = new FragSwarm(inner, { mtu: 1000, initialMsgId: newId })
        const fresh = bytes(newSize, 2)
        const delivered: Uint8Array[] = []
        const loop = (async () => {
          for (;;) await b.receive((m) => void delivered.push(m.payload))
        })().catch((e) => {
          if (!isClosedError(e)) throw e
        })
        await reborn.tell(dst, fresh)
        await reborn.tell(dst, Uint8Array.of(0xee)) // a marker: everything before it was handled
        await waitFor(() => delivered.some((d) => d.length === 1 && d[0] === 0xee))
        await b.close()
        await loop
        return { delivered: delivered.slice(0, -1), fresh, stats: b.stats() }
      } finally {
        await Promise.all([inner.close(), b.close()])
      }
    }

    it('with a fresh random id: the new message arrives intact', async () => {
      const { delivered, fresh } = await restart(0, undefined, 120)
      expect(delivered).toEqual([fresh])
    })

    it('reusing the id with another shape: nothing spliced, the id is poisoned', async () => {
      const { delivered, stats } = await restart(0, 0, 90)
      expect(delivered).toEqual([])
      expect(stats.droppedMessages.poisoned).toBe(1)
    })

    it('reusing the id with the same shape: the overlapping part exposes it', async () => {
      const { delivered, stats } = await restart(0, 0, 120)
      expect(delivered).toEqual([])
      expect(stats.droppedParts.conflict).toBe(1)
    })
  })

  it('passes Secure through, never Asker', async () => {
    const realm = new Realm()
    const plain = newFragSwarm(realm.newSwarm())
    const key = Uint8Array.of(1, 2, 3)
    const sec = newFragSwarm(realm.newSecureSwarm(key))
    const other = newFragSwarm(realm.newSecureSwarm(Uint8Array.of(4)))
    try {
      expectTypeOf(plain).toEqualTypeOf<FragSwarm<MemAddr>>()
      expectTypeOf(sec).toEqualTypeOf<SecureFragSwarm<MemAddr, Uint8Array<ArrayBuffer>>>()
      expect(isSecure(plain)).toBe(false)
      expect(isAsker(plain)).toBe(false)
      expect(isSecure(sec)).toBe(true)
      expect(isAsker(sec)).toBe(false)
      expect(sec.publicKey()).toEqual(key)
      const got = new Promise<Uint8Array>((resolve, reject) => {
        other.receive(async (m) => resolve(await other.lookupPublicKey(m.src))).catch(reject)
      })
      await sec.tell(other.localAddrs()[0]!, bytes(10))
      expect(await got).toEqual(key)
      expect(sec.stats().messagesOut).toBe(1)
    } finally {
      await Promise.all([plain.close(), sec.close(), other.close()])
    }
  })

  it('close closes the inner swarm and rejects pending and later calls', async () => {
    const realm = new Realm()
    const inner = realm.newSwarm()
    const a = new FragSwarm(inner)
    const pending = a.receive(() => {})
    const first = a.close()
    expect(a.close()).toBe(first)
    await first
    expect(isClosedError(await pending.catch((e) => e))).toBe(true)
    expect(inner.closed).toBe(true)
    expect(isClosedError(await a.tell(inner.addr, Uint8Array.of(1)).catch((e) => e))).toBe(true)
    expect(isClosedError(await a.receive(() => {}).catch((e) => e))).toBe(true)
  })

  it('closes itself when the inner swarm is closed underneath it: calls, timer and state', async () => {
    const clock = new ManualClock()
    const realm = new Realm({ mtu: 50 })
    const raw = realm.newSwarm()
    const inner = realm.newSwarm()
    const a = new FragSwarm(inner, { mtu: 1000, clock })
    try {
      // Half a message: reassembly state and an expiry timer are held.
      const [first] = fragment(3, bytes(100), 41)
      await raw.tell(inner.addr, first!)
      await waitFor(() => a.stats().pending.messages === 1)
      expect(clock.pending).toBe(1)
      const pending = a.receive(() => {})
      await inner.close()
      expect(isClosedError(await pending.catch((e) => e))).toBe(true)
      // The whole swarm closes, not only its inbox: timer cancelled, state freed.
      await waitFor(() => clock.pending === 0)
      await waitFor(() => a.stats().pending.messages === 0)
      expect(isClosedError(await a.receive(() => {}).catch((e) => e))).toBe(true)
      expect(isClosedError(await a.tell(raw.addr, Uint8Array.of(1)).catch((e) => e))).toBe(true)
    } finally {
      await Promise.all([raw.close(), a.close()])
    }
  })
})

/** Polls a condition on the event loop (no sleeping: each turn yields to pending I/O). */
async function waitFor(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition not reached')
}
