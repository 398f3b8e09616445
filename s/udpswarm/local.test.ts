import type { NetworkInterfaceInfo } from 'node:os'
import { describe, expect, it } from 'vitest'
import { interfaceEntries, LocalAddrTable } from './local.js'

function v4(address: string, netmask: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: null }
}
function v6(address: string, netmask: string, scopeid = 0, internal = false): NetworkInterfaceInfo {
  return {
    address,
    netmask,
    family: 'IPv6',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: null,
    scopeid,
  }
}

const host: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  lo: [
    v4('127.0.0.1', '255.0.0.0', true),
    v6('::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 0, true),
  ],
  eth0: [
    v4('192.168.1.10', '255.255.255.0'),
    v6('fe80::1', 'ffff:ffff:ffff:ffff::', 2),
    v6('2001:db8:1::10', 'ffff:ffff:ffff:ffff::'),
  ],
  wlan0: [v4('10.0.0.5', '255.255.0.0'), v6('fe80::2', 'ffff:ffff:ffff:ffff::', 3)],
  'odd name!': [v6('fe80::3', 'ffff:ffff:ffff:ffff::', 4), v4('172.16.0.1', '255.240.0.0')],
  tun0: [v4('100.64.0.2', '255.255.255.255')],
}

const texts = (t: LocalAddrTable) => t.addrs().map(String)

describe('interfaceEntries', () => {
  it('lists the family, ordinary first, loopback last, zones on link-local, never unspecified', () => {
    const t = new LocalAddrTable(interfaceEntries('ipv4', host), 7)
    expect(texts(t)).toEqual([
      '192.168.1.10:7',
      '10.0.0.5:7',
      '172.16.0.1:7',
      '100.64.0.2:7',
      '127.0.0.1:7',
    ])
    const t6 = new LocalAddrTable(interfaceEntries('ipv6', host), 7)
    // 'odd name!' cannot be a zone, so its link-local address is left out
    expect(texts(t6)).toEqual([
      '[2001:db8:1::10]:7',
      '[fe80::1%eth0]:7',
      '[fe80::2%wlan0]:7',
      '[::1]:7',
    ])
    const dual = interfaceEntries('dual', host).map((e) => e.parsed.ip)
    expect(dual[0]).toBe('192.168.1.10')
    expect(dual.at(-1)).toBe('::1')
    expect(interfaceEntries('ipv4', { x: [v4('0.0.0.0', '0.0.0.0')] })).toEqual([])
  })
})

describe('LocalAddrTable.dstFor', () => {
  const t = new LocalAddrTable(interfaceEntries('dual', host), 9)
  const dst = (sender: string) => String(t.dstFor(sender))

  it('answers our own address with itself', () => {
    expect(dst('10.0.0.5')).toBe('10.0.0.5:9')
    expect(dst('2001:db8:1::10')).toBe('[2001:db8:1::10]:9')
  })
  it('answers loopback with loopback of the same family', () => {
    expect(dst('127.0.0.1')).toBe('127.0.0.1:9')
    expect(dst('127.1.2.3')).toBe('127.0.0.1:9')
    expect(dst('::1')).toBe('[::1]:9')
  })
  it('answers link-local with the interface the zone names', () => {
    expect(dst('fe80::99%wlan0')).toBe('[fe80::2%wlan0]:9')
    expect(dst('fe80::99%eth0')).toBe('[fe80::1%eth0]:9')
    expect(dst('fe80::99')).toBe('[fe80::1%eth0]:9')
  })
  it('answers an on-link sender with the address of its subnet', () => {
    expect(dst('192.168.1.77')).toBe('192.168.1.10:9')
    expect(dst('10.0.200.1')).toBe('10.0.0.5:9')
    expect(dst('172.31.255.254')).toBe('172.16.0.1:9')
    expect(dst('2001:db8:1::abcd')).toBe('[2001:db8:1::10]:9')
  })
  it('answers an off-link sender with the first ordinary address of its family', () => {
    expect(dst('203.0.113.9')).toBe('192.168.1.10:9')
    expect(dst('2001:db8:99::1')).toBe('[2001:db8:1::10]:9')
  })
  it('is stable (cached) and never throws', () => {
    expect(dst('203.0.113.9')).toBe(dst('203.0.113.9'))
    expect(dst('not an ip')).toBe('192.168.1.10:9')
  })
  it('falls back to any address of the family when only loopback exists', () => {
    const lo = new LocalAddrTable(interfaceEntries('dual', { lo: host.lo }), 1)
    expect(String(lo.dstFor('198.51.100.1'))).toBe('127.0.0.1:1')
    expect(String(lo.dstFor('2001:db8::1'))).toBe('[::1]:1')
  })
})
