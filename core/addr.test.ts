import { describe, expect, it } from 'vitest'
import {
  type UDPAddrLike,
  type WrappingAddr,
  addrEqual,
  extractIP,
  extractPeerID,
  extractUDP,
  mapIP,
  mapPeerID,
  mapUDP,
  unwrapAll,
} from './addr.js'
import { PeerID } from './peer.js'
import type { Addr } from './swarm.js'

class FakeUDP implements UDPAddrLike {
  readonly transport = 'udp' as const
  constructor(
    readonly ip: string,
    readonly port: number,
  ) {}
  withIP(ip: string): this {
    return new FakeUDP(ip, this.port) as this
  }
  withIPPort(ip: string, port: number): this {
    return new FakeUDP(ip, port) as this
  }
  toString(): string {
    return `${this.ip}:${this.port}`
  }
}

class FakeSecure implements WrappingAddr {
  constructor(
    readonly peerID: PeerID,
    readonly inner: Addr,
  ) {}
  unwrap(): Addr {
    return this.inner
  }
  map(fn: (inner: Addr) => Addr): this {
    return new FakeSecure(this.peerID, fn(this.inner)) as this
  }
  withPeerID(id: PeerID): FakeSecure {
    return new FakeSecure(id, this.inner)
  }
  toString(): string {
    return `${this.peerID}@${this.inner}`
  }
}

class FakeScheme implements WrappingAddr {
  constructor(
    readonly scheme: string,
    readonly inner: Addr,
  ) {}
  unwrap(): Addr {
    return this.inner
  }
  map(fn: (inner: Addr) => Addr): this {
    return new FakeScheme(this.scheme, fn(this.inner)) as this
  }
  toString(): string {
    return `${this.scheme}://${this.inner}`
  }
}

const id = new PeerID(new Uint8Array(32).fill(1))
const stack = new FakeScheme('secure', new FakeSecure(id, new FakeUDP('10.0.0.1', 4000)))

describe('address introspection', () => {
  it('extracts through every layer', () => {
    expect(extractPeerID(stack)?.equals(id)).toBe(true)
    expect(extractIP(stack)).toBe('10.0.0.1')
    expect(extractUDP(stack)).toEqual({ ip: '10.0.0.1', port: 4000 })
    expect(unwrapAll(stack).toString()).toBe('10.0.0.1:4000')
  })

  it('maps rebuild the whole stack', () => {
    const a = mapIP(stack, () => '10.9.9.9')
    expect(a.toString()).toBe(`secure://${id}@10.9.9.9:4000`)
    const b = mapUDP(stack, ({ ip, port }) => ({ ip, port: port + 1 }))
    expect(b.toString()).toBe(`secure://${id}@10.0.0.1:4001`)
    const other = new PeerID(new Uint8Array(32).fill(2))
    const c = mapPeerID(stack, () => other)
    expect(extractPeerID(c)?.equals(other)).toBe(true)
    expect(stack.toString()).toBe(`secure://${id}@10.0.0.1:4000`)
  })

  it('returns undefined or the same address when a layer is absent', () => {
    const plain: Addr = { toString: () => 'x' }
    expect(extractPeerID(plain)).toBeUndefined()
    expect(extractIP(plain)).toBeUndefined()
    expect(extractUDP(plain)).toBeUndefined()
    expect(mapIP(plain, () => '1.1.1.1')).toBe(plain)
  })

  it('a bare PeerID is its own PeerID', () => {
    expect(extractPeerID(id)).toBe(id)
    expect(addrEqual(id, PeerID.parse(id.toString()))).toBe(true)
  })
})
