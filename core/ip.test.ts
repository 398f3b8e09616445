import { describe, expect, it } from 'vitest'
import { isGlobalIP, isLinkLocalIP, isLoopbackIP, isPrivateIP, mappedIPv4 } from './ip.js'

describe('IP classification', () => {
  const table: Array<
    [string, { loopback?: boolean; private?: boolean; linkLocal?: boolean; global?: boolean }]
  > = [
    ['127.0.0.1', { loopback: true }],
    ['127.255.0.9', { loopback: true }],
    ['::1', { loopback: true }],
    ['::ffff:127.0.0.1', { loopback: true }],
    ['10.1.2.3', { private: true }],
    ['172.16.0.1', { private: true }],
    ['172.32.0.1', { global: true }],
    ['192.168.1.1', { private: true }],
    ['100.64.0.1', { private: true }],
    ['fd00::1', { private: true }],
    ['169.254.3.4', { linkLocal: true }],
    ['fe80::1', { linkLocal: true }],
    ['8.8.8.8', { global: true }],
    ['2001:4860:4860::8888', { global: true }],
    ['::ffff:8.8.8.8', { global: true }],
    ['0.0.0.0', {}],
    ['::', {}],
    ['224.0.0.1', {}],
    ['ff02::1', {}],
    ['192.0.2.1', {}],
    ['2001:db8::1', {}],
    ['not an ip', {}],
    ['', {}],
  ]
  for (const [ip, want] of table) {
    it(`classifies ${JSON.stringify(ip)}`, () => {
      expect(isLoopbackIP(ip)).toBe(!!want.loopback)
      expect(isPrivateIP(ip)).toBe(!!want.private)
      expect(isLinkLocalIP(ip)).toBe(!!want.linkLocal)
      expect(isGlobalIP(ip)).toBe(!!want.global)
    })
  }

  it('finds the IPv4 inside an IPv4-mapped IPv6 address', () => {
    expect(mappedIPv4('::ffff:1.2.3.4')).toBe('1.2.3.4')
    expect(mappedIPv4('::FFFF:1.2.3.4')).toBe('1.2.3.4')
    expect(mappedIPv4('::1')).toBeUndefined()
  })
})
