import { describe, expect, it } from 'vitest'
import { extractPeerID, serveAsks } from '../core/index.js'
import { type PublicKey, publicKeyEqual } from '../f/x509/index.js'
import { Realm } from '../s/memswarm/index.js'
import { fingerprintPublicKey } from '../s/p2pkeswarm/index.js'
import { runSwarmTests } from '../swarmtest/index.js'
import { secureMemMuxStack, secureMemStack, secureUDPMuxStack, secureUDPStack } from './index.js'

const secure = {
  fingerprint: (pub: unknown) => fingerprintPublicKey(pub as PublicKey),
  keyEquals: (a: unknown, b: unknown) => publicKeyEqual(a as PublicKey, b as PublicKey),
}
// Handshakes and retransmissions take round trips: a minute per test, with room for vitest.
const runner = { describe, it: (name: string, fn: () => Promise<void>) => it(name, fn, 90_000) }

runSwarmTests(runner, 'secure UDP stack: udp → p2pke → ask (loopback)', {
  make: (n) => Promise.all(Array.from({ length: n }, () => secureUDPStack('127.0.0.1:0'))),
  asks: true,
  secure,
  maxAskSize: (s) => (s as unknown as { maxAskSize: number }).maxAskSize,
  timeoutMs: 60_000,
})

runSwarmTests(runner, 'secure mem stack: mem → p2pke → ask, 20% loss, duplication, reordering', {
  make: async (n) => {
    const realm = new Realm({ loss: 0.2, duplicate: 0.1, reorder: 0.1, seed: 31 })
    // Asks without a signal get 25 s: at 20% loss each way handshakes and asks retransmit.
    return Array.from({ length: n }, () =>
      secureMemStack(realm, { ask: { defaultTimeoutMs: 25_000 } }),
    )
  },
  asks: true,
  secure,
  mayDrop: true,
  mayDuplicate: true,
  mayReorder: true,
  minDeliveryRatio: 0.6,
  maxAskSize: (s) => (s as unknown as { maxAskSize: number }).maxAskSize,
  timeoutMs: 60_000,
})

describe('mux stacks', () => {
  it('channels of a secure UDP mux stack ask each other, authenticated', async () => {
    const [a, b] = await Promise.all([
      secureUDPMuxStack('127.0.0.1:0'),
      secureUDPMuxStack('127.0.0.1:0'),
    ])
    try {
      const [chatA, chatB] = [a.open('chat'), b.open('chat')]
      const serving = serveAsks(chatB, async (req) => {
        const key = await chatB.lookupPublicKey(req.src)
        expect(fingerprintPublicKey(key).equals(extractPeerID(req.src)!)).toBe(true)
        return req.payload
      })
      const res = await chatA.ask(chatB.localAddrs()[0]!, new TextEncoder().encode('hello'))
      expect(new TextDecoder().decode(res)).toBe('hello')
      await b.close()
      await serving
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('a mem mux stack keeps channels apart', async () => {
    const realm = new Realm()
    const [a, b] = [secureMemMuxStack(realm), secureMemMuxStack(realm)]
    const [x, y] = [b.open('x'), b.open('y')]
    await a.open('y').tell(y.localAddrs()[0]!, new TextEncoder().encode('for y'))
    await y.receive((m) => expect(new TextDecoder().decode(m.payload)).toBe('for y'))
    expect(x.stats()).toMatchObject({ inbox: { accepted: 0 } })
    await Promise.all([a.close(), b.close()])
  })
})
