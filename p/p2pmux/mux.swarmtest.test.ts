import { describe, it } from 'vitest'
import type { Addr, Swarm } from '../../core/index.js'
import { newAskSwarm } from '../../s/askswarm/index.js'
import { Realm } from '../../s/memswarm/index.js'
import { UDPSwarm } from '../../s/udpswarm/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
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

/** The largest ask of the askswarm under the channels below (kept small: the suite sends it). */
const ASK_MAX = 20_000
const stringKind = kinds[0]!
/** A channel's asks carry the inner ask limit minus its header, both ways. */
const channelAskMax = ASK_MAX - stringKind.codec.encode(stringKind.tested).length

async function askSwarmsOverUDP(n: number) {
  const udps = await Promise.all(Array.from({ length: n }, () => UDPSwarm.bind('127.0.0.1:0')))
  return udps.map((u) => newAskSwarm(u, { maxAskSize: ASK_MAX }))
}

// Asks over askswarm carry far more than a tell (the udpswarm mtu): the suite's largest ask is
// the askswarm's limit minus the channel header.
runSwarmTests({ describe, it }, 'p2pmux string channel over askswarm over udpswarm', {
  make: async (n) => (await askSwarmsOverUDP(n)).map((s) => channelOf(s, stringKind)),
  asks: true,
  maxAskSize: () => channelAskMax,
})

/**
 * Each swarm under test is one channel of its own mux, used as it is: closing it closes only
 * the channel (its pending calls, asks included, reject with ERR_CLOSED; the mux and the
 * neighbour channel stay open). `cleanup` then closes the muxes, so the handle check still
 * sees every socket released.
 */
function ownClose(makeInner: (n: number) => Promise<Swarm<Addr>[]>) {
  const muxes: Mux<Swarm<Addr>, unknown>[] = []
  return {
    make: async (n: number) =>
      (await makeInner(n)).map((inner) => {
        const mux = newMux(inner, stringKind.codec)
        muxes.push(mux)
        mux.open(stringKind.neighbour)
        return mux.open(stringKind.tested)
      }),
    cleanup: async () => {
      await Promise.all(muxes.splice(0).map((m) => m.close()))
    },
  }
}

runSwarmTests({ describe, it }, 'p2pmux string channel over memswarm, closing only the channel', {
  ...ownClose(async (n) => {
    const realm = new Realm()
    return Array.from({ length: n }, () => realm.newSwarm())
  }),
  asks: true,
})

runSwarmTests(
  { describe, it },
  'p2pmux string channel over askswarm over udpswarm, closing only the channel',
  {
    ...ownClose(askSwarmsOverUDP),
    asks: true,
    maxAskSize: () => channelAskMax,
  },
)
