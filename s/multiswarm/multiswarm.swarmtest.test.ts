import { describe, it } from 'vitest'
import type { Addr, Swarm } from '../../core/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import { Realm } from '../memswarm/index.js'
import { UDPSwarm } from '../udpswarm/index.js'
import { newMultiSwarm } from './index.js'

/**
 * Node i lists its children in an order that alternates with i, so the suite (which tells to
 * a node's first local address) exercises every child, and replies cross back over the child
 * the message came in on.
 */
function alternate<C extends Record<string, Swarm<Addr>>>(i: number, children: C): C {
  const entries = Object.entries(children)
  return Object.fromEntries(i % 2 === 0 ? entries : entries.reverse()) as C
}

runSwarmTests({ describe, it }, 'multiswarm over two memswarm realms', {
  make: async (n) => {
    const ra = new Realm()
    const rb = new Realm({ mtu: 1200 })
    return Array.from({ length: n }, (_, i) =>
      newMultiSwarm(alternate(i, { a: ra.newSwarm(), b: rb.newSwarm() })),
    )
  },
  asks: true,
})

runSwarmTests({ describe, it }, 'multiswarm over two secure memswarm realms', {
  make: async (n) => {
    const ra = new Realm()
    const rb = new Realm()
    return Array.from({ length: n }, (_, i) => {
      const key = new Uint8Array(32).fill(i + 1)
      return newMultiSwarm(alternate(i, { a: ra.newSecureSwarm(key), b: rb.newSecureSwarm(key) }))
    })
  },
  asks: true,
  secure: {},
})

runSwarmTests({ describe, it }, 'multiswarm over memswarm with faults', {
  make: async (n) => {
    const ra = new Realm({ duplicate: 0.1, reorder: 0.1, loss: 0.05, seed: 5 })
    const rb = new Realm()
    return Array.from({ length: n }, (_, i) =>
      newMultiSwarm(alternate(i, { a: ra.newSwarm(), b: rb.newSwarm() })),
    )
  },
  asks: true,
  mayDrop: true,
  mayDuplicate: true,
  mayReorder: true,
})

// udpswarm does not ask, so neither does the multiswarm.
runSwarmTests({ describe, it }, 'multiswarm over udpswarm and memswarm', {
  make: async (n) => {
    const realm = new Realm()
    const udps = await Promise.all(Array.from({ length: n }, () => UDPSwarm.bind('127.0.0.1:0')))
    return udps.map((udp, i) => newMultiSwarm(alternate(i, { udp, mem: realm.newSwarm() })))
  },
})
