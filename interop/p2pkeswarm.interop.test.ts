/**
 * swarmwire's p2pkeswarm (over udpswarm on 127.0.0.1) against go-p2p's p2pkeswarm (the Go
 * program in interop/go, pinned to go-p2p v0.0.0-20230318184050-1b4145c902cf): PeerIDs agree,
 * and tells flow in both directions, with either side initiating and with both at once.
 *
 * Needs the Go binary: `bash interop/run.sh` builds it and then runs this file
 * (`npx vitest run --config interop/vitest.config.ts`). Nothing here sleeps: every wait is for a
 * JSON line from Go or a message on the TypeScript side, with generous deadlines.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type Message, payloadConcat } from '../core/index.js'
import { ED25519_OID, type PrivateKey, marshalPublicKey, parsePublicKey } from '../f/x509/index.js'
import { testKey } from '../p2ptest/index.js'
import {
  type P2PKEAddr,
  type P2PKESwarm,
  fingerprintPublicKey,
  newP2PKESwarm,
} from '../s/p2pkeswarm/index.js'
import { type UDPAddr, UDPSwarm } from '../s/udpswarm/index.js'
import { type GoEvent, GoNode } from './gonode.js'

/** RFC 8032 TEST 1 and TEST 2 seeds (also in interop/run.sh and interop/vectors). */
const SEED_A = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const SEED_B = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'

const utf8 = new TextEncoder()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

type Addr = P2PKEAddr<UDPAddr>
type Swarm = P2PKESwarm<UDPAddr>

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function tsNode(keyIndex: number): Promise<{ swarm: Swarm; seed: Uint8Array }> {
  const seed = testKey(keyIndex).seed
  const privateKey: PrivateKey = { algorithm: ED25519_OID, data: seed }
  const swarm = newP2PKESwarm(await UDPSwarm.bind('127.0.0.1:0'), { privateKey })
  cleanups.push(() => swarm.close())
  return { swarm, seed }
}

async function goNode(mode: string, args: string[]): Promise<GoNode> {
  const node = await GoNode.start(mode, args)
  cleanups.push(async () => {
    if (node.child.exitCode === null) {
      node.child.stdin.end()
      const timer = setTimeout(() => node.kill(), 10_000)
      await node.exited
      clearTimeout(timer)
    }
  })
  return node
}

/** Collects every message the swarm receives until it closes; `until(n)` waits for n of them. */
function collect(swarm: Swarm): { got: Message<Addr>[]; until: (n: number) => Promise<void> } {
  const got: Message<Addr>[] = []
  const waiters = new Set<() => void>()
  void (async () => {
    for (;;) {
      try {
        await swarm.receive((m) => {
          got.push(m)
        })
      } catch {
        return
      }
      for (const w of [...waiters]) w()
    }
  })()
  const until = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`received ${got.length} of ${n} messages within 60 s`))
      }, 60_000)
      const check = () => {
        if (got.length < n) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
      check()
    })
  return { got, until }
}

function payloadsOf(events: GoEvent[]): string[] {
  return events.map((e) => text(fromHex(e.payload_hex as string)))
}

describe('p2pkeswarm ⇄ go-p2p p2pkeswarm', () => {
  it('PeerIDs: each side computes the same id for both keys', async () => {
    const { swarm, seed } = await tsNode(41)
    const go = await goNode('echo', ['-seed', SEED_A, '-listen', '127.0.0.1:0'])
    // Go's key, fingerprinted here, is Go's PeerID.
    const goKey = parsePublicKey(fromHex(go.ready.public_key_spki_hex))
    expect(fingerprintPublicKey(goKey).toString()).toBe(go.ready.peer_id)
    expect(swarm.parseAddr(go.ready.addr).toString()).toBe(go.ready.addr)
    // Our key, fingerprinted by go-p2p, is our PeerID.
    const info = await GoNode.start('keyinfo', ['-seed', hex(seed), '-watch-stdin=false'], 'key')
    const key = info.all('key')[0]!
    expect(await info.exited).toBe(0)
    expect(key.peer_id).toBe(swarm.peerID.toString())
    expect(key.public_key_spki_hex).toBe(hex(marshalPublicKey(swarm.publicKey())))
  })

  it('TS initiates: tells reach the Go echo node and its echoes come back authenticated', async () => {
    const { swarm } = await tsNode(42)
    const inbox = collect(swarm)
    const go = await goNode('echo', ['-seed', SEED_A, '-listen', '127.0.0.1:0'])
    const goAddr = swarm.parseAddr(go.ready.addr)
    const started = performance.now()
    // Sent at once: they wait for the handshake together and go out in order.
    const texts = Array.from({ length: 5 }, (_, i) => `ts-${i}`)
    await Promise.all(texts.map((t) => swarm.tell(goAddr, utf8.encode(t))))
    // One tell of the largest size our side allows (1212 bytes over a 1232-byte udpswarm mtu).
    const big = new Uint8Array(swarm.mtu(goAddr)).map((_, i) => i % 251)
    expect(big.length).toBe(1212)
    await swarm.tell(goAddr, big)
    await inbox.until(6)
    const handshakeAndEcho = performance.now() - started
    const echoed = inbox.got.filter((m) => m.payload.length < 100).map((m) => text(m.payload))
    expect(echoed.sort()).toEqual(texts.map((t) => `echo:${t}`).sort())
    const bigEcho = inbox.got.find((m) => m.payload.length > 100)!
    expect(hex(bigEcho.payload)).toBe(hex(payloadConcat([utf8.encode('echo:'), big])))
    for (const m of inbox.got) {
      expect(m.src.toString()).toBe(go.ready.addr)
      expect(m.src.peerID.toString()).toBe(go.ready.peer_id)
      const k = await swarm.lookupPublicKey(m.src)
      expect(hex(marshalPublicKey(k))).toBe(go.ready.public_key_spki_hex)
    }
    // Go saw our tells authenticated as our PeerID, from our address.
    await go.until((e) => e.filter((x) => x.event === 'recv').length >= 6, 'six recv lines')
    const recv = go.all('recv')
    for (const r of recv) {
      expect(r.src_peer_id).toBe(swarm.peerID.toString())
      expect(r.src).toBe(swarm.localAddrs()[0]!.toString())
    }
    expect(
      payloadsOf(recv)
        .filter((p) => p.length < 100)
        .sort(),
    ).toEqual(texts.sort())
    expect(await go.stop()).toBe(0)
    expect(go.events.at(-1)?.event).toBe('closed')
    const st = swarm.stats()
    console.log(
      `TS→Go: handshake + 6 tells + 6 echoes in ${handshakeAndEcho.toFixed(0)} ms; ` +
        `handshakes ${JSON.stringify(st.handshakes)}; dropped ${JSON.stringify(st.channelDropped)}`,
    )
    expect(st.handshakes.completed).toBeGreaterThanOrEqual(1)
  })

  it('Go initiates: tells from a Go send node reach the TS node', async () => {
    const { swarm } = await tsNode(43)
    const inbox = collect(swarm)
    const me = swarm.localAddrs()[0]!.toString()
    const go = await goNode('send', [
      '-seed',
      SEED_B,
      '-peer',
      me,
      '-count',
      '5',
      '-expect',
      '0',
      '-timeout',
      '60s',
      '-watch-stdin=false',
    ])
    await inbox.until(5)
    expect(await go.exited).toBe(0)
    const done = go.all('done')[0]!
    expect(done.ok).toBe(true)
    expect(inbox.got.map((m) => text(m.payload)).sort()).toEqual(
      Array.from({ length: 5 }, (_, i) => `hello-${i}`),
    )
    for (const m of inbox.got) {
      expect(m.src.peerID.toString()).toBe(go.ready.peer_id)
      expect(m.src.toString()).toBe(go.ready.addr)
      expect(hex(marshalPublicKey(await swarm.lookupPublicKey(m.src)))).toBe(
        go.ready.public_key_spki_hex,
      )
    }
    expect(swarm.stats().handshakes.responded).toBeGreaterThanOrEqual(1)
  })

  it('both initiate at once: a Go send node and the TS node tell each other', async () => {
    const { swarm } = await tsNode(44)
    const inbox = collect(swarm)
    const me = swarm.localAddrs()[0]!.toString()
    const go = await goNode('send', [
      '-seed',
      SEED_B,
      '-peer',
      me,
      '-count',
      '3',
      '-expect',
      '3',
      '-timeout',
      '60s',
      '-watch-stdin=false',
    ])
    // Go tells us as soon as it is up; we tell it back at once, without waiting for its InitHello.
    const goAddr = swarm.parseAddr(go.ready.addr)
    await Promise.all([0, 1, 2].map((i) => swarm.tell(goAddr, utf8.encode(`ts-${i}`))))
    await inbox.until(3)
    expect(await go.exited).toBe(0)
    expect(go.all('done')[0]!.ok).toBe(true)
    expect(payloadsOf(go.all('recv')).sort()).toEqual(['ts-0', 'ts-1', 'ts-2'])
    for (const r of go.all('recv')) expect(r.src_peer_id).toBe(swarm.peerID.toString())
    expect(inbox.got.map((m) => text(m.payload)).sort()).toEqual(['hello-0', 'hello-1', 'hello-2'])
    for (const m of inbox.got) expect(m.src.peerID.toString()).toBe(go.ready.peer_id)
  })

  it('traffic across go-p2p re-handshakes: 20 s of ping-pong with the Go echo node', async () => {
    const { swarm } = await tsNode(45)
    const inbox = collect(swarm)
    const go = await goNode('echo', ['-seed', SEED_A, '-listen', '127.0.0.1:0'])
    const goAddr = swarm.parseAddr(go.ready.addr)
    // go-p2p drops its current session 15 s after it became ready and handshakes again (its
    // lastReceived bug); each ping waits for its echo, so the exchange runs straight through.
    const until = performance.now() + 20_000
    let i = 0
    let slowest = 0
    while (performance.now() < until) {
      const t0 = performance.now()
      await swarm.tell(goAddr, utf8.encode(`ping-${i}`))
      await inbox.until(i + 1)
      slowest = Math.max(slowest, performance.now() - t0)
      i++
    }
    expect(inbox.got.map((m) => text(m.payload))).toEqual(
      Array.from({ length: i }, (_, k) => `echo:ping-${k}`),
    )
    const st = swarm.stats()
    console.log(
      `20 s ping-pong: ${i} round trips, slowest ${slowest.toFixed(0)} ms; ` +
        `handshakes ${JSON.stringify(st.handshakes)}; channel drops ${JSON.stringify(st.channelDropped)}`,
    )
    expect(st.handshakes.completed).toBeGreaterThanOrEqual(2)
    expect(await go.stop()).toBe(0)
  })
})
