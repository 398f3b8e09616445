import { describe, it } from 'vitest'
import type { Addr, Swarm } from '../../core/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import { Realm } from '../../s/memswarm/index.js'
import { UDPSwarm } from '../../s/udpswarm/index.js'
import {
  type ChannelCodec,
  type Mux,
  newMux,
  stringCodec,
  uint16Codec,
  uint32Codec,
  uint64Codec,
  varintCodec,
} from './index.js'

/**
 * The channel under test, owning its mux: closing it closes the mux and the inner swarm (a
 * channel alone never closes the inner swarm), so the suite's handle checks see everything
 * released. Every other method is the channel's own.
 */
function owning<S extends Swarm<Addr>, Id, C extends object>(mux: Mux<S, Id>, ch: C): C {
  return new Proxy(ch, {
    get(target, prop) {
      if (prop === 'close' || prop === Symbol.asyncDispose) return () => mux.close()
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

interface Kind<Id> {
  codec: ChannelCodec<Id>
  tested: Id
  neighbour: Id
}

const kinds = [
  { codec: stringCodec, tested: 'swarmtest', neighbour: 'noise' },
  { codec: uint16Codec, tested: 0xabcd, neighbour: 1 },
  { codec: uint32Codec, tested: 0xabcdef01, neighbour: 1 },
  { codec: uint64Codec, tested: (1n << 63n) + 5n, neighbour: 1n },
  { codec: varintCodec, tested: 1_000_000, neighbour: 1 },
] as Kind<unknown>[]

/** Opens a neighbour channel beside the tested one, so demultiplexing is really exercised. */
function channelOf<S extends Swarm<Addr>>(inner: S, k: Kind<unknown>) {
  const mux = newMux(inner, k.codec)
  mux.open(k.neighbour)
  return owning(mux, mux.open(k.tested))
}

for (const k of kinds) {
  runSwarmTests({ describe, it }, `p2pmux ${k.codec.kind} channel over memswarm`, {
    make: async (n) => {
      const realm = new Realm()
      return Array.from({ length: n }, () => channelOf(realm.newSwarm(), k))
    },
    asks: true,
  })

  runSwarmTests({ describe, it }, `p2pmux ${k.codec.kind} channel over udpswarm`, {
    make: async (n) => {
      const udps = await Promise.all(Array.from({ length: n }, () => UDPSwarm.bind('127.0.0.1:0')))
      return udps.map((u) => channelOf(u, k))
    },
  })
}

runSwarmTests({ describe, it }, 'p2pmux string channel over secure memswarm', {
  make: async (n) => {
    const realm = new Realm({ duplicate: 0.1, reorder: 0.1, seed: 9 })
    return Array.from({ length: n }, (_, i) =>
      channelOf(realm.newSecureSwarm(new Uint8Array(32).fill(i + 1)), kinds[0]!),
    )
  },
  asks: true,
  secure: {},
  mayDuplicate: true,
  mayReorder: true,
})
