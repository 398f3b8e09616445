// Running swarmtest on your own swarm: one call, under vitest here (node:test or mocha work the
// same way: pass their describe and it).
import { Realm } from 'swarmwire/s/memswarm'
import { runSwarmTests } from 'swarmwire/swarmtest'
import { describe, it } from 'vitest'
import { CountingSwarm } from './counting-swarm.js'

runSwarmTests({ describe, it }, 'CountingSwarm over memswarm', {
  // n fresh swarms that can reach each other; the suite closes them after each test.
  make: async (n) => {
    const realm = new Realm()
    return Array.from({ length: n }, () => new CountingSwarm(realm.newSwarm()))
  },
})
