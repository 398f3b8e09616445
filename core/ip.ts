/**
 * IP classification, for filtering which local or remote addresses to use or announce.
 * Every function takes canonical or any valid IP text and returns false for non-IP text.
 */
import { BlockList, isIP } from 'node:net'

function blockList(v4: string[], v6: string[]): BlockList {
  const list = new BlockList()
  for (const s of v4) {
    const [net, bits] = s.split('/') as [string, string]
    list.addSubnet(net, Number(bits), 'ipv4')
  }
  for (const s of v6) {
    const [net, bits] = s.split('/') as [string, string]
    list.addSubnet(net, Number(bits), 'ipv6')
  }
  return list
}

const LOOPBACK = blockList(['127.0.0.0/8'], ['::1/128'])
const PRIVATE = blockList(
  ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'],
  ['fc00::/7'],
)
const LINK_LOCAL = blockList(['169.254.0.0/16'], ['fe80::/10'])
// Not routable on the public internet for other reasons: unspecified, multicast, documentation,
// benchmarking, reserved (RFC 6890 and the IANA special-purpose registries).
const SPECIAL = blockList(
  [
    '0.0.0.0/8',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/4',
    '240.0.0.0/4',
  ],
  ['::/128', '64:ff9b:1::/48', '100::/64', '2001:db8::/32', 'ff00::/8'],
)

function family(ip: string): 'ipv4' | 'ipv6' | undefined {
  const v = isIP(ip)
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined
}

function check(list: BlockList, ip: string): boolean {
  const f = family(ip)
  if (f === undefined) return false
  const v4 = f === 'ipv6' ? mappedIPv4(ip) : undefined
  return v4 !== undefined ? list.check(v4, 'ipv4') : list.check(ip, f)
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), if it is one. */
export function mappedIPv4(ip: string): string | undefined {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return m && isIP(m[1]!) === 4 ? m[1] : undefined
}

/** 127.0.0.0/8 or ::1. */
export const isLoopbackIP = (ip: string): boolean => check(LOOPBACK, ip)
/** RFC 1918, carrier-grade NAT (100.64/10) or unique local IPv6 (fc00::/7). */
export const isPrivateIP = (ip: string): boolean => check(PRIVATE, ip)
/** 169.254.0.0/16 or fe80::/10. */
export const isLinkLocalIP = (ip: string): boolean => check(LINK_LOCAL, ip)
/** Routable on the public internet: a valid IP that is none of the special ranges. */
export function isGlobalIP(ip: string): boolean {
  if (family(ip) === undefined) return false
  return !(isLoopbackIP(ip) || isPrivateIP(ip) || isLinkLocalIP(ip) || check(SPECIAL, ip))
}
