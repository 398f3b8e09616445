/**
 * swarmtest over real UDP sockets on loopback: directly, and through the p2ptest UDPRelay with
 * loss, duplication and reordering (every swarm reaches every other through its proxy).
 */
import { describe, it } from 'vitest'
import { type UDPRelay, relayedUDPSwarms } from '../../p2ptest/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import { type UDPAddr, UDPSwarm } from '../udpswarm/index.js'
import { AskSwarm } from './index.js'

/**
 * Deadlines nest, each comfortably above the one inside it, so a failure is reported by the
 * assertion that failed: asks here have deadlines of at most 25 s, swarmtest gives each test
 * 60 s, and vitest (30 s by default) waits 90 s for swarmtest.
 */
const SWARMTEST_TIMEOUT_MS = 60_000
const runner = {
  describe,
  it: (name: string, fn: () => Promise<void>) => it(name, fn, 90_000),
}

const maxAskSize = (s: AskSwarm<UDPAddr>) => s.maxAskSize

runSwarmTests(runner, 'askswarm over udpswarm (IPv4 loopback)', {
  make: (n) =>
    Promise.all(
      Array.from({ length: n }, async () => new AskSwarm(await UDPSwarm.bind('127.0.0.1:0'))),
    ),
  asks: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
  maxAskSize,
})

const relays: UDPRelay[] = []

runSwarmTests(runner, 'askswarm over udpswarm through a lossy, duplicating, reordering relay', {
  make: async (n) => {
    const { swarms, relay } = await relayedUDPSwarms(n, {
      seed: 5,
      loss: 0.15,
      duplicate: 0.05,
      reorder: 0.05,
      jitterMs: 1,
    })
    relays.push(relay)
    return swarms.map(
      (s) =>
        new AskSwarm(s, {
          maxAskSize: 256 << 10,
          initialRtoMs: 200,
          // Asks without a signal get 25 s: at 15% loss each way, 10 s is near the tail.
          defaultTimeoutMs: 25_000,
        }),
    )
  },
  cleanup: async () => {
    await Promise.all(relays.splice(0).map((r) => r.close()))
  },
  asks: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
  mayDrop: true,
  mayDuplicate: true,
  mayReorder: true,
  minDeliveryRatio: 0.6,
  maxAskSize,
})
