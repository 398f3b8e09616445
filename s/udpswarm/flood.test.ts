/**
 * A live UDP stack (udpswarm → fragswarm → string mux, two nodes on 127.0.0.1, channel "chat"
 * open) under a flood of garbage from raw sockets: random bytes, broken and mutated fragswarm
 * headers, reassemblies that never complete, conflicting and oversized parts, valid framing
 * around bad mux headers, and messages for channels nobody opened.
 *
 * What must hold: nothing is thrown to a caller (no unhandled rejection, no log event from a
 * receive loop), each drop is counted in the stats of the layer that dropped it, the
 * reassembly memory reported in stats never exceeds the configured budgets, and legitimate
 * tells keep flowing during the flood and after it.
 *
 * The flood is paced by what node B has processed (at most `WINDOW` datagrams outstanding),
 * so the kernel never drops anything and every datagram reaches the layer it is aimed at. B's
 * fragswarm runs on a ManualClock: nothing expires during the flood, and advancing the clock
 * afterwards expires every incomplete message at once (no waiting for real time).
 */
import dgram from 'node:dgram'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import {
  type Message,
  SeededRandom,
  encodeUvarint,
  isClosedError,
  payloadConcat,
} from '../../core/index.js'
import { ManualClock, waitUntil } from '../../p2ptest/index.js'
import { newStringMux, stringCodec } from '../../p/p2pmux/index.js'
import { encodeFragHeader, newFragSwarm } from '../fragswarm/index.js'
import type { UDPAddr } from './addr.js'
import { UDPSwarm } from './udpswarm.js'

const HOST = '127.0.0.1'
/** Most datagrams sent to B and not yet taken by its fragswarm. */
const WINDOW = 32
const FRAG_MTU = 8192
const BUDGETS = {
  maxPendingPerSource: 4,
  maxPendingBytesPerSource: FRAG_MTU,
  maxPending: 12,
  maxPendingBytes: 3 * FRAG_MTU,
  maxTombstones: 64,
} as const
const TIMEOUT_MS = 1000

/**
 * Polls `cond` on the event loop, calling `onTurn` at every turn; fails after a generous
 * deadline.
 */

function concat(...parts: Uint8Array[]): Uint8Array {
  return payloadConcat(parts)
}

/** A fragswarm part with a valid header. */
function part(msgId: number, partIndex: number, partCount: number, data: Uint8Array): Uint8Array {
  return concat(encodeFragHeader({ msgId, partIndex, partCount }), data)
}

/** Header fields as raw uvarints, valid or not. */
function fields(...values: number[]): Uint8Array {
  return concat(...values.map((v) => encodeUvarint(v)))
}

const utf8 = new TextEncoder()

/** `gc()` for the heap figures (a fork of its own: setting the flag here touches no other test). */
function exposeGC(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

describe('udpswarm → fragswarm → string mux under a garbage flood', () => {
  it('drops and counts garbage within budgets, and legitimate tells keep flowing', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const logged: string[] = []
    const log = (event: string) => logged.push(event)
    const socketErrors: Error[] = []
    const clock = new ManualClock(0)
    const gc = exposeGC()

    const udpA = await UDPSwarm.bind(`${HOST}:0`)
    const fragA = newFragSwarm(udpA, { mtu: FRAG_MTU })
    const muxA = newStringMux(fragA)
    const chatA = muxA.open('chat')
    const udpB = await UDPSwarm.bind(`${HOST}:0`, {
      recvBufferSize: 1 << 20,
      onSocketError: (e) => socketErrors.push(e),
    })
    const fragB = newFragSwarm(udpB, {
      mtu: FRAG_MTU,
      ...BUDGETS,
      reassemblyTimeoutMs: TIMEOUT_MS,
      clock,
      log,
    })
    const muxB = newStringMux(fragB, { log })
    const chatB = muxB.open('chat')
    const attackers = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<dgram.Socket>((resolve) => {
            const s = dgram.createSocket('udp4')
            s.bind(0, HOST, () => resolve(s))
          }),
      ),
    )
    const portB = udpB.port
    const addrB = chatB.localAddrs()[0]!
    const addrA = chatA.localAddrs()[0]!.toString()

    // Everything chat on B receives; every message must be one that A sent.
    const received: Message<UDPAddr>[] = []
    const receiving = (async () => {
      for (;;) {
        try {
          await chatB.receive((m) => {
            received.push(m)
          })
        } catch (err) {
          if (isClosedError(err)) return
          throw err
        }
      }
    })()

    // Budgets: checked after every datagram sent and at every turn of every wait.
    const violations: string[] = []
    let maxPending = { messages: 0, bytes: 0, tombstones: 0 }
    const check = () => {
      const s = fragB.stats()
      const p = s.pending
      maxPending = {
        messages: Math.max(maxPending.messages, p.messages),
        bytes: Math.max(maxPending.bytes, p.bytes),
        tombstones: Math.max(maxPending.tombstones, p.tombstones),
      }
      if (p.messages > BUDGETS.maxPending) violations.push(`messages ${p.messages}`)
      if (p.bytes > BUDGETS.maxPendingBytes) violations.push(`bytes ${p.bytes}`)
      if (p.tombstones > BUDGETS.maxTombstones) violations.push(`tombstones ${p.tombstones}`)
      if (p.messages > BUDGETS.maxPendingPerSource * p.sources) {
        violations.push(`messages ${p.messages} from ${p.sources} sources`)
      }
      if (p.bytes > BUDGETS.maxPendingBytesPerSource * p.sources) {
        violations.push(`bytes ${p.bytes} from ${p.sources} sources`)
      }
    }

    let attackerSent = 0
    /** Datagrams B's fragswarm has not taken yet. */
    const outstanding = () => attackerSent + fragA.stats().fragmentsOut - fragB.stats().fragmentsIn
    const settled = () =>
      waitUntil(() => outstanding() === 0, 'B to take every datagram', { onTurn: check })
    const send = async (from: dgram.Socket, bytes: Uint8Array) => {
      await new Promise<void>((resolve, reject) =>
        from.send(bytes, portB, HOST, (err) => (err ? reject(err) : resolve())),
      )
      attackerSent++
      check()
      if (outstanding() > WINDOW) {
        await waitUntil(() => outstanding() <= WINDOW / 2, 'B to catch up', { onTurn: check })
      }
    }

    // Legitimate traffic: each tell is awaited at B before the flood goes on.
    let legit = 0
    const expected: Uint8Array[] = []
    const tellLegit = async (size: number) => {
      const n = legit++
      const body =
        size === 0
          ? utf8.encode(`legit ${n}`)
          : new SeededRandom(n).bytes(size).fill(n & 0xff, 0, 1)
      expected.push(body)
      await chatA.tell(addrB, body)
      await waitUntil(
        () => received.some((m) => bytesEq(m.payload, body)),
        `legitimate tell ${n} (${body.length} bytes)`,
        { onTurn: check },
      )
    }
    const bytesEq = (a: Uint8Array, b: Uint8Array) =>
      a.length === b.length && a.every((x, i) => x === b[i])

    const heapBefore = (() => {
      gc()
      return process.memoryUsage().heapUsed
    })()
    const rng = new SeededRandom(42)
    const [structured, filler, ...fillTotal] = attackers as [
      dgram.Socket,
      dgram.Socket,
      ...dgram.Socket[],
    ]

    try {
      await tellLegit(0)
      await tellLegit(5000)

      // 1. Header rules, from a fresh source, one by one (counted exactly).
      const a500 = new Uint8Array(500).fill(0xaa)
      const b500 = new Uint8Array(500).fill(0xbb)
      const ff1000 = new Uint8Array(1000).fill(0xff) // as a mux header: a varint that never ends
      const before = fragB.stats()
      await send(structured, part(1000, 0, 4, a500)) // pending
      await send(structured, part(1000, 0, 4, a500)) // duplicate
      await send(structured, part(1000, 0, 4, b500)) // conflict: poisons 1000
      await send(structured, part(1000, 1, 4, a500)) // stale
      await send(structured, part(1001, 0, 4, a500)) // pending
      await send(structured, part(1001, 1, 4, a500.subarray(0, 300))) // inconsistent length
      await send(structured, part(1002, 0, 4, a500)) // pending
      await send(structured, part(1002, 1, 5, a500)) // inconsistent count
      for (let i = 0; i < 7; i++) await send(structured, part(1003, i, 8, ff1000)) // 7000 B held
      await send(structured, part(1004, 0, 8, ff1000)) // 8000 B held
      await send(structured, part(1004, 1, 8, ff1000)) // over the source's bytes: abandons 1004
      await send(structured, part(1003, 7, 8, ff1000)) // completes 1003 (a bad mux header)
      await send(structured, part(1005, 0, 255, ff1000)) // 255 parts of 1000 B > mtu
      await send(structured, part(1006, 0, 1, new Uint8Array(FRAG_MTU + 1))) // single, > mtu
      await settled()
      const after = fragB.stats()
      const delta = (k: keyof typeof after.droppedParts) =>
        after.droppedParts[k] - before.droppedParts[k]
      expect({
        duplicate: delta('duplicate'),
        conflict: delta('conflict'),
        stale: delta('stale'),
        inconsistent: delta('inconsistent'),
        budgetSource: delta('budgetSource'),
        tooLarge: delta('tooLarge'),
        poisoned: after.droppedMessages.poisoned - before.droppedMessages.poisoned,
        abandoned: after.droppedMessages.budget - before.droppedMessages.budget,
        reassembled: after.messagesReassembled - before.messagesReassembled,
      }).toEqual({
        duplicate: 1,
        conflict: 1,
        stale: 1,
        inconsistent: 2,
        budgetSource: 1,
        tooLarge: 2,
        poisoned: 3,
        abandoned: 1,
        reassembled: 1,
      })
      await waitUntil(() => muxB.stats().tellsMalformed >= 1, 'the mux to count 1003')
      expect(after.pending).toMatchObject({ messages: 0, bytes: 0 })

      // 2. Valid framing around bad mux headers, and tells for channels nobody opened.
      // Whole channel payloads (header and body) that the mux cannot parse...
      const badMux = [
        a500, // 0xaa…: a varint that does not end within 8 bytes
        new Uint8Array([0x80]), // varint ends early
        concat(new Uint8Array([0x80, 0x00]), a500), // varint not minimal
        new Uint8Array([0x05, 0x61, 0x62]), // name longer than the message
        concat(new Uint8Array(12).fill(0xff), a500), // varint never ends
      ]
      // ...and ones for channels nobody opened.
      const unknown = [
        stringCodec.encode('nope'),
        stringCodec.encode(''),
        stringCodec.encode('chat2'),
        stringCodec.encode('Chat'),
        new Uint8Array([0x02, 0xff, 0xfe]), // not UTF-8: no channel can have it
      ].map((h) => concat(h, a500))
      const mux0 = muxB.stats()
      let id = 2000
      for (let i = 0; i < 50; i++) {
        for (const m of [...badMux, ...unknown]) await send(structured, part(id++, 0, 1, m))
      }
      // Multi-part messages that complete, around bad headers; more tombstones than allowed.
      for (let i = 0; i < 80; i++) {
        const m = i % 2 === 0 ? badMux[4]! : unknown[i % unknown.length]!
        const body = concat(m, new Uint8Array(1000).fill(i))
        await send(structured, part(id, 0, 2, body.subarray(0, 1000)))
        await send(structured, part(id++, 1, 2, body.subarray(1000)))
        if (i % 20 === 0) await tellLegit(0)
      }
      await settled()
      await waitUntil(
        () => muxB.stats().tellsMalformed - mux0.tellsMalformed >= 50 * badMux.length + 40,
        'the mux to count malformed headers',
      )
      await waitUntil(
        () =>
          muxB.stats().tellsUnknownChannel - mux0.tellsUnknownChannel >= 50 * unknown.length + 40,
        'the mux to count unknown channels',
      )

      // 3. Broken, mutated and random headers.
      const malformed = (n: number): Uint8Array[] => [
        new Uint8Array([]),
        new Uint8Array([0x80]),
        fields(n).subarray(0, 1), // id varint cut short (n >= 128)
        concat(fields(n), new Uint8Array([0x80])), // index varint cut short
        concat(new Uint8Array([0x80, 0x00]), fields(0, 1), a500), // id not minimal
        concat(fields(2 ** 32, 0, 1), a500), // id beyond uint32
        concat(fields(n, 0, 0), a500), // no parts
        concat(fields(n, 0, 256), a500), // more than 255 parts
        concat(fields(n, 0, 2 ** 40), a500), // a huge part count
        concat(fields(n, 5, 5), a500), // index = count
        concat(fields(n, 254, 2), a500), // index > count
      ]
      const valid = part(7, 1, 3, a500)
      for (let i = 0; i < 500; i++) {
        for (const m of malformed(3000 + i)) await send(structured, m)
        // A valid part with 1-3 header bytes changed.
        const mutated = valid.slice()
        for (let k = 1 + rng.int(3); k > 0; k--) mutated[rng.int(6)] = rng.nextUint32() & 0xff
        await send(structured, mutated)
        // Random bytes of random length.
        await send(structured, rng.bytes(rng.int(1300)))
        if (i % 100 === 0) await tellLegit(5000)
      }

      // 4. Reassemblies that never complete, many distinct ids: the source's budget binds.
      for (let i = 0; i < 2000; i++) {
        await send(filler, part(10_000 + i, 0, 4, a500))
        if (i % 500 === 0) await tellLegit(0)
      }
      await tellLegit(5000) // the other sources' pending messages leave room for A's
      await settled()
      expect(fragB.stats().pending.messages).toBeGreaterThanOrEqual(BUDGETS.maxPendingPerSource)

      // 5. More sources, until the total budget binds; then A's multi-part tells are refused
      // too (a shared budget: the price of bounded memory), while single-part tells still pass.
      for (const s of fillTotal) {
        for (let i = 0; i < 50; i++) await send(s, part(20_000 + i, 0, 4, a500))
        await tellLegit(0)
      }
      await settled()
      expect(fragB.stats().pending.messages).toBe(BUDGETS.maxPending)
      const refused = fragB.stats().droppedParts.budgetTotal
      await chatA.tell(addrB, new Uint8Array(5000).fill(0x5a))
      await settled()
      expect(fragB.stats().droppedParts.budgetTotal).toBeGreaterThan(refused)
      await tellLegit(0)

      // 6. Expiry frees everything; multi-part tells flow again.
      const expiredBefore = fragB.stats().droppedMessages.expired
      clock.advance(TIMEOUT_MS)
      check()
      const end = fragB.stats()
      expect(end.pending).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
      expect(end.droppedMessages.expired - expiredBefore).toBeGreaterThanOrEqual(BUDGETS.maxPending)
      await tellLegit(5000)
      await tellLegit(0)
      await tellLegit(FRAG_MTU - stringCodec.encode('chat').length)

      // Every drop reason was counted by the layer that dropped it.
      const fs = fragB.stats()
      for (const [reason, n] of Object.entries(fs.droppedParts)) {
        expect(n, `fragswarm droppedParts.${reason}`).toBeGreaterThan(0)
      }
      expect(fs.droppedMessages.poisoned).toBeGreaterThan(0)
      expect(fs.droppedMessages.budget).toBeGreaterThan(0)
      expect(fs.droppedMessages.expired).toBeGreaterThan(0)
      expect(fs.tombstonesEvicted).toBeGreaterThan(0)
      const ms = muxB.stats()
      expect(ms.tellsMalformed).toBeGreaterThan(0)
      expect(ms.tellsUnknownChannel).toBeGreaterThan(0)
      expect(ms.channels).toBe(1)
      const us = udpB.stats()
      expect(us.received).toBe(attackerSent + fragA.stats().fragmentsOut)
      expect(us.inbox.droppedFull).toBe(0)
      expect(us.socketErrors).toBe(0)

      // Budgets held all along; nothing reached chat but A's messages.
      expect(violations).toEqual([])
      expect(maxPending.messages).toBeLessThanOrEqual(BUDGETS.maxPending)
      expect(maxPending.bytes).toBeLessThanOrEqual(BUDGETS.maxPendingBytes)
      expect(maxPending.tombstones).toBeLessThanOrEqual(BUDGETS.maxTombstones)
      for (const m of received) {
        expect(m.src.toString()).toBe(addrA)
        expect(expected.some((b) => bytesEq(b, m.payload))).toBe(true)
      }
      expect(received.length).toBe(expected.length)

      gc()
      const heapAfter = process.memoryUsage().heapUsed
      console.log(
        `flood: ${attackerSent} garbage datagrams, ${legit} legitimate tells; ` +
          `peak reassembly ${JSON.stringify(maxPending)}; heapUsed ${mib(heapBefore)} → ${mib(heapAfter)} MiB`,
      )
    } finally {
      await Promise.all([muxA.close(), muxB.close()])
      await receiving
      await Promise.all(attackers.map((s) => new Promise<void>((r) => s.close(() => r()))))
      // A rejection is reported on the turn after it happens.
      await new Promise((r) => setImmediate(r))
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
    expect(logged).toEqual([])
    expect(socketErrors).toEqual([])
  }, 20_000)
})

function mib(n: number): string {
  return (n / 2 ** 20).toFixed(1)
}
