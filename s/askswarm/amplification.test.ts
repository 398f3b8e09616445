/**
 * Amplification: over plain UDP a request can carry a forged source address, so whatever a
 * packet makes the server send lands on someone who never asked. These tests play the
 * attacker with a raw peer speaking the wire format (a memswarm node on a ManualClock, where
 * every byte is counted exactly by the realm's traffic log, and a raw dgram socket against a
 * real UDP server) and check the bound the README states: replies other than the answer itself
 * stay within 3 × the bytes received from that source, plus one packet per second spanned.
 */
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { type MemAddr, Realm, type TrafficEvent } from '../memswarm/index.js'
import { UDPSwarm } from '../udpswarm/index.js'
import { ManualClock, waitUntil } from '../../p2ptest/index.js'
import { SeededRandom, serveAsks } from '../../core/index.js'
import {
  AskSwarm,
  type AskSwarmOptions,
  Kind,
  REQUEST_HEADER_SIZE,
  RESPONSE_HEADER_SIZE,
  encodePoll,
  encodeRequestHeader,
  parseFrame,
} from './index.js'

const MTU = 1232
const FACTOR = 3

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f()
})

/** Bytes each node sent to each other node, from the realm's log. */
function meter() {
  const sent = new Map<string, number>()
  return {
    log: (ev: TrafficEvent) => {
      if (ev.kind !== 'tell' || ev.fate !== 'sent') return
      const k = `${ev.src}>${ev.dst}`
      sent.set(k, (sent.get(k) ?? 0) + ev.size)
    },
    bytes: (from: { addr: MemAddr } | MemAddr, to: { addr: MemAddr } | MemAddr) => {
      const a = 'addr' in from ? from.addr : from
      const b = 'addr' in to ? to.addr : to
      return sent.get(`${a}>${b}`) ?? 0
    },
  }
}

function world(opts: AskSwarmOptions = {}) {
  const clock = new ManualClock()
  const traffic = meter()
  const realm = new Realm({ mtu: MTU, clock, log: traffic.log })
  const server = new AskSwarm(realm.newSwarm(), { clock, ...opts })
  // The "victim": whatever the server sends it lands here (and is dropped past its inbox).
  const attacker = realm.newSwarm({ inboxItems: 1 })
  const sAddr = server.localAddrs()[0]!
  cleanups.push(async () => {
    await server.close()
    await realm.close()
    expect(clock.pending).toBe(0)
  })
  const out = () => traffic.bytes(sAddr, attacker)
  const inn = () => traffic.bytes(attacker, sAddr)
  return { clock, realm, server, attacker, sAddr, out, inn }
}

const session = 0x0123_4567_89ab_cdefn

/** A request part of `dataLen` bytes: part `index` of a request of `count` such parts. */
function requestPart(seq: number, index: number, count: number, dataLen: number, flagged: boolean) {
  return [
    encodeRequestHeader({
      id: { session, seq },
      ackRequested: flagged,
      tx: 0,
      timeoutMs: 60_000,
      maxResponse: 1 << 20,
      total: count * dataLen,
      index,
      count,
    }),
    new Uint8Array(dataLen),
  ]
}

describe('askswarm amplification: ACKs', () => {
  // 17 bytes of data in 61 680 parts: a 1 048 560-byte request (just under the default 1 MiB),
  // each part 49 bytes on the wire. Part 9600 sits far past the first missing part, so an ACK
  // carrying the whole bitmap up to it would fill the mtu.
  const count = 61_680
  const far = 9600

  it('a repeated flagged part gets one ACK no larger than itself, not one full-mtu ACK per copy', async () => {
    const { clock, attacker, sAddr, server, out, inn } = world()
    for (let i = 0; i < 1000; i++) await attacker.tell(sAddr, requestPart(1, far, count, 17, true))
    await clock.tick(0)
    const ratio = out() / inn()
    console.log(
      `1000 repeated 49-byte flagged parts: in ${inn()} B, out ${out()} B (${ratio.toFixed(3)}×)`,
    )
    expect(inn()).toBe(1000 * 49)
    expect(server.stats().served.acks).toBe(1)
    expect(out()).toBeLessThanOrEqual(49)
    // Later copies, spaced in time, each get at most one ACK per repeat interval (50 ms).
    for (let i = 0; i < 100; i++) {
      await attacker.tell(sAddr, requestPart(1, far, count, 17, true))
      await clock.tick(10)
    }
    expect(server.stats().served.acks).toBeLessThanOrEqual(1 + 20)
    expect(out()).toBeLessThanOrEqual(inn())
  })

  it('fresh flagged parts each get an ACK no larger than the part', async () => {
    const { clock, attacker, sAddr, server, out, inn } = world()
    // 1000 distinct parts spread over the request, the first missing part kept at 0.
    for (let i = 1; i <= 1000; i++)
      await attacker.tell(sAddr, requestPart(2, i * 61, count, 17, true))
    await clock.tick(0)
    const ratio = out() / inn()
    console.log(
      `1000 fresh 49-byte flagged parts: in ${inn()} B, out ${out()} B (${ratio.toFixed(3)}×)`,
    )
    expect(server.stats().served.acks).toBe(1000)
    expect(out()).toBeLessThanOrEqual(inn())
    expect(server.stats().memory).toMatchObject({ incomplete: 1 })
  })
})

describe('askswarm amplification: POLLs and repeated requests', () => {
  const RESPONSE = 64 << 10
  const partLen = MTU - RESPONSE_HEADER_SIZE
  const parts = Math.ceil(RESPONSE / partLen)
  const answerBytes = RESPONSE + parts * RESPONSE_HEADER_SIZE

  /** One forged one-part request to a handler that answers 64 KB; returns the id's seq. */
  async function forgedRequest(w: ReturnType<typeof world>) {
    const serving = serveAsks(w.server, () => new Uint8Array(RESPONSE))
    cleanups.unshift(async () => {
      await w.server.close()
      await serving
    })
    await w.attacker.tell(w.sAddr, requestPart(7, 0, 1, 18, false))
    await w.clock.tick(0)
    // The first answer: the handler's response, sent once (the handler's own amplification).
    expect(w.out()).toBe(answerBytes)
    return 7
  }

  const poll = (seq: number, tx: number) =>
    encodePoll({ id: { session, seq }, tx, base: 0, bitmap: new Uint8Array(0) })

  it('100 back-to-back 18-byte POLLs: what they trigger stays within 3 × their bytes plus one part', async () => {
    const w = world()
    const seq = await forgedRequest(w)
    const before = { out: w.out(), inn: w.inn() }
    for (let i = 0; i < 100; i++) await w.attacker.tell(w.sAddr, poll(seq, i))
    await w.clock.tick(0)
    const inn = w.inn()
    const triggered = w.out() - before.out
    console.log(
      `100 POLLs after one forged request: in ${inn} B (request ${before.inn} B), first answer ` +
        `${before.out} B, then ${triggered} B (${(triggered / (inn - before.inn)).toFixed(2)}× the POLLs, ` +
        `${(w.out() / inn).toFixed(1)}× overall)`,
    )
    expect(triggered).toBeLessThanOrEqual(FACTOR * inn + MTU)
    expect(w.server.stats().dropped.repeatTooSoon).toBeGreaterThanOrEqual(99)
  })

  it('POLLs and repeated requests spread over 10 s: the budget, the interval and the lifetime cap hold', async () => {
    const w = world()
    const seq = await forgedRequest(w)
    const first = w.out()
    for (let i = 0; i < 1000; i++) {
      // Alternate POLLs and copies of the whole one-part request.
      await w.attacker.tell(w.sAddr, i % 2 === 0 ? poll(seq, i) : requestPart(seq, 0, 1, 18, false))
      await w.clock.tick(10)
    }
    const inn = w.inn()
    const triggered = w.out() - first
    const s = w.server.stats()
    console.log(
      `1000 POLLs/requests over 10 s: in ${inn} B, triggered ${triggered} B ` +
        `(${(triggered / inn).toFixed(2)}×), resent ${s.served.responsePartsResent} parts`,
    )
    // 10 s span 11 one-second buckets of the reply budget: at most one packet over in each.
    expect(triggered).toBeLessThanOrEqual(FACTOR * inn + 11 * MTU)
    expect(s.served.responsePartsResent).toBeLessThanOrEqual(2 * parts)
  })

  it('a one-part answer is sent again only for repeats: once per interval, at most 8 times, never once a POLL says it arrived', async () => {
    const w = world()
    const serving = serveAsks(w.server, () => new Uint8Array(64))
    cleanups.unshift(async () => {
      await w.server.close()
      await serving
    })
    const request = (seq: number) => w.attacker.tell(w.sAddr, requestPart(seq, 0, 1, 18, false))
    const served = () => w.server.stats().served
    await request(1)
    await w.clock.tick(0)
    expect(served()).toMatchObject({ accepted: 1, responseParts: 1, responsePartsResent: 0 })
    // Copies 1 ms apart: within the 50 ms repeat interval only the first is answered.
    for (let i = 0; i < 20; i++) {
      await request(1)
      await w.clock.tick(1)
    }
    expect(served()).toMatchObject({ responseParts: 2, responsePartsResent: 1 })
    expect(w.server.stats().dropped.repeatTooSoon).toBe(19)
    // Copies 100 ms apart: sent again until the lifetime cap, max(2 × 1, 8) parts.
    for (let i = 0; i < 20; i++) {
      await request(1)
      await w.clock.tick(100)
    }
    expect(served()).toMatchObject({ accepted: 1, responseParts: 9, responsePartsResent: 8 })
    expect(w.server.stats().dropped.resendOverCap).toBe(12)
    // Another ask: once a POLL reports the part, neither POLLs nor copies bring it again.
    await request(2)
    await w.clock.tick(100)
    const had = encodePoll({ id: { session, seq: 2 }, tx: 1, base: 1, bitmap: new Uint8Array(0) })
    await w.attacker.tell(w.sAddr, had)
    await w.clock.tick(100)
    await request(2)
    await w.clock.tick(100)
    await w.attacker.tell(w.sAddr, poll(2, 2))
    await w.clock.tick(100)
    expect(served()).toMatchObject({ accepted: 2, responseParts: 10, responsePartsResent: 8 })
  })

  it('a real caller still gets a 64 KB response to a small request through 20% loss (its POLLs pay for resends)', async () => {
    const clock = new ManualClock()
    const realm = new Realm({ mtu: MTU, clock, loss: 0.2, seed: 99 })
    const a = new AskSwarm(realm.newSwarm(), { clock })
    const b = new AskSwarm(realm.newSwarm(), { clock })
    cleanups.push(async () => {
      await a.close()
      await b.close()
      expect(clock.pending).toBe(0)
    })
    const body = new SeededRandom(5).bytes(RESPONSE)
    const serving = serveAsks(b, () => body)
    let last = 0
    const results = Array.from({ length: 20 }, (_, i) =>
      a.ask(b.localAddrs()[0]!, Uint8Array.of(i), { timeoutMs: 10_000 }).then((r) => {
        last = Math.max(last, clock.now())
        return r
      }),
    )
    const settled = Promise.allSettled(results)
    await clock.tick(10_000)
    const ok = (await settled).filter(
      (r) => r.status === 'fulfilled' && r.value.length === RESPONSE,
    )
    expect(ok).toHaveLength(20)
    const s = b.stats()
    console.log(
      `20 asks for 64 KB at 20% loss: all done at ${last} ms (simulated), ` +
        `${s.served.responsePartsResent} parts resent, ${s.dropped.replyOverBudget} held back by the budget`,
    )
    expect(s.served.responsePartsResent).toBeGreaterThan(0)
    await b.close()
    await serving
  })
})

describe('askswarm amplification over a real UDP socket', () => {
  it('a raw dgram socket: one forged request to a 64 KB handler, then 100 POLLs', async () => {
    const server = new AskSwarm(await UDPSwarm.bind('127.0.0.1:0'))
    const serving = serveAsks(server, () => new Uint8Array(64 << 10))
    const raw = createSocket('udp4')
    raw.bind(0, '127.0.0.1')
    await once(raw, 'listening')
    cleanups.push(async () => {
      raw.close()
      await server.close()
      await serving
    })
    const sAddr = server.localAddrs()[0]!
    const to = { host: '127.0.0.1', port: sAddr.port }
    let received = 0
    let flagged = false
    raw.on('message', (buf) => {
      received += buf.length
      const f = parseFrame(buf)
      if (f.kind === Kind.RESPONSE && f.ackRequested) flagged = true
    })
    const send = (data: Uint8Array[]) =>
      new Promise<void>((resolve, reject) =>
        raw.send(data, to.port, to.host, (err) => (err ? reject(err) : resolve())),
      )
    await send(requestPart(3, 0, 1, 18, false))
    await waitUntil(() => flagged, 'the first answer')
    const inner = () =>
      server.stats().inner as { bytesSent: number; bytesReceived: number; tellsSent: number }
    const served = () => server.stats().served
    await waitUntil(() => inner().tellsSent === served().responseParts, 'the first answer sent')
    const first = inner().bytesSent
    const start = performance.now()
    for (let i = 0; i < 100; i++) {
      await send([
        encodePoll({ id: { session, seq: 3 }, tx: i, base: 0, bitmap: new Uint8Array(0) }),
      ])
    }
    await waitUntil(() => served().polls === 100, 'the server reading 100 POLLs')
    await waitUntil(() => inner().tellsSent === served().responseParts, 'the replies sent')
    const inn = inner().bytesReceived
    const triggered = inner().bytesSent - first
    // One-second budget buckets spanned (however slow a loaded machine is).
    const buckets = Math.ceil((performance.now() - start) / 1000) + 1
    console.log(
      `UDP: request ${REQUEST_HEADER_SIZE + 18} B + 100 POLLs: in ${inn} B; first answer ${first} B; ` +
        `triggered by the POLLs ${triggered} B (${(triggered / inn).toFixed(2)}×); the socket got ${received} B`,
    )
    expect(triggered).toBeLessThanOrEqual(FACTOR * inn + buckets * MTU)
  })
})
