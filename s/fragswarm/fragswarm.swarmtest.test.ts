import { describe, it } from 'vitest'
import { type UDPRelay, relayedUDPSwarms } from '../../p2ptest/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import { Realm, type RealmOptions } from '../memswarm/index.js'
import { UDPSwarm } from '../udpswarm/index.js'
import { FragSwarm, type FragSwarmOptions } from './index.js'

function fragOverMem(realm: RealmOptions, frag: FragSwarmOptions = {}) {
  return async (n: number) => {
    const r = new Realm(realm)
    return Array.from({ length: n }, () => new FragSwarm(r.newSwarm(), frag))
  }
}

// A 512-byte inner mtu: a 64 KiB message travels as 131 parts.
runSwarmTests({ describe, it }, 'fragswarm over memswarm', {
  make: fragOverMem({ mtu: 512 }, { mtu: 65536 }),
})

runSwarmTests({ describe, it }, 'fragswarm over memswarm, duplication and reordering', {
  make: fragOverMem({ mtu: 512, duplicate: 0.2, reorder: 0.2, seed: 11 }, { mtu: 16384 }),
  // Multi-part messages are delivered once; a single-part message as often as memswarm
  // duplicates it.
  mayDuplicate: true,
  mayReorder: true,
})

// Losing one part loses the message: at 10% loss a 4-part message arrives 66% of the time, so
// the mtu stays small enough for the suite's retries; single-part tells arrive 90% of the time.
runSwarmTests({ describe, it }, 'fragswarm over memswarm, 10% loss', {
  make: fragOverMem({ mtu: 512, loss: 0.1, seed: 7 }, { mtu: 2012 }),
  mayDrop: true,
})

runSwarmTests(
  { describe, it },
  'fragswarm over memswarm, latency with jitter, loss, duplication, reordering',
  {
    make: fragOverMem(
      { mtu: 512, latencyMs: 1, jitterMs: 3, loss: 0.05, duplicate: 0.1, reorder: 0.1, seed: 3 },
      { mtu: 2012 },
    ),
    mayDrop: true,
    mayDuplicate: true,
    mayReorder: true,
  },
)

// Over real loopback sockets: udpswarm's 1232-byte mtu carries 1223 bytes per part, so a
// 64 KiB message is 54 datagrams sent back to back (~70 KB, well inside a default socket
// receive buffer). Loopback does not drop, duplicate or reorder at these volumes: strict suite.
runSwarmTests({ describe, it }, 'fragswarm over udpswarm (IPv4 loopback)', {
  make: async (n) => {
    const udps = await Promise.all(Array.from({ length: n }, () => UDPSwarm.bind('127.0.0.1:0')))
    return udps.map((u) => new FragSwarm(u, { mtu: 65536 }))
  },
})

// Real sockets through the p2ptest impairment relay: seeded loss, duplication, reordering and
// jitter on loopback (this kernel has no netem). A message is lost when any part is, so the
// mtu stays at a few parts, as in the lossy memswarm run.
const relays: UDPRelay[] = []
runSwarmTests(
  { describe, it },
  'fragswarm over udpswarm through a lossy, duplicating, reordering relay',
  {
    make: async (n) => {
      const { swarms, relay } = await relayedUDPSwarms(n, {
        seed: 9,
        loss: 0.05,
        duplicate: 0.05,
        reorder: 0.05,
        jitterMs: 1,
      })
      relays.push(relay)
      return swarms.map((s) => new FragSwarm(s, { mtu: 4096 }))
    },
    cleanup: async () => {
      await Promise.all(relays.splice(0).map((r) => r.close()))
    },
    mayDrop: true,
    mayDuplicate: true,
    mayReorder: true,
  },
)
