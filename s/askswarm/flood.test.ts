/**
 * Floods: requests that never complete and requests nobody serves, from many sources, and
 * forged or garbage replies. Memory stays within the configured budgets (checked through the
 * accounting in `stats()`), and legitimate asks are still answered. Time is a ManualClock.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SeededRandom, serveAsks } from '../../core/index.js'
import { ManualClock } from '../../p2ptest/index.js'
import { type MemAddr, type MemSwarm, Realm } from '../memswarm/index.js'
import {
  AskSwarm,
  type AskSwarmOptions,
  ErrorCode,
  REQUEST_HEADER_SIZE,
  encodeAck,
  encodeError,
  encodeRequestHeader,
  encodeResponseHeader,
} from './index.js'

const MTU = 1500
const PART = MTU - REQUEST_HEADER_SIZE

const budgets = {
  maxAskSize: 64 << 10,
  maxIncompletePerSource: 4,
  maxIncomplete: 32,
  maxIncompleteBytesPerSource: 128 << 10,
  maxIncompleteBytes: 1 << 20,
  incompleteIdleMs: 2000,
  maxHandlingPerSource: 8,
  maxHandling: 32,
  maxHandlingBytes: 1 << 20,
} satisfies AskSwarmOptions

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f()
})

function world() {
  const clock = new ManualClock()
  const realm = new Realm({ mtu: MTU, clock })
  const server = new AskSwarm(realm.newSwarm(), { ...budgets, clock })
  const client = new AskSwarm(realm.newSwarm(), { clock, session: 42n, initialRtoMs: 200 })
  const attackers = Array.from({ length: 50 }, () => realm.newSwarm({ inboxItems: 1 }))
  cleanups.push(async () => {
    await client.close()
    await server.close()
    await realm.close()
    expect(clock.pending).toBe(0)
  })
  return { clock, realm, server, client, attackers, sAddr: server.localAddrs()[0]! }
}

function checkServerBudgets(server: AskSwarm<MemAddr>) {
  const m = server.stats().memory
  expect(m.incomplete).toBeLessThanOrEqual(budgets.maxIncomplete)
  expect(m.incompleteBytes).toBeLessThanOrEqual(budgets.maxIncompleteBytes)
  expect(m.handling).toBeLessThanOrEqual(budgets.maxHandling)
  expect(m.handlingBytes).toBeLessThanOrEqual(budgets.maxHandlingBytes)
}

/** The first part of a 60 KB request that will never be completed. */
function firstPart(rand: SeededRandom, flagged: boolean): Uint8Array[] {
  const total = 60_000
  return [
    encodeRequestHeader({
      id: { session: BigInt(rand.nextUint32()) << 32n, seq: rand.nextUint32() },
      ackRequested: flagged,
      tx: 0,
      timeoutMs: 60_000,
      maxResponse: 1 << 20,
      total,
      index: 0,
      count: Math.ceil(total / PART),
    }),
    rand.bytes(PART),
  ]
}

describe('askswarm under floods', () => {
  it('first fragments from many sources stay within the reassembly budgets; legitimate asks are answered', async () => {
    const { clock, server, client, attackers, sAddr } = world()
    const rand = new SeededRandom(1)
    const serving = serveAsks(server, (req) => req.payload)
    for (const [i, atk] of attackers.entries()) {
      for (let k = 0; k < 20; k++) await atk.tell(sAddr, firstPart(rand, (i + k) % 2 === 0))
      // Let the server's receive loop take everything delivered so far.
      await clock.tick(0)
      checkServerBudgets(server)
    }
    const s = server.stats()
    // Each request reserves its declared 60 000 bytes: the byte budget binds first.
    const held = Math.floor(budgets.maxIncompleteBytes / 60_000)
    expect(s.memory).toMatchObject({ incomplete: held, incompleteBytes: held * 60_000 })
    expect(s.memory.sources).toBeLessThanOrEqual(held)
    // Each source got at most 4 incomplete requests; the rest was dropped and counted.
    expect(Number(s.dropped.incompletePerSource) + Number(s.dropped.incompleteTotal)).toBe(
      50 * 20 - held,
    )
    expect(s.dropped.incompleteTotal).toBeGreaterThan(0)

    // A one-part ask needs no reassembly budget: answered at once.
    const small = client.ask(sAddr, Uint8Array.of(1, 2, 3))
    await clock.tick(1)
    expect(await small).toEqual(Uint8Array.of(1, 2, 3))

    // A multi-part ask is refused while the budget is full, and retransmitted until the
    // flood's incomplete requests expire (idle for 2 s); then it goes through.
    const big = new Uint8Array(10_000).fill(7)
    const bigAsk = client.ask(sAddr, big)
    await clock.tick(6000)
    expect(await bigAsk).toEqual(big)
    expect(server.stats().memory).toMatchObject({ incomplete: 0, incompleteBytes: 0 })
    expect(server.stats().memory.incompleteExpired).toBe(held)
    await server.close()
    await serving
  })

  it('complete requests nobody serves stay within the handling budgets', async () => {
    const { clock, server, client, attackers, sAddr } = world()
    const rand = new SeededRandom(2)
    for (const atk of attackers) {
      for (let k = 0; k < 12; k++) {
        await atk.tell(sAddr, [
          encodeRequestHeader({
            id: { session: 5n, seq: rand.nextUint32() },
            ackRequested: false,
            tx: 0,
            timeoutMs: 60_000,
            maxResponse: 10,
            total: 100,
            index: 0,
            count: 1,
          }),
          new Uint8Array(100),
        ])
      }
      await clock.tick(0)
      checkServerBudgets(server)
    }
    const s = server.stats()
    expect(s.memory.handling).toBe(budgets.maxHandling)
    expect(Number(s.dropped.handlingPerSource) + Number(s.dropped.handlingTotal)).toBe(
      50 * 12 - budgets.maxHandling,
    )
    // Once a server serves again, the queue drains and a legitimate ask gets through.
    let handled = 0
    const serving = serveAsks(server, (req) => {
      handled++
      return req.payload.subarray(0, 3)
    })
    const ask = client.ask(sAddr, Uint8Array.of(4, 5, 6))
    await clock.tick(2000)
    expect(await ask).toEqual(Uint8Array.of(4, 5, 6))
    expect(handled).toBe(budgets.maxHandling + 1)
    checkServerBudgets(server)
    await server.close()
    await serving
  })

  it('forged replies and garbage are dropped and counted; the real answer still arrives', async () => {
    const { clock, server, client, attackers, sAddr } = world()
    const cAddr = client.localAddrs()[0]!
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const serving = serveAsks(server, async (req) => {
      await gate
      return req.payload
    })
    const asked = client.ask(sAddr, Uint8Array.of(9, 9))
    asked.catch(() => {})
    await clock.tick(1)
    const rand = new SeededRandom(3)
    const forge = async (atk: MemSwarm, seq: number, session: bigint) => {
      const id = { session, seq }
      await atk.tell(cAddr, [
        encodeResponseHeader({
          id,
          ackRequested: true,
          echo: 0,
          holdMs: 0,
          total: 2,
          index: 0,
          count: 1,
        }),
        Uint8Array.of(6, 6),
      ])
      await atk.tell(
        cAddr,
        encodeError({
          id,
          echo: 0,
          holdMs: 0,
          code: ErrorCode.HANDLER,
          size: 0,
          limit: 0,
          reason: 'forged',
        }),
      )
      await atk.tell(
        cAddr,
        encodeAck({
          id,
          echo: 0,
          holdMs: 0,
          complete: false,
          unknown: true,
          base: 0,
          bitmap: new Uint8Array(0),
        }),
      )
      await atk.tell(cAddr, rand.bytes(rand.int(64)))
    }
    for (const atk of attackers) {
      // The live ask's id from the wrong address, and ids that are not live at all.
      await forge(atk, 0, 42n)
      await forge(atk, rand.nextUint32(), 42n)
      await forge(atk, 0, BigInt(rand.nextUint32()))
      await clock.tick(0)
    }
    const d = client.stats().dropped
    expect(d.wrongSource).toBe(50 * 3)
    expect(d.unknownId).toBe(50 * 6)
    expect(Number(d.malformed) + Number(d.unknownKind)).toBeGreaterThan(0)
    expect(client.stats().pending).toEqual({ inFlight: 1, queued: 0 })
    release()
    await clock.tick(1)
    expect(await asked).toEqual(Uint8Array.of(9, 9))
    await server.close()
    await serving
  })
})
