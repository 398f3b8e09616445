/**
 * Address introspection through any stack of wrapping swarms.
 *
 * A wrapping swarm's address (`<PeerID>@<inner>`, `scheme://inner`, ...) implements
 * `WrappingAddr`: `unwrap()` returns the inner address and `map(fn)` rebuilds the same wrapper
 * around `fn(inner)`. Addresses that carry a peer identity implement `HasPeerID`; addresses
 * that are an IP endpoint implement `IPAddrLike` (and UDP ones `UDPAddrLike`).
 */
import { PeerID } from './peer.js'
import type { Addr } from './swarm.js'

/** An address that wraps another swarm's address. */
export interface WrappingAddr<Inner extends Addr = Addr> extends Addr {
  /** The inner swarm's address. */
  unwrap(): Inner
  /** The same wrapper around `fn(inner)`. */
  map(fn: (inner: Inner) => Inner): this
}

/** An address that names a peer identity. */
export interface HasPeerID extends Addr {
  readonly peerID: PeerID
}

/** An address that is an IP endpoint. `ip` is canonical text (IPv4 dotted, IPv6 compressed). */
export interface IPAddrLike extends Addr {
  readonly ip: string
  /** The same kind of address with another IP. */
  withIP(ip: string): this
}

/** A UDP endpoint address. */
export interface UDPAddrLike extends IPAddrLike {
  readonly port: number
  readonly transport: 'udp'
  /** The same kind of address with another IP and port. */
  withIPPort(ip: string, port: number): this
}

/** True when both addresses have the same canonical text. */
export function addrEqual(a: Addr, b: Addr): boolean {
  return a === b || a.toString() === b.toString()
}

/** True when `a` wraps another address. */
export function isWrappingAddr(a: Addr): a is WrappingAddr {
  const w = a as Partial<WrappingAddr>
  return typeof w.unwrap === 'function' && typeof w.map === 'function'
}

/** The innermost address, unwrapping every layer. */
export function unwrapAll(a: Addr): Addr {
  let cur = a
  while (isWrappingAddr(cur)) cur = cur.unwrap()
  return cur
}

/** The first layer (outermost first) for which `pick` returns a value. */
export function findInAddr<T>(a: Addr, pick: (layer: Addr) => T | undefined): T | undefined {
  let cur: Addr = a
  for (;;) {
    const found = pick(cur)
    if (found !== undefined) return found
    if (!isWrappingAddr(cur)) return undefined
    cur = cur.unwrap()
  }
}

/** Rewrites the first layer (outermost first) that `fn` changes; the wrappers are rebuilt. */
export function mapAddr<A extends Addr>(a: A, fn: (layer: Addr) => Addr | undefined): A {
  const replaced = fn(a)
  if (replaced !== undefined) return replaced as A
  if (!isWrappingAddr(a)) return a
  return a.map((inner) => mapAddr(inner, fn)) as unknown as A
}

function peerIDOf(layer: Addr): PeerID | undefined {
  if (layer instanceof PeerID) return layer
  const id = (layer as Partial<HasPeerID>).peerID
  return id instanceof PeerID ? id : undefined
}

function isIPLike(layer: Addr): layer is IPAddrLike {
  const l = layer as Partial<IPAddrLike>
  return typeof l.ip === 'string' && typeof l.withIP === 'function'
}

function isUDPLike(layer: Addr): layer is UDPAddrLike {
  const l = layer as Partial<UDPAddrLike>
  return isIPLike(layer) && l.transport === 'udp' && typeof l.port === 'number'
}

/** The PeerID carried anywhere in the address stack, if any. */
export function extractPeerID(a: Addr): PeerID | undefined {
  return findInAddr(a, peerIDOf)
}

/** The IP (canonical text) carried anywhere in the address stack, if any. */
export function extractIP(a: Addr): string | undefined {
  return findInAddr(a, (l) => (isIPLike(l) ? l.ip : undefined))
}

/** The UDP endpoint carried anywhere in the address stack, if any. */
export function extractUDP(a: Addr): { ip: string; port: number } | undefined {
  return findInAddr(a, (l) => (isUDPLike(l) ? { ip: l.ip, port: l.port } : undefined))
}

/** The same address with its IP replaced by `fn(ip)`; unchanged when it carries no IP. */
export function mapIP<A extends Addr>(a: A, fn: (ip: string) => string): A {
  return mapAddr(a, (l) => (isIPLike(l) ? l.withIP(fn(l.ip)) : undefined))
}

/** The same address with its UDP endpoint replaced; unchanged when it carries none. */
export function mapUDP<A extends Addr>(
  a: A,
  fn: (ep: { ip: string; port: number }) => { ip: string; port: number },
): A {
  return mapAddr(a, (l) => {
    if (!isUDPLike(l)) return undefined
    const next = fn({ ip: l.ip, port: l.port })
    return l.withIPPort(next.ip, next.port)
  })
}

/**
 * The same address with its PeerID replaced; unchanged when it carries none. A layer that
 * carries a PeerID must offer `withPeerID(id)` for this to apply.
 */
export function mapPeerID<A extends Addr>(a: A, fn: (id: PeerID) => PeerID): A {
  return mapAddr(a, (l) => {
    const id = peerIDOf(l)
    if (id === undefined) return undefined
    if (l instanceof PeerID) return fn(l)
    const w = l as HasPeerID & { withPeerID?: (id: PeerID) => Addr }
    return typeof w.withPeerID === 'function' ? w.withPeerID(fn(id)) : undefined
  })
}
