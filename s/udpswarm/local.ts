/**
 * The local side of a socket: which addresses a bound socket can be reached at, and which of
 * them a received datagram was (most likely) sent to.
 *
 * A socket bound to a wildcard (`0.0.0.0`, `::`) receives on every interface, and Node does
 * not say which one a datagram arrived on. `LocalAddrTable.dstFor(sender)` picks the local
 * address the kernel would use to answer that sender, by these rules, first match wins:
 *
 * 1. the sender is one of our own addresses (traffic from this host): that address;
 * 2. the sender is link-local IPv6 with a zone: our link-local address on the same interface
 *    (the zone names it), else our first link-local address;
 * 3. the sender is a loopback address: our loopback address of the same family;
 * 4. the sender is on the subnet of one of our interfaces: that interface's address;
 * 5. otherwise (the sender is behind a router): our first address of the sender's family
 *    that is neither loopback nor link-local, else our first address of that family.
 *
 * The table is a snapshot of `os.networkInterfaces()` taken when it is built.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { type ParsedIP, parseIP, trustedUDPAddr, type UDPAddr } from './addr.js'

/** One local address with the subnet it belongs to. */
export interface LocalEntry {
  readonly parsed: ParsedIP
  /** Netmask bytes (same length as `parsed.bytes`). */
  readonly mask: Uint8Array
  readonly loopback: boolean
  readonly linkLocal: boolean
  /** The interface name (the zone of link-local IPv6 addresses). */
  readonly iface: string
}

/** Which families a wildcard bind covers. */
export type WildcardFamilies = 'ipv4' | 'ipv6' | 'dual'

/** Most sender IPs whose chosen destination is remembered before the cache is cleared. */
const DST_CACHE_MAX = 4096

/**
 * The host's interface addresses for a wildcard bind, ordered: IPv4 before IPv6; within a
 * family, ordinary addresses first, then link-local, then loopback; otherwise in the order the
 * OS lists them. Link-local IPv6 addresses carry `%<interface>`. Never contains `0.0.0.0`/`::`.
 */
export function interfaceEntries(
  families: WildcardFamilies,
  ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): LocalEntry[] {
  const out: LocalEntry[] = []
  const seen = new Set<string>()
  for (const [name, infos] of Object.entries(ifaces)) {
    for (const info of infos ?? []) {
      const fam = familyOf(info)
      if (fam === 4 && families === 'ipv6') continue
      if (fam === 6 && families === 'ipv4') continue
      if (fam === undefined) continue
      let parsed: ParsedIP
      let mask: Uint8Array
      try {
        const bare = parseIP(info.address)
        const linkLocal = isLinkLocalBytes(bare.bytes)
        parsed = linkLocal && bare.family === 6 ? parseIP(`${bare.ip}%${name}`) : bare
        mask = parseIP(info.netmask).bytes
      } catch {
        // An interface we cannot describe (odd name for a zone, odd netmask) is left out.
        continue
      }
      if (mask.length !== parsed.bytes.length || parsed.family !== fam) continue
      if (parsed.bytes.every((b) => b === 0) || seen.has(parsed.ip)) continue
      seen.add(parsed.ip)
      out.push({
        parsed,
        mask,
        loopback: isLoopbackBytes(parsed.bytes),
        linkLocal: isLinkLocalBytes(parsed.bytes),
        iface: name,
      })
    }
  }
  const rank = (e: LocalEntry) =>
    (e.parsed.family === 4 ? 0 : 10) + (e.loopback ? 2 : e.linkLocal ? 1 : 0)
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i)
    .map((x) => x.e)
}

/** The loopback entry of a family, used when the host lists no address of that family. */
export function loopbackEntry(family: 4 | 6): LocalEntry {
  const parsed = parseIP(family === 4 ? '127.0.0.1' : '::1')
  const mask = family === 4 ? parseIP('255.0.0.0').bytes : new Uint8Array(16).fill(0xff)
  return { parsed, mask, loopback: true, linkLocal: false, iface: 'lo' }
}

/** The local addresses of a bound socket and the destination rule for received datagrams. */
export class LocalAddrTable {
  readonly #entries: readonly LocalEntry[]
  readonly #addrs: readonly UDPAddr[]
  readonly #cache = new Map<string, UDPAddr>()

  /** `entries` must not be empty. */
  constructor(entries: readonly LocalEntry[], port: number) {
    if (entries.length === 0) throw new RangeError('a socket needs at least one local address')
    this.#entries = entries
    this.#addrs = entries.map((e) => trustedUDPAddr(e.parsed.ip, port))
  }

  /** The local addresses (a fresh array each call). */
  addrs(): UDPAddr[] {
    return this.#addrs.slice()
  }

  /**
   * The local address a datagram from `sender` (canonical IP text) was most likely sent to,
   * by the rules in the module comment. Results are cached per sender IP (bounded).
   */
  dstFor(sender: string): UDPAddr {
    if (this.#addrs.length === 1) return this.#addrs[0]!
    let dst = this.#cache.get(sender)
    if (dst === undefined) {
      dst = this.#addrs[this.#pick(sender)]!
      if (this.#cache.size >= DST_CACHE_MAX) this.#cache.clear()
      this.#cache.set(sender, dst)
    }
    return dst
  }

  #pick(sender: string): number {
    const entries = this.#entries
    let p: ParsedIP
    try {
      p = parseIP(sender)
    } catch {
      return 0
    }
    const same = (e: LocalEntry) => e.parsed.family === p.family
    // 1. our own address
    let i = entries.findIndex((e) => e.parsed.ip === p.ip)
    if (i >= 0) return i
    // 2. link-local: the interface named by the zone
    if (p.family === 6 && isLinkLocalBytes(p.bytes)) {
      const zone = p.ip.includes('%') ? p.ip.slice(p.ip.indexOf('%') + 1) : ''
      i = entries.findIndex((e) => e.linkLocal && same(e) && e.iface === zone)
      if (i < 0) i = entries.findIndex((e) => e.linkLocal && same(e))
      if (i >= 0) return i
    }
    // 3. loopback
    if (isLoopbackBytes(p.bytes)) {
      i = entries.findIndex((e) => e.loopback && same(e))
      if (i >= 0) return i
    }
    // 4. on-link
    i = entries.findIndex((e) => same(e) && !e.loopback && inSubnet(p.bytes, e))
    if (i >= 0) return i
    // 5. off-link
    i = entries.findIndex((e) => same(e) && !e.loopback && !e.linkLocal)
    if (i < 0) i = entries.findIndex(same)
    return Math.max(i, 0)
  }
}

function inSubnet(ip: Uint8Array, e: LocalEntry): boolean {
  const own = e.parsed.bytes
  if (own.length !== ip.length) return false
  for (let i = 0; i < ip.length; i++) {
    if ((ip[i]! & e.mask[i]!) !== (own[i]! & e.mask[i]!)) return false
  }
  return true
}

function familyOf(info: NetworkInterfaceInfo): 4 | 6 | undefined {
  // Node 18.0–18.3 reported the family as a number.
  const f = info.family as string | number
  return f === 'IPv4' || f === 4 ? 4 : f === 'IPv6' || f === 6 ? 6 : undefined
}

function isLoopbackBytes(b: Uint8Array): boolean {
  if (b.length === 4) return b[0] === 127
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false
  return b[15] === 1
}

function isLinkLocalBytes(b: Uint8Array): boolean {
  if (b.length === 4) return b[0] === 169 && b[1] === 254
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0x80
}
