/**
 * swarmtest over memswarm: without faults, with keys (Secure passes through), and with 20%
 * loss plus duplication and reordering, where asks must still all succeed.
 */
import { describe, it } from 'vitest'
import type { MemAddr } from '../memswarm/index.js'
import { Realm, type RealmOptions } from '../memswarm/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import { AskSwarm, type AskSwarmOptions, newAskSwarm } from './index.js'

function over(realmOpts: RealmOptions, opts: AskSwarmOptions = {}) {
  return async (n: number) => {
    const realm = new Realm(realmOpts)
    return Array.from({ length: n }, () => new AskSwarm(realm.newSwarm(), opts))
  }
}

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

const maxAskSize = (s: AskSwarm<MemAddr>) => s.maxAskSize

runSwarmTests(runner, 'askswarm over memswarm', {
  make: over({ mtu: 1500 }),
  asks: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
  maxAskSize,
})

runSwarmTests(runner, 'askswarm over a secure memswarm', {
  make: async (n) => {
    const realm = new Realm({ mtu: 1500 })
    return Array.from({ length: n }, (_, i) =>
      newAskSwarm(realm.newSecureSwarm(new Uint8Array(32).fill(i))),
    )
  },
  asks: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
  secure: {},
  maxAskSize,
})

runSwarmTests(runner, 'askswarm over memswarm, 20% loss, duplication, reordering', {
  make: over(
    { mtu: 1500, loss: 0.2, duplicate: 0.1, reorder: 0.1, seed: 21 },
    // Asks without a signal get 25 s instead of 10: see the 1000-ask test on deadlines and loss.
    { maxAskSize: 256 << 10, initialRtoMs: 200, defaultTimeoutMs: 25_000 },
  ),
  asks: true,
  timeoutMs: SWARMTEST_TIMEOUT_MS,
  mayDrop: true,
  mayDuplicate: true,
  mayReorder: true,
  minDeliveryRatio: 0.6,
  maxAskSize,
})
