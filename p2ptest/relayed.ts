/**
 * UDP swarms that reach each other only through a `UDPRelay`, so tests of any layer over
 * udpswarm can run on real sockets with seeded loss, duplication, delay and reordering.
 */
import type { CallOptions, Message, Payload, Swarm } from '../core/index.js'
import { type UDPAddr, UDPSwarm, type UDPSwarmOptions } from '../s/udpswarm/index.js'
import { UDPRelay, type UDPRelayOptions } from './udprelay.js'

/**
 * A UDPSwarm seen through a relay: it names itself by its proxy address, which is where every
 * other swarm linked with it sends, and where its own datagrams appear to come from.
 */
export class ViaRelay implements Swarm<UDPAddr> {
  readonly #inner: UDPSwarm
  readonly #self: UDPAddr

  constructor(inner: UDPSwarm, self: UDPAddr) {
    this.#inner = inner
    this.#self = self
  }

  /** The socket underneath. */
  get socket(): UDPSwarm {
    return this.#inner
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

/** `n` swarms on 127.0.0.1, every pair linked through `relay`. */
export interface RelayedSwarms {
  swarms: ViaRelay[]
  relay: UDPRelay
}

/**
 * Binds `n` udpswarms on 127.0.0.1 and a relay with `impairments` linking every pair. Close the
 * swarms and then `relay.close()`.
 */
export async function relayedUDPSwarms(
  n: number,
  impairments: UDPRelayOptions,
  opts?: UDPSwarmOptions,
): Promise<RelayedSwarms> {
  const relay = await UDPRelay.start(impairments)
  const socks = await Promise.all(
    Array.from({ length: n }, () => UDPSwarm.bind('127.0.0.1:0', opts)),
  )
  const ends = socks.map((s) => s.localAddrs()[0]!)
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) await relay.link(ends[i]!, ends[j]!)
  const swarms = socks.map((s, i) => {
    // A lone swarm has no link, hence no proxy: it names itself.
    const proxy = relay.proxyOf(ends[i]!) ?? ends[i]!
    return new ViaRelay(s, ends[i]!.withIPPort(proxy.ip, proxy.port))
  })
  return { swarms, relay }
}
