import { isIPv6 } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { extractIP, extractUDP, isBadAddrError, mapUDP } from '../../core/index.js'
import { canonicalIP, parseBindAddr, parseIP, parseUDPAddr, UDPAddr } from './addr.js'

/** The WHATWG URL serialiser writes IPv6 hosts as RFC 5952 text: an independent oracle. */
function urlCanonical(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}

const v6Words = fc.array(
  fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 8, maxLength: 8 },
)

function wordsToFullText(w: number[], upper: boolean, pad: boolean): string {
  const t = w.map((x) => {
    const h = x.toString(16)
    return pad ? h.padStart(4, '0') : h
  })
  const s = t.join(':')
  return upper ? s.toUpperCase() : s
}

function isMappedWords(w: number[]): boolean {
  return w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff
}

describe('UDPAddr text', () => {
  it('formats IPv4 and IPv6', () => {
    expect(String(parseUDPAddr('192.0.2.1:53'))).toBe('192.0.2.1:53')
    expect(String(parseUDPAddr('[::1]:53'))).toBe('[::1]:53')
    expect(String(parseUDPAddr('[2001:DB8:0:0:0:0:0:1]:65535'))).toBe('[2001:db8::1]:65535')
    expect(String(parseUDPAddr('[2001:db8:0:0:1:0:0:1]:1'))).toBe('[2001:db8::1:0:0:1]:1')
    expect(String(parseUDPAddr('[2001:0db8:0000:0001:0000:0000:0000:0001]:1'))).toBe(
      '[2001:db8:0:1::1]:1',
    )
    // A single zero group is not compressed (RFC 5952 4.2.2).
    expect(String(parseUDPAddr('[2001:db8:0:1:1:1:1:1]:9'))).toBe('[2001:db8:0:1:1:1:1:1]:9')
  })

  it('shows IPv4-mapped IPv6 as IPv4', () => {
    const a = parseUDPAddr('[::ffff:192.0.2.7]:4000')
    expect(a.ip).toBe('192.0.2.7')
    expect(a.family).toBe(4)
    expect(String(a)).toBe('192.0.2.7:4000')
    expect(String(parseUDPAddr('[::FFFF:c000:0207]:4000'))).toBe('192.0.2.7:4000')
    expect(new UDPAddr('::ffff:127.0.0.1', 9).equals(new UDPAddr('127.0.0.1', 9))).toBe(true)
  })

  it('writes other embedded IPv4 forms in hex', () => {
    expect(canonicalIP('::1.2.3.4')).toBe('::102:304')
    expect(canonicalIP('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221')
  })

  it('keeps a zone on link-local IPv6 only', () => {
    const a = parseUDPAddr('[FE80::1%eth0]:80')
    expect(a.ip).toBe('fe80::1%eth0')
    expect(String(a)).toBe('[fe80::1%eth0]:80')
    expect(String(parseUDPAddr('[fe80::1%4]:80'))).toBe('[fe80::1%4]:80')
    for (const bad of [
      '[2001:db8::1%eth0]:80',
      '[fe80::1%]:80',
      '[fe80::1%a b]:80',
      '[::ffff:1.2.3.4%x]:1',
      '1.2.3.4%eth0:80',
      '[fe80::1%eth0%eth1]:80',
      '[fe80::1%abcdefghijklmnop]:80',
    ]) {
      expect(() => parseUDPAddr(bad), bad).toThrow(/./)
      try {
        parseUDPAddr(bad)
      } catch (e) {
        expect(isBadAddrError(e), bad).toBe(true)
      }
    }
  })

  it('rejects bad text with BadAddrError', () => {
    const bad = [
      '',
      ' 1.2.3.4:80',
      '1.2.3.4:80 ',
      '1.2.3.4 :80',
      '1.2.3.4',
      '1.2.3.4:',
      '1.2.3.4:0',
      '1.2.3.4:65536',
      '1.2.3.4:080',
      '1.2.3.4:+80',
      '1.2.3.4:8e1',
      '1.2.3.4:0x50',
      '01.2.3.4:80',
      '1.2.3:80',
      '1.2.3.4.5:80',
      '256.1.1.1:80',
      '0.0.0.0:80',
      '[::]:80',
      '[::0]:80',
      '::1:80',
      '[::1]',
      '[::1]:',
      '[::1:80',
      '::1]:80',
      '[::1]]:80',
      '[[::1]]:80',
      '[1.2.3.4]:80',
      '[:::1]:80',
      '[1::2::3]:80',
      '[1:2:3:4:5:6:7:8:9]:80',
      '[1:2:3:4:5:6:7]:80',
      '[12345::1]:80',
      '[g::1]:80',
      '[::1.2.3.4:5]:80',
      '[1.2.3.4::]:80',
      '[::ffff:1.2.3.04]:80',
      'localhost:80',
      'example.com:53',
      'udp://1.2.3.4:80',
      '1.2.3.4:80/',
      '1.2.3.4:８０',
      '１.2.3.4:80',
    ]
    for (const text of bad) {
      let thrown: unknown
      try {
        parseUDPAddr(text)
      } catch (e) {
        thrown = e
      }
      expect(isBadAddrError(thrown), JSON.stringify(text)).toBe(true)
    }
  })

  it('rejects a port outside 1..65535 and unspecified IPs in the constructor', () => {
    for (const [ip, port] of [
      ['1.2.3.4', 0],
      ['1.2.3.4', 65536],
      ['1.2.3.4', 1.5],
      ['1.2.3.4', Number.NaN],
      ['0.0.0.0', 1],
      ['::', 1],
      ['::ffff:0.0.0.0', 1],
      ['nope', 1],
    ] as const) {
      expect(() => new UDPAddr(ip, port)).toThrow(expect.objectContaining({ code: 'ERR_BAD_ADDR' }))
    }
  })

  it('parses bind addresses with port 0 and wildcards', () => {
    expect(parseBindAddr('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 })
    expect(parseBindAddr('[::]:0')).toEqual({ host: '::', port: 0 })
    expect(parseBindAddr('[::ffff:127.0.0.1]:5')).toEqual({ host: '127.0.0.1', port: 5 })
    expect(() => parseBindAddr('0.0.0.0:00')).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_ADDR' }),
    )
  })

  it('implements UDPAddrLike for core address helpers', () => {
    const a = parseUDPAddr('[2001:db8::1]:443')
    expect(a.transport).toBe('udp')
    expect(extractIP(a)).toBe('2001:db8::1')
    expect(extractUDP(a)).toEqual({ ip: '2001:db8::1', port: 443 })
    const b = mapUDP(a, ({ port }) => ({ ip: '::ffff:10.0.0.1', port: port + 1 }))
    expect(b).toBeInstanceOf(UDPAddr)
    expect(String(b)).toBe('10.0.0.1:444')
    expect(String(a.withIP('192.0.2.1'))).toBe('192.0.2.1:443')
    expect(() => a.withIP('0.0.0.0')).toThrow(expect.objectContaining({ code: 'ERR_BAD_ADDR' }))
    expect(JSON.stringify({ a })).toBe('{"a":"[2001:db8::1]:443"}')
  })
})

describe('UDPAddr properties', () => {
  const port = fc.integer({ min: 1, max: 65535 })

  it('round-trips random IPv4 addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), port, (ip, p) => {
        fc.pre(ip !== '0.0.0.0')
        const a = parseUDPAddr(`${ip}:${p}`)
        expect(a.ip).toBe(ip)
        expect(a.port).toBe(p)
        expect(parseUDPAddr(a.toString()).toString()).toBe(a.toString())
      }),
      { numRuns: 500 },
    )
  })

  it('round-trips random IPv6 addresses and agrees with the URL serialiser', () => {
    fc.assert(
      fc.property(v6Words, fc.boolean(), fc.boolean(), port, (w, upper, pad, p) => {
        // :: and ::ffff:0.0.0.0 are unspecified addresses: not destinations (tested above)
        fc.pre(w.some((x) => x !== 0) && !(isMappedWords(w) && w[6] === 0 && w[7] === 0))
        const text = wordsToFullText(w, upper, pad)
        const a = parseUDPAddr(`[${text}]:${p}`)
        if (isMappedWords(w)) {
          expect(a.family).toBe(4)
        } else {
          expect(a.ip).toBe(urlCanonical(text))
        }
        expect(parseUDPAddr(a.toString()).toString()).toBe(a.toString())
        // the canonical text is a fixed point of the parser
        expect(canonicalIP(a.ip)).toBe(a.ip)
      }),
      { numRuns: 2000 },
    )
  })

  it('accepts exactly the IPv6 texts node:net accepts (fast-check ipV6 forms)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        let ok = true
        try {
          parseIP(ip)
        } catch {
          ok = false
        }
        expect(ok).toBe(isIPv6(ip))
      }),
      { numRuns: 1000 },
    )
  })

  it('throws nothing but BadAddrError on garbage', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.[]%-_ xyz\t\n'.split(''))
    const garbage = fc.oneof(
      fc.string(),
      fc.string({ unit: alphabet, maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      // near misses: a valid address with one character changed, inserted or removed
      fc
        .tuple(
          fc.oneof(
            fc.ipV4(),
            fc.ipV6().map((x) => `[${x}]`),
          ),
          port,
          fc.nat(),
          alphabet,
          fc.integer({ min: 0, max: 2 }),
        )
        .map(([ip, p, at, ch, op]) => {
          const s = `${ip}:${p}`
          const i = at % (s.length + 1)
          if (op === 0) return s.slice(0, i) + ch + s.slice(i + 1)
          if (op === 1) return s.slice(0, i) + ch + s.slice(i)
          return s.slice(0, i) + s.slice(i + 1)
        }),
    )
    fc.assert(
      fc.property(garbage, (text) => {
        let a: UDPAddr | undefined
        try {
          a = parseUDPAddr(text)
        } catch (e) {
          expect(isBadAddrError(e)).toBe(true)
          return
        }
        // whatever parses is a valid, canonical, round-tripping address
        expect(parseUDPAddr(a.toString()).toString()).toBe(a.toString())
        expect(a.port).toBeGreaterThan(0)
      }),
      { numRuns: 3000 },
    )
  })
})
