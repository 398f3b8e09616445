import { waitUntil } from '../../p2ptest/index.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../../core/index.js'
import { UDPRelay } from '../../p2ptest/udprelay.js'
import type { UDPAddr } from './addr.js'
import { UDPSwarm } from './udpswarm.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((f) => f()))
})

async function swarm(): Promise<UDPSwarm> {
  const s = await UDPSwarm.bind('127.0.0.1:0')
  cleanups.push(() => s.close())
  return s
}

function recv(s: UDPSwarm): Promise<Message<UDPAddr>> {
  let got: Message<UDPAddr> | undefined
  return s
    .receive((m) => {
      got = m
    })
    .then(() => got!)
}

/** Polls a condition (no fixed sleeps): resolves once it holds, fails after a long deadline. */

describe('two UDPSwarms through a UDPRelay', () => {
  it('talk through proxy addresses, and replies to msg.src go back through the relay', async () => {
    const relay = await UDPRelay.start({ seed: 1 })
    cleanups.push(() => relay.close())
    const a = await swarm()
    const b = await swarm()
    const { proxyA, proxyB } = await relay.link(a.localAddrs()[0]!, b.localAddrs()[0]!)
    const bViaRelay = a.localAddrs()[0]!.withIPPort(proxyB.ip, proxyB.port)

    const atB = recv(b)
    await a.tell(bViaRelay, [Uint8Array.of(1), Uint8Array.of(2)])
    const m = await atB
    expect(m.payload).toEqual(Uint8Array.of(1, 2))
    expect(String(m.src)).toBe(`${proxyA.ip}:${proxyA.port}`)
    expect(String(m.dst)).toBe(String(b.localAddrs()[0]))

    const atA = recv(a)
    await b.tell(m.src, Uint8Array.of(3))
    const reply = await atA
    expect(reply.payload).toEqual(Uint8Array.of(3))
    expect(String(reply.src)).toBe(String(bViaRelay))
    expect(relay.stats()).toMatchObject({ forwarded: 2, unknownSource: 0 })
  })

  it('deliver exactly what the relay forwards under loss and duplication', async () => {
    const relay = await UDPRelay.start({ seed: 9, loss: 0.3, duplicate: 0.2 })
    cleanups.push(() => relay.close())
    const a = await swarm()
    const b = await swarm()
    const { proxyB } = await relay.link(a.localAddrs()[0]!, b.localAddrs()[0]!)
    const dst = a.parseAddr(`${proxyB.ip}:${proxyB.port}`)
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => a.tell(dst, Uint8Array.of(i + j))))
      await waitUntil(() => relay.stats().received >= i + 20, `relay to receive ${i + 20}`)
    }
    await waitUntil(
      () => b.stats().received === relay.stats().forwarded,
      'forwarded datagrams at b',
    )
    const s = relay.stats()
    expect(s.dropped).toBeGreaterThan(0)
    expect(s.duplicated).toBeGreaterThan(0)
    expect(b.stats().received).toBe(200 - s.dropped + s.duplicated)
  })
})
