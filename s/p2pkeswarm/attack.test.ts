/**
 * A p2pkeswarm victim on memswarm under a flood from 10 000 spoofed source addresses: 100 000
 * packets — fresh signed InitHellos (each sent again from other addresses once it was seen),
 * replayed captures of a real peer's InitHello (exact, and with another ephemeral key, which the
 * signature does not cover), forged InitHellos (a valid shape, a bad signature), malformed ones,
 * and garbage of every counter — while one established peer keeps talking and a new legitimate
 * peer connects.
 *
 * The realm's transform forges the `src` of every packet the attacker node sends (a raw memswarm
 * node), and counts the bytes between the victim and each spoofed address. Time is a ManualClock
 * moved 1 ms per 50 packets (a flood of 50 000 packets/s of simulated time); within each
 * millisecond the new peer's retransmissions land at a random point among the attacker's packets.
 *
 * What must hold, printed as numbers: no state per source before an InitHello verifies (channels,
 * limiter entries and remembered InitHellos stay within their caps, and go away afterwards);
 * signature checks bounded by the global rate; never more bytes sent to a spoofed address than
 * received from it; the established peer loses nothing; the new peer connects (its handshake time
 * is printed, and must come before a generous deadline); heap growth bounded.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { type Message, SeededRandom } from '../../core/index.js'
import { signWithPurpose } from '../../crypto/index.js'
import {
  ED25519_OID,
  type PrivateKey,
  defaultRegistry,
  marshalPublicKey,
} from '../../f/x509/index.js'
import { ManualClock, testKey, waitUntil } from '../../p2ptest/index.js'
import {
  PURPOSE_TIMESTAMP,
  encodeHeader,
  encodeInitHelloPayload,
  encodeTai64n,
  isInitHello,
  tai64nFromUnixMs,
} from '../../p/p2pke/index.js'
import { MemAddr, Realm } from '../memswarm/index.js'
import { type P2PKEAddr, type P2PKESwarm, newP2PKESwarm } from './index.js'

const BASE_WALL = 1_704_067_200_000
const SOURCES = 10_000
const PACKETS = 100_000
const PER_MS = 50
const SPOOF_BASE = 1_000_000
const FRESH_POOL = 3000
const ATTACKER_KEYS = 30
const MAX_CHANNELS = 1024
const MAX_HALF_OPEN = 256
const GLOBAL_PPS = 1000
const GLOBAL_BURST = 100

const key = (i: number): PrivateKey => ({ algorithm: ED25519_OID, data: testKey(i).seed })

function exposeGC(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** A well-formed InitHello: header, ephemeral key, payload (signature as given). */
function initHello(ephemeral: Uint8Array, ts: Uint8Array, keyX509: Uint8Array, sig: Uint8Array) {
  return concat(
    encodeHeader(0),
    ephemeral,
    encodeInitHelloPayload({ version: 1, timestampTai64n: ts, keyX509, sig }),
  )
}

/** The same InitHello with another ephemeral key (the signature covers only the timestamp). */
function withEphemeral(hello: Uint8Array, ephemeral: Uint8Array): Uint8Array {
  const out = hello.slice()
  out.set(ephemeral, 4)
  return out
}

const mb = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`

describe('p2pkeswarm under a spoofed handshake flood', () => {
  it('stays bounded, never amplifies, keeps its peers, and lets a new peer in', async () => {
    const gc = exposeGC()
    const rand = new SeededRandom(99)
    const clock = new ManualClock(0)
    const wallClock = () => BASE_WALL + clock.now()

    // Bytes between the victim and every spoofed address, seen by the realm's transform.
    const spoofQueue: MemAddr[] = []
    const bytesIn = new Map<number, number>()
    const bytesOut = new Map<number, number>()
    let victimN = -1
    let attackerN = -1
    let captureFrom = -1
    const captured: Uint8Array[] = []
    let toVictim = 0
    const realm = new Realm({
      mtu: 1500,
      inboxItems: 8192,
      clock,
      transform: (msg) => {
        if (msg.dst.n === victimN) toVictim++
        if (msg.src.n === attackerN) {
          const spoof = spoofQueue.shift()!
          bytesIn.set(spoof.n, (bytesIn.get(spoof.n) ?? 0) + msg.payload.length)
          return { ...msg, src: spoof }
        }
        if (msg.src.n === victimN && msg.dst.n >= SPOOF_BASE) {
          bytesOut.set(msg.dst.n, (bytesOut.get(msg.dst.n) ?? 0) + msg.payload.length)
        }
        if (msg.src.n === captureFrom && isInitHello(msg.payload))
          captured.push(msg.payload.slice())
        return msg
      },
    })
    const opts = {
      clock,
      wallClock,
      maxChannels: MAX_CHANNELS,
      maxHalfOpen: MAX_HALF_OPEN,
      rateLimit: { globalPacketsPerSecond: GLOBAL_PPS, globalBurst: GLOBAL_BURST },
    }
    const victimInner = realm.newSwarm()
    victimN = victimInner.addr.n
    const victim = newP2PKESwarm(victimInner, { ...opts, privateKey: key(1) })
    const known = newP2PKESwarm(realm.newSwarm(), { ...opts, privateKey: key(2) })
    const newcomer = newP2PKESwarm(realm.newSwarm(), { ...opts, privateKey: key(3) })
    const attacker = realm.newSwarm()
    attackerN = attacker.addr.n
    const victimAddr = victim.localAddrs()[0]!

    const received: Message<P2PKEAddr<MemAddr>>[] = []
    const pump = (async () => {
      for (;;) {
        try {
          await victim.receive((m) => {
            received.push(m)
          })
        } catch {
          return
        }
      }
    })()
    const textOf = (m: Message<P2PKEAddr<MemAddr>>) => new TextDecoder().decode(m.payload)
    const fromPeer = (p: P2PKESwarm<MemAddr>) =>
      received.filter((m) => m.src.peerID.equals(p.peerID)).map(textOf)

    // The established peer connects first; its InitHello is captured for replays.
    captureFrom = known.localAddrs()[0]!.inner.n
    await known.tell(victimAddr, new TextEncoder().encode('known-0'))
    await waitUntil(() => fromPeer(known).length === 1, 'the known peer to connect')
    expect(captured.length).toBe(1)
    const capture = captured[0]!

    // The flood's ingredients.
    const registry = defaultRegistry()
    const attackerKeys = Array.from({ length: ATTACKER_KEYS }, (_, i) => {
      const seed = testKey(500 + i).seed
      return { seed, x509: marshalPublicKey(registry.publicKeyFromPrivate(key(500 + i))) }
    })
    const fresh = Array.from({ length: FRESH_POOL }, (_, i) => {
      const k = attackerKeys[i % ATTACKER_KEYS]!
      const ts = encodeTai64n(tai64nFromUnixMs(BASE_WALL + i))
      return initHello(rand.bytes(32), ts, k.x509, signWithPurpose(k.seed, PURPOSE_TIMESTAMP, ts))
    })
    const knownX509 = marshalPublicKey(known.publicKey())
    const kinds = {
      garbage: 0,
      malformedHello: 0,
      forged: 0,
      fresh: 0,
      replayExact: 0,
      replayEphemeral: 0,
      replayAtPeer: 0,
    }
    const packet = (): { bytes: Uint8Array; atPeer: boolean } => {
      const r = rand.next()
      if (r < 0.2) {
        kinds.garbage++
        const b = rand.bytes(rand.int(160))
        if (b.length >= 4 && rand.chance(0.7)) b.set(encodeHeader(rand.int(2 ** 32)), 0)
        return { bytes: b, atPeer: false }
      }
      if (r < 0.25) {
        kinds.malformedHello++
        return { bytes: concat(encodeHeader(0), rand.bytes(rand.int(200))), atPeer: false }
      }
      if (r < 0.3) {
        kinds.forged++
        // A valid shape with a bad signature, half of them in the known peer's name.
        const x509 = rand.chance(0.5) ? knownX509 : attackerKeys[rand.int(ATTACKER_KEYS)]!.x509
        const ts = encodeTai64n(tai64nFromUnixMs(BASE_WALL + 10_000_000 + rand.int(1e9)))
        return { bytes: initHello(rand.bytes(32), ts, x509, rand.bytes(64)), atPeer: false }
      }
      if (r < 0.6) {
        kinds.fresh++
        return { bytes: fresh[rand.int(FRESH_POOL)]!, atPeer: false }
      }
      if (r < 0.79) {
        kinds.replayExact++
        return { bytes: capture, atPeer: false }
      }
      if (r < 0.98) {
        kinds.replayEphemeral++
        return { bytes: withEphemeral(capture, rand.bytes(32)), atPeer: false }
      }
      // From the established peer's own address: the channel itself refuses it, cheaply.
      kinds.replayAtPeer++
      return { bytes: withEphemeral(capture, rand.bytes(32)), atPeer: true }
    }
    const knownInner = known.localAddrs()[0]!.inner
    const send = (n: number) => {
      for (let i = 0; i < n; i++) {
        const p = packet()
        spoofQueue.push(p.atPeer ? knownInner : new MemAddr(SPOOF_BASE + rand.int(SOURCES)))
        void attacker.tell(victimInner.addr, p.bytes)
      }
    }

    gc()
    const heapBefore = process.memoryUsage().heapUsed
    const wallStart = performance.now()
    let sent = 0
    let peakChannels = 0
    let peakHalfOpen = 0
    let newcomerStart = -1
    let newcomerDone = -1
    let knownSent = 1
    let tellResult: Promise<void> | undefined
    for (let ms = 1; sent < PACKETS; ms++) {
      // Half a millisecond's packets, the clock tick (timers of the peers fire: the new peer's
      // retransmissions land here), then the rest, in a random proportion.
      const first = rand.int(PER_MS + 1)
      send(first)
      clock.advance(1)
      send(PER_MS - first)
      sent += PER_MS
      if (ms === 500) {
        newcomerStart = clock.now()
        tellResult = newcomer.tell(victimAddr, new TextEncoder().encode('newcomer'))
        tellResult.then(
          () => {
            if (newcomerDone < 0) newcomerDone = clock.now()
          },
          () => {},
        )
      }
      if (ms % 100 === 0) {
        void known.tell(victimAddr, new TextEncoder().encode(`known-${knownSent++}`))
      }
      // Wait until the victim took everything sent to it so far (the peers' packets too).
      await waitUntil(
        () => victimInner.stats().inbox.handed === toVictim,
        'the victim to take the flood',
      )
      if (ms % 10 === 0) {
        const st = victim.stats()
        peakChannels = Math.max(peakChannels, st.channels.open)
        peakHalfOpen = Math.max(peakHalfOpen, st.channels.halfOpenInbound)
      }
    }
    const floodMs = clock.now()
    const wallFlood = performance.now() - wallStart
    const during = victim.stats()
    gc()
    const heapPeak = process.memoryUsage().heapUsed

    // The new peer connects, during the flood or (at worst) after it, before a generous deadline.
    for (let i = 0; i < 20_000 && newcomerDone < 0; i += 10) {
      await clock.tick(10)
    }
    await tellResult
    await waitUntil(() => fromPeer(newcomer).length === 1, "the new peer's tell")
    // The established peer lost nothing.
    await waitUntil(() => fromPeer(known).length === knownSent, "the known peer's tells")
    expect(fromPeer(known)).toEqual(Array.from({ length: knownSent }, (_, i) => `known-${i}`))

    // Afterwards, every half-open channel expires and the per-source state goes away.
    await clock.tick(15_000)
    const after = victim.stats()
    gc()
    const heapAfter = process.memoryUsage().heapUsed

    let over = 0
    let totalIn = 0
    let totalOut = 0
    for (const [n, out] of bytesOut) {
      totalOut += out
      if (out > (bytesIn.get(n) ?? 0)) over++
    }
    for (const v of bytesIn.values()) totalIn += v
    const handshakeMs = newcomerDone - newcomerStart
    const maxVerifications = GLOBAL_BURST + (GLOBAL_PPS * floodMs) / 1000
    const report = {
      packets: sent,
      kinds,
      spoofedSources: SOURCES,
      simulatedFloodMs: floodMs,
      wallFloodMs: Math.round(wallFlood),
      microsPerPacket: Number(((wallFlood * 1000) / sent).toFixed(1)),
      verifications: during.verifications,
      verificationBound: maxVerifications,
      dropped: during.dropped,
      channelDropped: during.channelDropped,
      rateLimiter: during.rateLimiter,
      peakChannels,
      peakHalfOpenInbound: peakHalfOpen,
      channelsDuring: during.channels,
      channelsAfter: after.channels,
      limiterEntriesAfter: after.rateLimiter.entries,
      rememberedHellosDuring: during.rememberedHellos,
      rememberedHellosAfter: after.rememberedHellos,
      sendsWithheld: during.sendsWithheld,
      bytesFromSpoofed: totalIn,
      bytesToSpoofed: totalOut,
      spoofedAddressesAnswered: bytesOut.size,
      spoofedAddressesOverBudget: over,
      newcomerHandshakeSimulatedMs: handshakeMs,
      knownPeerTellsDelivered: `${fromPeer(known).length}/${knownSent}`,
      heap: { before: mb(heapBefore), peak: mb(heapPeak), after: mb(heapAfter) },
      errors: after.errors,
    }
    console.log(`p2pkeswarm flood report:\n${JSON.stringify(report, null, 2)}`)

    expect(after.errors).toBe(0)
    expect(peakChannels).toBeLessThanOrEqual(MAX_CHANNELS)
    expect(peakHalfOpen).toBeLessThanOrEqual(MAX_HALF_OPEN)
    expect(during.verifications).toBeLessThanOrEqual(maxVerifications + 5)
    expect(over).toBe(0)
    expect(totalOut).toBeLessThanOrEqual(totalIn)
    expect(during.dropped.replay).toBeGreaterThan(0)
    expect(during.dropped.rateLimited).toBeGreaterThan(0)
    // After the flood: only the two real peers' channels, no per-source state left.
    expect(after.channels.open).toBe(2)
    expect(after.channels.halfOpenInbound).toBe(0)
    expect(after.rateLimiter.entries).toBe(0)
    expect(handshakeMs).toBeGreaterThan(0)
    expect(handshakeMs).toBeLessThan(20_000)
    // Generous: the flood's channels and buffers are freed; what remains is the realm's own.
    expect(heapAfter - heapBefore).toBeLessThan(64 << 20)

    await Promise.all([victim.close(), known.close(), newcomer.close(), attacker.close()])
    await pump
  }, 120_000)
})
