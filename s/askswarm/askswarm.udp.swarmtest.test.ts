/**
 * swarmtest over real UDP sockets on loopback: directly, and through the p2ptest UDPRelay with
 * loss, duplication and reordering (every swarm reaches every other through its proxy).
 */
import { describe, it } from 'vitest'
import type { CallOptions, Message, Payload, Swarm } from '../../core/index.js'
import { UDPRelay } from '../../p2ptest/index.js'
import { runSwarmTests } from '../../swarmtest/index.js'
import { type UDPAddr, UDPSwarm } from '../udpswarm/index.js'
import { AskSwarm } from './index.js'

const maxAskSize = (s: AskSwarm<UDPAddr>) => s.maxAskSize

runSwarmTests({ describe, it }, 'askswarm over udpswarm (IPv4 loopback)', {
  make: (n) =>
    Promise.all(
      Array.from({ length: n }, async () => new AskSwarm(await UDPSwarm.bind('127.0.0.1:0'))),
    ),
  asks: true,
  maxAskSize,
})

/**
 * A UDPSwarm seen through a relay: it names itself by its proxy address, which is where every
 * other swarm linked with it sends, and where its own datagrams appear to come from.
 */
class ViaRelay implements Swarm<UDPAddr> {
  readonly #inner: UDPSwarm
  readonly #self: UDPAddr
  constructor(inner: UDPSwarm, self: UDPAddr) {
    this.#inner = inner
    this.#self = self
  }
  tell(dst: UDPAddr, data: Payload, opts?: CallOptions): Promise<void> {
    return this.#inner.tell(dst, data, opts)
  }
  receive(fn: (msg: Message<UDPAddr>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    return this.#inner.receive((m) => fn({ ...m, dst: this.#self }), opts)
  }
  localAddrs(): UDPAddr[] {
    return [this.#self]
  }
  mtu(dst: UDPAddr): number {
    return this.#inner.mtu(dst)
  }
  maxIncomingSize(): number {
    return this.#inner.maxIncomingSize()
  }
  parseAddr(text: string): UDPAddr {
    return this.#inner.parseAddr(text)
  }
  close(): Promise<void> {
    return this.#inner.close()
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

const relays: UDPRelay[] = []

runSwarmTests(
  { describe, it },
  'askswarm over udpswarm through a lossy, duplicating, reordering relay',
  {
    make: async (n) => {
      const relay = await UDPRelay.start({
        seed: 5,
        loss: 0.15,
        duplicate: 0.05,
        reorder: 0.05,
        jitterMs: 1,
      })
      relays.push(relay)
      const socks = await Promise.all(Array.from({ length: n }, () => UDPSwarm.bind('127.0.0.1:0')))
      const ends = socks.map((s) => s.localAddrs()[0]!)
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) await relay.link(ends[i]!, ends[j]!)
      return socks.map((s, i) => {
        // A lone swarm has no link, hence no proxy: it names itself.
        const proxy = relay.proxyOf(ends[i]!) ?? ends[i]!
        return new AskSwarm(new ViaRelay(s, ends[i]!.withIPPort(proxy.ip, proxy.port)), {
          maxAskSize: 256 << 10,
          initialRtoMs: 200,
          // Asks without a signal get 25 s: at 15% loss each way, 10 s is near the tail.
          defaultTimeoutMs: 25_000,
        })
      })
    },
    cleanup: async () => {
      await Promise.all(relays.splice(0).map((r) => r.close()))
    },
    asks: true,
    mayDrop: true,
    mayDuplicate: true,
    mayReorder: true,
    minDeliveryRatio: 0.6,
    maxAskSize,
  },
)
