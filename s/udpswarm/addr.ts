/**
 * UDP addresses: an IP and a port, with one canonical text form.
 *
 * Canonical IP text:
 * - IPv4: dotted decimal without leading zeros (`192.0.2.1`).
 * - IPv6: RFC 5952 (lower-case hex, no leading zeros, the longest run of two or more zero
 *   groups, the first on a tie, written `::`), hex only (`::102:304`, never `::1.2.3.4`).
 * - IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is shown as the IPv4 address it maps: a dual-stack
 *   socket reports IPv4 senders that way, and they are the same endpoint.
 * - A zone (`%eth0`, `%4`) is kept on link-local IPv6 addresses (fe80::/10) only, where it
 *   names the interface the address lives on; the kernel reports link-local senders with it
 *   and needs it to send to them. Zones are 1–15 characters of `A–Z a–z 0–9 _ . -`.
 *
 * Address text: `ip:port` for IPv4, `[ip]:port` for IPv6 (zone inside the brackets).
 * Ports are decimal 1–65535 without leading zeros. Parsing is strict: no whitespace, no host
 * names, no brackets around IPv4, no port 0, no unspecified IP (`0.0.0.0`, `::`): a
 * `UDPAddr` is always something one can send to. Non-canonical but valid IPv6 spellings
 * (upper case, leading zeros, uncompressed, embedded IPv4) are accepted and canonicalised.
 */
import type { UDPAddrLike } from '../../core/index.js'
import { BadAddrError } from '../../core/index.js'

/** Longest accepted address text: `[` + 45 (IPv6 with IPv4 tail) + `%` + 15 + `]:65535`. */
const MAX_TEXT = 1 + 45 + 1 + 15 + 1 + 6
const ZONE = /^[A-Za-z0-9_.-]{1,15}$/
const V4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/
const PORT = /^[1-9]\d{0,4}$/

/** A parsed IP: canonical text, family, and the address bytes (without the zone). */
export interface ParsedIP {
  /** Canonical text (with `%zone` for a zoned link-local IPv6 address). */
  readonly ip: string
  readonly family: 4 | 6
  /** 4 or 16 bytes. */
  readonly bytes: Uint8Array
}

let trusted = false

/**
 * A UDP endpoint. Immutable; `ip` is canonical text (see the module comment) and `port` is
 * 1–65535, so every instance can be sent to and `parseUDPAddr(a.toString())` equals `a`.
 */
export class UDPAddr implements UDPAddrLike {
  /** Canonical IP text; IPv4-mapped IPv6 is shown as IPv4; link-local IPv6 may carry `%zone`. */
  readonly ip: string
  /** 1–65535. */
  readonly port: number
  readonly #text: string

  /**
   * Validates and canonicalises. Throws `BadAddrError` for an invalid or unspecified IP, a
   * misplaced zone, or a port outside 1–65535.
   */
  constructor(ip: string, port: number) {
    if (trusted) {
      this.ip = ip
      this.port = port
    } else {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new BadAddrError(`UDP port must be an integer in 1..65535, got ${String(port)}`)
      }
      const parsed = parseIP(ip)
      if (isUnspecified(parsed.bytes)) {
        throw new BadAddrError(`unspecified IP ${JSON.stringify(ip)} is not a destination`)
      }
      this.ip = parsed.ip
      this.port = port
    }
    this.#text = this.ip.includes(':') ? `[${this.ip}]:${this.port}` : `${this.ip}:${this.port}`
  }

  /** Always `'udp'`. */
  get transport(): 'udp' {
    return 'udp'
  }

  /** 4 or 6 (IPv4-mapped addresses are 4). */
  get family(): 4 | 6 {
    return this.ip.includes(':') ? 6 : 4
  }

  /** The same port at another IP (validated like the constructor). */
  withIP(ip: string): this {
    return new UDPAddr(ip, this.port) as this
  }

  /** Another endpoint (validated like the constructor). */
  withIPPort(ip: string, port: number): this {
    return new UDPAddr(ip, port) as this
  }

  /** True when both are the same endpoint. */
  equals(other: UDPAddr): boolean {
    return this.#text === other.#text
  }

  /** `ip:port`, or `[ip]:port` for IPv6. */
  toString(): string {
    return this.#text
  }

  toJSON(): string {
    return this.#text
  }
}

/**
 * A `UDPAddr` from an IP already in canonical form and a valid port, without validation.
 * Only for values this package produced itself (the receive hot path).
 * @internal
 */
export function trustedUDPAddr(ip: string, port: number): UDPAddr {
  trusted = true
  try {
    return new UDPAddr(ip, port)
  } finally {
    trusted = false
  }
}

/**
 * Parses `ip:port` or `[ip]:port` (see the module comment for the exact grammar).
 * Throws `BadAddrError` (and nothing else) for any other string.
 */
export function parseUDPAddr(text: string): UDPAddr {
  const { host, port } = splitHostPort(text)
  if (port === 0) throw new BadAddrError(`port 0 is not a destination: ${quote(text)}`)
  return new UDPAddr(host, port)
}

/**
 * Parses a bind address: like `parseUDPAddr`, but port 0 (any free port) and the unspecified
 * IPs (`0.0.0.0`, `[::]`: every interface) are allowed. Throws `BadAddrError`.
 */
export function parseBindAddr(text: string): { host: string; port: number } {
  const { host, port } = splitHostPort(text)
  return { host: parseIP(host).ip, port }
}

function splitHostPort(text: string): { host: string; port: number } {
  if (typeof text !== 'string') throw new BadAddrError('UDP address must be a string')
  if (text.length === 0 || text.length > MAX_TEXT) {
    throw new BadAddrError(`not a UDP address: ${quote(text)}`)
  }
  let host: string
  let rest: string
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']')
    if (close < 0) throw new BadAddrError(`missing "]" in ${quote(text)}`)
    host = text.slice(1, close)
    if (!host.includes(':')) throw new BadAddrError(`brackets are for IPv6 only: ${quote(text)}`)
    rest = text.slice(close + 1)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon < 0) throw new BadAddrError(`missing port in ${quote(text)}`)
    host = text.slice(0, colon)
    if (host.includes(':')) throw new BadAddrError(`IPv6 must be written [ip]:port: ${quote(text)}`)
    rest = text.slice(colon)
  }
  if (rest.charCodeAt(0) !== 0x3a /* : */) throw new BadAddrError(`missing port in ${quote(text)}`)
  const portText = rest.slice(1)
  if (portText !== '0' && !PORT.test(portText)) {
    throw new BadAddrError(`bad port in ${quote(text)}`)
  }
  const port = Number(portText)
  if (port > 65535) throw new BadAddrError(`port out of range in ${quote(text)}`)
  return { host, port }
}

/**
 * Parses and canonicalises IP text (IPv4, IPv6, IPv6 with a zone on link-local addresses).
 * The unspecified addresses parse. Throws `BadAddrError`.
 */
export function parseIP(text: string): ParsedIP {
  if (typeof text !== 'string') throw new BadAddrError('IP must be a string')
  if (V4.test(text)) return { ip: text, family: 4, bytes: v4Bytes(text) }
  let addr = text
  let zone = ''
  const pct = text.indexOf('%')
  if (pct >= 0) {
    addr = text.slice(0, pct)
    zone = text.slice(pct + 1)
    if (!ZONE.test(zone)) throw new BadAddrError(`bad zone in ${quote(text)}`)
  }
  const words = parseV6Words(addr)
  if (words === undefined) throw new BadAddrError(`not an IP address: ${quote(text)}`)
  if (isMapped(words)) {
    if (zone !== '') throw new BadAddrError(`zone on an IPv4-mapped address: ${quote(text)}`)
    const v4 = `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`
    return { ip: v4, family: 4, bytes: v4Bytes(v4) }
  }
  if (zone !== '' && (words[0]! & 0xffc0) !== 0xfe80) {
    throw new BadAddrError(`a zone is only allowed on link-local (fe80::/10) IPv6: ${quote(text)}`)
  }
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = words[i]! >> 8
    bytes[2 * i + 1] = words[i]! & 0xff
  }
  const ip = zone === '' ? formatV6(words) : `${formatV6(words)}%${zone}`
  return { ip, family: 6, bytes }
}

/** The canonical text of an IP (see `parseIP`). Throws `BadAddrError`. */
export function canonicalIP(text: string): string {
  return parseIP(text).ip
}

/** True for `0.0.0.0` and `::` (as bytes). */
export function isUnspecified(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false
  return true
}

function v4Bytes(ip: string): Uint8Array {
  const out = new Uint8Array(4)
  const parts = ip.split('.')
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i])
  return out
}

function isMapped(w: readonly number[]): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff
}

/** Eight 16-bit groups, or undefined when `s` is not IPv6 text (RFC 4291 section 2.2). */
function parseV6Words(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45) return undefined
  const dbl = s.indexOf('::')
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined
  const head = dbl >= 0 ? s.slice(0, dbl) : s
  const tail = dbl >= 0 ? s.slice(dbl + 2) : ''
  // An embedded IPv4 address may only end the whole address.
  const hw = head === '' ? [] : groups(head, dbl < 0)
  const tw = tail === '' ? [] : groups(tail, true)
  if (hw === undefined || tw === undefined) return undefined
  if (dbl < 0) return hw.length === 8 ? hw : undefined
  if (hw.length + tw.length > 7) return undefined
  const zeros = new Array<number>(8 - hw.length - tw.length).fill(0)
  return [...hw, ...zeros, ...tw]
}

function groups(s: string, v4Last: boolean): number[] | undefined {
  const parts = s.split(':')
  const out: number[] = []
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (HEX_GROUP.test(p)) {
      out.push(Number.parseInt(p, 16))
    } else if (v4Last && i === parts.length - 1 && V4.test(p)) {
      const b = v4Bytes(p)
      out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!)
    } else {
      return undefined
    }
  }
  return out
}

/** RFC 5952 section 4 text of eight groups. */
function formatV6(w: readonly number[]): string {
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && w[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = w.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

function quote(text: string): string {
  const s = JSON.stringify(text)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
