/**
 * p2pkeswarm behaviour: sizes, identities and allow-lists, the waits of `tell` and
 * `lookupPublicKey`, the anti-amplification budget seen from a raw P2PKE peer, replays, garbage,
 * caps and expiry, and two PeerIDs at one UDP address. Timers run on a ManualClock (memswarm
 * delivers at once, so handshakes need no timer); nothing sleeps.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Message,
  PeerID,
  SeededRandom,
  bytesEqual,
  ErrorCodes,
  hasErrorCode,
  isClosedError,
  isPublicKeyNotFoundError,
  isTimeoutError,
} from '../../core/index.js'
import {
  ED25519_OID,
  type PrivateKey,
  type PublicKey,
  defaultRegistry,
  publicKeyEqual,
} from '../../f/x509/index.js'
import { ManualClock, testKey, waitUntil } from '../../p2ptest/index.js'
import { MAX_MESSAGE_LEN, Session } from '../../p/p2pke/index.js'
import { MemAddr, type MemSwarm, Realm, type RealmOptions } from '../memswarm/index.js'
import { type UDPAddr, UDPSwarm } from '../udpswarm/index.js'
import {
  DEFAULT_HANDSHAKE_WAIT_MS,
  P2PKEAddr,
  type P2PKESwarm,
  type P2PKESwarmOptions,
  fingerprintPublicKey,
  newP2PKESwarm,
} from './index.js'

const BASE_WALL = 1_704_067_200_000
const isBusyError = (e: unknown) => hasErrorCode(e, ErrorCodes.BUSY)
const isNotAllowedError = (e: unknown) => hasErrorCode(e, ErrorCodes.NOT_ALLOWED)
const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const key = (i: number): PrivateKey => ({ algorithm: ED25519_OID, data: testKey(i).seed })
const pub = (i: number): PublicKey => defaultRegistry().publicKeyFromPrivate(key(i))
const idOf = (i: number): PeerID => fingerprintPublicKey(pub(i))

type Swarm = P2PKESwarm<MemAddr>
type Msg = Message<P2PKEAddr<MemAddr>>

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A realm on a ManualClock with swarms made by `node`. */
function world(realmOpts: RealmOptions = {}, common: Partial<P2PKESwarmOptions<MemAddr>> = {}) {
  const clock = new ManualClock(0)
  const realm = new Realm({ mtu: 1500, ...realmOpts })
  cleanups.push(() => realm.close())
  let next = 1
  const node = (opts: Partial<P2PKESwarmOptions<MemAddr>> = {}): Swarm =>
    newP2PKESwarm(realm.newSwarm(), {
      privateKey: key(next++),
      clock,
      wallClock: () => BASE_WALL + clock.now(),
      ...common,
      ...opts,
    })
  const raw = (): MemSwarm => realm.newSwarm()
  return { clock, realm, node, raw }
}

/** Everything a swarm receives, from now until it closes. */
function collect<M>(swarm: { receive(fn: (m: M) => void, o?: unknown): Promise<void> }): M[] {
  const got: M[] = []
  void (async () => {
    for (;;) {
      try {
        await swarm.receive((m) => {
          got.push(m)
        })
      } catch {
        return
      }
    }
  })()
  return got
}

const addrOf = (s: Swarm) => s.localAddrs()[0]!
/** A realm address where nobody listens. */
const NOWHERE = new MemAddr(1_000_000)

describe('p2pkeswarm', () => {
  it('payloads of random sizes 1..mtu arrive intact (property; P2PKE cannot carry empty tells)', async () => {
    const { node } = world()
    const [a, b] = [node(), node()]
    const got = collect<Msg>(b)
    const dst = addrOf(b)
    expect(a.mtu(dst)).toBe(1480)
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: a.mtu(dst) }),
        fc.integer(),
        async (size, seed) => {
          const payload = new SeededRandom(seed).bytes(size)
          const copy = payload.slice()
          const n = got.length
          await a.tell(dst, payload)
          await waitUntil(() => got.length > n, 'the tell')
          expect(bytesEqual(got.at(-1)!.payload, copy)).toBe(true)
          expect(bytesEqual(payload, copy)).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
    await expect(a.tell(dst, new Uint8Array(0))).rejects.toThrow(RangeError)
    await expect(a.tell(dst, [new Uint8Array(0), new Uint8Array(0)])).rejects.toThrow(RangeError)
  })

  it('mtu is the inner mtu minus 20, at most MAX_MESSAGE_LEN', () => {
    const { node } = world({ mtu: 70_000 })
    const a = node()
    expect(a.mtu(addrOf(a))).toBe(MAX_MESSAGE_LEN)
    expect(a.maxIncomingSize()).toBe(MAX_MESSAGE_LEN)
    const small = world({ mtu: 100 }).node()
    expect(small.mtu(addrOf(small))).toBe(80)
    expect(small.maxIncomingSize()).toBe(80)
  })

  it('PeerID is SHAKE256-256 of the SPKI by default; the fingerprint option replaces it', async () => {
    const { node } = world()
    const a = node({ privateKey: key(7) })
    expect(a.peerID.equals(idOf(7))).toBe(true)
    expect(addrOf(a).peerID.equals(idOf(7))).toBe(true)
    // A custom fingerprint (the first 32 bytes of the raw key) is used for addresses both ways.
    const fp = (k: PublicKey) => new PeerID(k.data.slice(0, 32))
    const b = node({ privateKey: key(8), fingerprint: fp })
    const c = node({ privateKey: key(9), fingerprint: fp })
    const got = collect<Msg>(c)
    expect(addrOf(b).peerID.equals(new PeerID(pub(8).data))).toBe(true)
    await b.tell(addrOf(c), utf8('custom'))
    await waitUntil(() => got.length === 1, 'the tell')
    expect(got[0]!.src.peerID.equals(new PeerID(pub(8).data))).toBe(true)
  })

  it("inside receive, lookupPublicKey(msg.src) answers at once with the sender's key", async () => {
    const { node } = world()
    const [a, b] = [node({ privateKey: key(11) }), node()]
    let looked: Promise<PublicKey> | undefined
    const got = collect<Msg>({
      receive: (fn, o) =>
        b.receive((m) => {
          looked = b.lookupPublicKey(m.src)
          fn(m)
        }, o as undefined),
    })
    await a.tell(addrOf(b), utf8('x'))
    await waitUntil(() => got.length === 1, 'the tell')
    expect(publicKeyEqual(await looked!, pub(11))).toBe(true)
    expect(got[0]!.src.toString()).toBe(addrOf(a).toString())
    expect(got[0]!.dst.toString()).toBe(addrOf(b).toString())
    // And for an established channel, by address.
    expect(publicKeyEqual(await b.lookupPublicKey(addrOf(a)), pub(11))).toBe(true)
  })

  it('lookupPublicKey performs a handshake for a peer without a channel, and fails when none completes', async () => {
    const { clock, node } = world()
    const [a, b] = [node(), node({ privateKey: key(21) })]
    expect(publicKeyEqual(await a.lookupPublicKey(addrOf(b)), pub(21))).toBe(true)
    expect(publicKeyEqual(await a.lookupPublicKey(addrOf(a)), a.publicKey())).toBe(true)
    // Nobody at that address: PublicKeyNotFoundError after the wait.
    const lost = a.lookupPublicKey(new P2PKEAddr(idOf(22), NOWHERE))
    const settled = lost.then(
      () => 'resolved',
      (e) => e,
    )
    await clock.tick(DEFAULT_HANDSHAKE_WAIT_MS)
    expect(isPublicKeyNotFoundError(await settled)).toBe(true)
    // The caller's signal wins, with its reason.
    const ac = new AbortController()
    const reason = new Error('stop')
    const aborted = a.lookupPublicKey(new P2PKEAddr(idOf(23), NOWHERE), {
      signal: ac.signal,
    })
    ac.abort(reason)
    await expect(aborted).rejects.toBe(reason)
  })

  it('a tell to a PeerID that the key at that address does not match times out; nothing is delivered', async () => {
    const { clock, node } = world()
    const [a, b] = [node(), node()]
    const got = collect<Msg>(b)
    const wrong = new P2PKEAddr(idOf(99), addrOf(b).inner)
    const p = a.tell(wrong, utf8('for someone else')).then(
      () => 'resolved',
      (e) => e,
    )
    await clock.tick(DEFAULT_HANDSHAKE_WAIT_MS)
    expect(isTimeoutError(await p)).toBe(true)
    expect(got).toEqual([])
    expect(a.stats().channelDropped.keyRejected).toBeGreaterThan(0)
  })

  it('allow-lists: a set refuses tells at once and InitHellos before any signature check; a function too', async () => {
    const { clock, node } = world()
    const c = node({ privateKey: key(33) })
    const onlyC = node({ allow: [idOf(33)] })
    const onlyCText = node({ allow: [idOf(33).toString()] })
    const fnAllow = node({ allow: (id) => id.equals(idOf(33)) })
    const stranger = node({ privateKey: key(34) })
    // Outbound to a PeerID outside the set: refused before anything is sent.
    await expect(onlyC.tell(addrOf(stranger), utf8('x'))).rejects.toSatisfy(isNotAllowedError)
    await expect(onlyC.lookupPublicKey(addrOf(stranger))).rejects.toSatisfy(
      isPublicKeyNotFoundError,
    )
    // Inbound from a stranger: dropped, unverified, undelivered; the stranger's tell times out.
    const got = [onlyC, onlyCText, fnAllow].map((s) => collect<Msg>(s))
    const tries = [onlyC, onlyCText, fnAllow].map((s) =>
      stranger.tell(addrOf(s), utf8('let me in')).then(
        () => 'resolved',
        (e) => e,
      ),
    )
    await clock.tick(DEFAULT_HANDSHAKE_WAIT_MS)
    for (const t of tries) expect(isTimeoutError(await t)).toBe(true)
    for (const s of [onlyC, onlyCText, fnAllow]) {
      expect(s.stats().dropped.notAllowed).toBeGreaterThan(0)
      expect(s.stats().verifications).toBe(0)
      expect(s.stats().channels.open).toBe(0)
    }
    expect(got.flat()).toEqual([])
    // The allowed peer gets through to all three.
    for (const s of [onlyC, onlyCText, fnAllow]) await c.tell(addrOf(s), utf8('hi'))
    await waitUntil(() => got.every((g) => g.length === 1), 'the allowed tells')
  })

  it('a tell waits for the handshake at most handshakeWaitMs; abort and close end the wait', async () => {
    const { clock, node } = world()
    const [a, b] = [node({ maxWaitingTells: 2 }), node()]
    const dead = new P2PKEAddr(idOf(50), NOWHERE)
    const t1 = a.tell(dead, utf8('1')).then(
      () => 'resolved',
      (e) => e,
    )
    const ac = new AbortController()
    const t2 = a.tell(dead, utf8('2'), { signal: ac.signal }).then(
      () => 'resolved',
      (e) => e,
    )
    // Two are waiting: the third is refused at once.
    await expect(a.tell(dead, utf8('3'))).rejects.toSatisfy(isBusyError)
    expect(a.stats().waitingTells).toBe(2)
    const reason = new Error('changed my mind')
    ac.abort(reason)
    expect(await t2).toBe(reason)
    await clock.tick(DEFAULT_HANDSHAKE_WAIT_MS - 1)
    expect(a.stats().waitingTells).toBe(1)
    await clock.tick(1)
    expect(isTimeoutError(await t1)).toBe(true)
    expect(a.stats().waitingTells).toBe(0)
    // Close while a tell waits: ClosedError, and no timer is left behind.
    const t3 = a.tell(dead, utf8('4')).then(
      () => 'resolved',
      (e) => e,
    )
    await a.close()
    expect(isClosedError(await t3)).toBe(true)
    await b.close()
    expect(clock.pending).toBe(0)
    await expect(a.tell(addrOf(b), utf8('x'))).rejects.toSatisfy(isClosedError)
    await expect(a.lookupPublicKey(addrOf(b))).rejects.toSatisfy(isClosedError)
    await expect(a.receive(() => {})).rejects.toSatisfy(isClosedError)
  })

  it('a tell to its own address is delivered locally, with its own key', async () => {
    const { node } = world()
    const a = node()
    const got = collect<Msg>(a)
    await a.tell(addrOf(a), utf8('me'))
    await waitUntil(() => got.length === 1, 'the tell to self')
    expect(got[0]!.src.toString()).toBe(addrOf(a).toString())
    expect(publicKeyEqual(await a.lookupPublicKey(got[0]!.src), a.publicKey())).toBe(true)
    expect(a.stats().channels.created).toBe(0)
  })

  it('answers a raw P2PKE initiator byte for byte, never sending more than it received before the handshake completes', async () => {
    const { clock, node, raw } = world()
    const v = node({ privateKey: key(60) })
    const peer = raw()
    const fromV = collect<Message<MemAddr>>(peer)
    const vInner = addrOf(v).inner
    const s = new Session({ initiator: true, privateKey: key(61), now: clock.now() })
    const hello = s.handshakeMessage()!
    await peer.tell(vInner, hello)
    await waitUntil(() => fromV.length === 1, 'RespHello')
    const respHello = fromV[0]!.payload
    expect(respHello.length).toBeLessThanOrEqual(hello.length)
    // The responder's own retransmissions are withheld: they would exceed the budget.
    await clock.tick(5000)
    expect(fromV.length).toBe(1)
    expect(v.stats().sendsWithheld).toBeGreaterThan(0)
    expect(v.stats().channels.halfOpenInbound).toBe(1)
    // The initiator's retransmission is answered with the same RespHello.
    await peer.tell(vInner, hello)
    await waitUntil(() => fromV.length === 2, 'the repeated RespHello')
    expect(bytesEqual(fromV[1]!.payload, respHello)).toBe(true)
    // Completing the handshake establishes the channel; RespDone comes back.
    const o = s.deliver(respHello, clock.now())
    expect(o.type).toBe('handshake')
    await peer.tell(vInner, (o as { reply: Uint8Array }).reply)
    await waitUntil(() => fromV.length === 3, 'RespDone')
    expect(s.deliver(fromV[2]!.payload, clock.now()).type).toBe('handshake')
    expect(s.ready).toBe(true)
    expect(v.stats().channels).toMatchObject({ established: 1, halfOpenInbound: 0 })
    // Data both ways.
    const got = collect<Msg>(v)
    await peer.tell(vInner, s.send(utf8('from raw'), clock.now()))
    await waitUntil(() => got.length === 1, 'data from the raw peer')
    expect(text(got[0]!.payload)).toBe('from raw')
    expect(got[0]!.src.peerID.equals(idOf(61))).toBe(true)
    await v.tell(got[0]!.src, utf8('to raw'))
    await waitUntil(() => fromV.length === 4, 'data to the raw peer')
    const d = s.deliver(fromV[3]!.payload, clock.now())
    expect(d.type === 'data' && text(d.plaintext)).toBe('to raw')
  })

  it('a replay of an accepted InitHello from another address is dropped without a signature check', async () => {
    const { clock, node, raw } = world()
    const v = node()
    const [p1, p2] = [raw(), raw()]
    const to1 = collect<Message<MemAddr>>(p1)
    const to2 = collect<Message<MemAddr>>(p2)
    const hello = new Session({
      initiator: true,
      privateKey: key(62),
      now: clock.now(),
    }).handshakeMessage()!
    await p1.tell(addrOf(v).inner, hello)
    await waitUntil(() => to1.length === 1, 'RespHello')
    expect(v.stats().verifications).toBe(1)
    await p2.tell(addrOf(v).inner, hello)
    const other = hello.slice()
    other.fill(7, 4, 36) // another ephemeral key: the signature does not cover it
    await p2.tell(addrOf(v).inner, other)
    await waitUntil(() => v.stats().dropped.replay === 2, 'the replays to be dropped')
    expect(v.stats().verifications).toBe(1)
    expect(to2).toEqual([])
    expect(v.stats().channels.open).toBe(1)
  })

  it('garbage from anywhere is dropped and counted, leaves no state, and never reaches receive (property)', async () => {
    const { node, raw } = world()
    const v = node()
    const got = collect<Msg>(v)
    const junk = raw()
    let sent = 0
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .tuple(fc.integer({ min: 0, max: 20 }), fc.uint8Array({ maxLength: 300 }))
            .map(([c, b]) => Uint8Array.of(0, 0, 0, c, ...b)),
        ),
        async (bytes) => {
          await junk.tell(addrOf(v).inner, bytes)
          sent++
        },
      ),
      { numRuns: 500 },
    )
    await waitUntil(() => v.stats().packetsIn === sent, 'the garbage to arrive')
    const st = v.stats()
    const dropped = Object.values(st.dropped).reduce((x: number, y) => x + (y as number), 0)
    expect(dropped).toBe(sent)
    expect(st.channels.open).toBe(0)
    expect(st.packetsOut).toBe(0)
    expect(got).toEqual([])
  })

  it('rate-limits InitHellos per source: a burst of 5, then refused until tokens come back', async () => {
    const { clock, node, raw } = world({}, { maxChannelsPerAddr: 16 })
    const v = node()
    const p = raw()
    const hellos = Array.from(
      { length: 10 },
      (_, i) =>
        new Session({ initiator: true, privateKey: key(70 + i), now: 0 }).handshakeMessage()!,
    )
    for (const h of hellos) await p.tell(addrOf(v).inner, h)
    await waitUntil(() => v.stats().packetsIn === 10, 'the InitHellos')
    expect(v.stats().verifications).toBe(5)
    expect(v.stats().dropped.rateLimited).toBe(5)
    await clock.tick(50) // one token (20/s)
    await p.tell(addrOf(v).inner, hellos[9]!)
    await waitUntil(() => v.stats().verifications === 6, 'a token to come back')
  })

  it('caps channels (LRU for local tells, oldest half-open for remote ones) and expires idle and half-open ones', async () => {
    const { clock, node, raw } = world()
    const v = node({ maxChannels: 3, maxHalfOpen: 1, idleTimeoutMs: 30_000 })
    const peers = [node(), node(), node(), node()]
    for (const p of peers) collect<Msg>(p)
    for (const p of peers) await v.tell(addrOf(p), utf8('hi'))
    expect(v.stats().channels).toMatchObject({ open: 3, established: 3, evicted: 1 })
    // Remote InitHellos never evict an established channel; half-open ones replace each other.
    const [r1, r2] = [raw(), raw()]
    for (const [i, r] of [r1, r2].entries()) {
      const h = new Session({ initiator: true, privateKey: key(80 + i), now: 0 })
      await r.tell(addrOf(v).inner, h.handshakeMessage()!)
    }
    await waitUntil(() => v.stats().dropped.channelsFull === 2, 'both InitHellos to be refused')
    expect(v.stats().channels).toMatchObject({ open: 3, established: 3 })
    // Idle channels expire, then a tell simply handshakes again.
    await clock.tick(30_000 + 10_000)
    expect(v.stats().channels).toMatchObject({ open: 0, idleExpired: 3 })
    await v.tell(addrOf(peers[0]!), utf8('again'))
    expect(v.stats().channels.open).toBe(1)

    const w = node({ maxHalfOpen: 1 })
    const [r3, r4] = [raw(), raw()]
    const to3 = collect<Message<MemAddr>>(r3)
    await r3.tell(
      addrOf(w).inner,
      new Session({ initiator: true, privateKey: key(83), now: 0 }).handshakeMessage()!,
    )
    await waitUntil(() => to3.length === 1, 'RespHello')
    await r4.tell(
      addrOf(w).inner,
      new Session({ initiator: true, privateKey: key(84), now: 0 }).handshakeMessage()!,
    )
    await waitUntil(() => w.stats().channels.evicted === 1, 'the first half-open to go')
    expect(w.stats().channels).toMatchObject({ open: 1, halfOpenInbound: 1 })
    await clock.tick(10_000 + 5_000)
    expect(w.stats().channels).toMatchObject({ open: 0, halfOpenExpired: 1 })
  })

  it('keeps a channel through rekeys over 200 s of traffic', async () => {
    const { clock, node } = world()
    const [a, b] = [node(), node()]
    const got = collect<Msg>(b)
    for (let i = 0; i < 200; i++) {
      await a.tell(addrOf(b), utf8(`m${i}`))
      await clock.tick(1000)
    }
    await waitUntil(() => got.length === 200, 'every tell')
    expect(got.map((m) => text(m.payload))).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`))
    expect(a.stats().handshakes.rekeys).toBeGreaterThanOrEqual(1)
    expect(b.stats().handshakes.completed).toBeGreaterThanOrEqual(2)
    expect(b.stats().dropped.rateLimited).toBe(0)
    expect(a.stats().channels.open).toBe(1)
  })

  it('two PeerIDs at one UDP address get a channel each', async () => {
    const v = newP2PKESwarm(await UDPSwarm.bind('127.0.0.1:0'), { privateKey: key(90) })
    cleanups.push(() => v.close())
    const got = collect<Message<P2PKEAddr<UDPAddr>>>(v)
    const x1 = newP2PKESwarm(await UDPSwarm.bind('127.0.0.1:0'), { privateKey: key(91) })
    const port = x1.localAddrs()[0]!.inner.port
    await x1.tell(v.localAddrs()[0]!, utf8('from key 91'))
    await waitUntil(() => got.length === 1, 'the first tell')
    await x1.close()
    // Another key takes over the same address (a restart with a new identity).
    const x2 = newP2PKESwarm(await UDPSwarm.bind(`127.0.0.1:${port}`), { privateKey: key(92) })
    cleanups.push(() => x2.close())
    const got2 = collect<Message<P2PKEAddr<UDPAddr>>>(x2)
    await x2.tell(v.localAddrs()[0]!, utf8('from key 92'))
    await waitUntil(() => got.length === 2, 'the second tell')
    expect(got.map((m) => [m.src.peerID.toString(), text(m.payload)])).toEqual([
      [idOf(91).toString(), 'from key 91'],
      [idOf(92).toString(), 'from key 92'],
    ])
    expect(got[0]!.src.inner.toString()).toBe(got[1]!.src.inner.toString())
    expect(v.stats().channels.open).toBe(2)
    // Both directions keep working on the new key's channel.
    await v.tell(got[1]!.src, utf8('to key 92'))
    await waitUntil(() => got2.length === 1, 'the reply')
    await x2.tell(v.localAddrs()[0]!, utf8('again from 92'))
    await waitUntil(() => got.length === 3, 'the third tell')
    expect(got[2]!.src.peerID.equals(idOf(92))).toBe(true)
  })
})
