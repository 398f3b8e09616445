import { describe, it } from 'vitest'
import { runSwarmTests } from '../../swarmtest/index.js'
import { Realm, type RealmOptions } from './index.js'

function realmOf(opts: RealmOptions) {
  return async (n: number) => {
    const realm = new Realm(opts)
    return Array.from({ length: n }, () => realm.newSwarm())
  }
}

runSwarmTests({ describe, it }, 'memswarm', { make: realmOf({}), asks: true })

runSwarmTests({ describe, it }, 'memswarm, secure', {
  make: async (n) => {
    const realm = new Realm()
    return Array.from({ length: n }, (_, i) => realm.newSecureSwarm(new Uint8Array(32).fill(i)))
  },
  asks: true,
  secure: {},
})

runSwarmTests({ describe, it }, 'memswarm, 20% loss', {
  make: realmOf({ loss: 0.2, seed: 7 }),
  asks: true,
  mayDrop: true,
  minDeliveryRatio: 0.6,
})

runSwarmTests({ describe, it }, 'memswarm, duplication and reordering', {
  make: realmOf({ duplicate: 0.2, reorder: 0.2, seed: 11 }),
  asks: true,
  mayDuplicate: true,
  mayReorder: true,
})

runSwarmTests({ describe, it }, 'memswarm, latency with jitter, loss, duplication, reordering', {
  make: realmOf({ latencyMs: 1, jitterMs: 3, loss: 0.1, duplicate: 0.1, reorder: 0.1, seed: 3 }),
  asks: true,
  mayDrop: true,
  mayDuplicate: true,
  mayReorder: true,
})
