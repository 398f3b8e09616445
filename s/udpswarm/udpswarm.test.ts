import { waitUntil } from '../../p2ptest/index.js'
import dgram from 'node:dgram'
import { networkInterfaces } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../../core/index.js'
import {
  isBadAddrError,
  isClosedError,
  isMTUExceededError,
  isUnreachableError,
} from '../../core/index.js'
import { parseUDPAddr, UDPAddr } from './addr.js'
import {
  DEFAULT_MTU,
  MAX_PAYLOAD_IPV4,
  MAX_PAYLOAD_IPV6,
  sendError,
  UDPSwarm,
  type UDPSwarmOptions,
} from './udpswarm.js'

/** Whether this host can bind ::1 (IPv6 loopback); IPv6 tests are skipped, with this reason, if not. */
async function canBindV6(): Promise<boolean> {
  try {
    const s = await UDPSwarm.bind('[::1]:0')
    await s.close()
    return true
  } catch {
    return false
  }
}
const hasV6 = await canBindV6()
const NO_V6 = 'IPv6 loopback (::1) cannot be bound on this host'

const open: UDPSwarm[] = []
async function bind(addr: string, opts?: UDPSwarmOptions): Promise<UDPSwarm> {
  const s = await UDPSwarm.bind(addr, opts)
  open.push(s)
  return s
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

function recv(s: UDPSwarm, signal?: AbortSignal): Promise<Message<UDPAddr>> {
  let got: Message<UDPAddr> | undefined
  return s
    .receive(
      (m) => {
        got = m
      },
      { signal },
    )
    .then(() => got!)
}

/** Polls a condition (no fixed sleeps): resolves as soon as it holds, fails after a long deadline. */

function udpWraps(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length
}

function bytes(...xs: number[]): Uint8Array {
  return Uint8Array.from(xs)
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

const families = [
  { name: 'IPv4', host: '127.0.0.1', wildcard: '0.0.0.0', available: true },
  { name: 'IPv6', host: '[::1]', wildcard: '[::]', available: hasV6 },
]

for (const fam of families) {
  describe.skipIf(!fam.available)(
    `UDPSwarm over ${fam.name} loopback${fam.available ? '' : ` (skipped: ${NO_V6})`}`,
    () => {
      it('tells and receives both ways with the right src and dst', async () => {
        const a = await bind(`${fam.host}:0`)
        const b = await bind(`${fam.host}:0`)
        const [aAddr] = a.localAddrs()
        const [bAddr] = b.localAddrs()
        expect(a.localAddrs()).toHaveLength(1)
        expect(String(aAddr)).toBe(`${fam.host}:${a.port}`)

        const toB = recv(b)
        await a.tell(bAddr!, bytes(1, 2, 3))
        const m1 = await toB
        expect(String(m1.src)).toBe(String(aAddr))
        expect(String(m1.dst)).toBe(String(bAddr))
        expect(m1.payload).toEqual(bytes(1, 2, 3))
        expect(m1.payload.constructor).toBe(Uint8Array)

        const toA = recv(a)
        await b.tell(m1.src, bytes(4))
        const m2 = await toA
        expect(String(m2.src)).toBe(String(bAddr))
        expect(String(m2.dst)).toBe(String(aAddr))
        expect(m2.payload).toEqual(bytes(4))

        expect(a.stats()).toMatchObject({
          tellsSent: 1,
          bytesSent: 3,
          received: 1,
          bytesReceived: 1,
        })
        expect(b.stats()).toMatchObject({
          tellsSent: 1,
          bytesSent: 1,
          received: 1,
          bytesReceived: 3,
        })
      })

      it('sends multi-part payloads as one datagram without touching the parts', async () => {
        const a = await bind(`${fam.host}:0`)
        const b = await bind(`${fam.host}:0`)
        const dst = b.localAddrs()[0]!
        const backing = Uint8Array.from({ length: 32 }, (_, i) => i)
        const parts = [
          backing.subarray(2, 5),
          new Uint8Array(0),
          backing.subarray(10, 12),
          bytes(0xff),
        ]
        const before = backing.slice()
        const frozen = Object.freeze([...parts])
        await a.tell(dst, frozen)
        const m = await recv(b)
        expect(m.payload).toEqual(bytes(2, 3, 4, 10, 11, 0xff))
        expect(backing).toEqual(before)
        // the received payload owns its memory: writing to it touches nothing of ours
        m.payload.fill(0)
        expect(backing).toEqual(before)

        await a.tell(dst, [])
        await a.tell(dst, new Uint8Array(0))
        expect((await recv(b)).payload).toEqual(new Uint8Array(0))
        expect((await recv(b)).payload).toEqual(new Uint8Array(0))
      })

      it('enforces the mtu exactly', async () => {
        const a = await bind(`${fam.host}:0`)
        const b = await bind(`${fam.host}:0`)
        const dst = b.localAddrs()[0]!
        expect(a.mtu(dst)).toBe(DEFAULT_MTU)
        expect(a.maxIncomingSize()).toBe(65535)

        await a.tell(dst, new Uint8Array(DEFAULT_MTU))
        expect((await recv(b)).payload.length).toBe(DEFAULT_MTU)

        const big = new Uint8Array(DEFAULT_MTU + 1)
        const err = await rejection(a.tell(dst, big))
        expect(isMTUExceededError(err)).toBe(true)
        expect(err).toMatchObject({ size: DEFAULT_MTU + 1, mtu: DEFAULT_MTU })
        const split = [new Uint8Array(1000), new Uint8Array(233)]
        expect(isMTUExceededError(await rejection(a.tell(dst, split)))).toBe(true)
        expect(a.stats()).toMatchObject({ tellsSent: 1, sendErrors: 0 })
      })

      it('carries the largest datagram the family allows when the mtu option allows it', async () => {
        const max = fam.name === 'IPv4' ? MAX_PAYLOAD_IPV4 : MAX_PAYLOAD_IPV6
        const a = await bind(`${fam.host}:0`, { mtu: MAX_PAYLOAD_IPV6 })
        const b = await bind(`${fam.host}:0`)
        const dst = b.localAddrs()[0]!
        expect(a.mtu(dst)).toBe(max)
        const payload = new Uint8Array(max).fill(7)
        await a.tell(dst, [payload.subarray(0, 1), payload.subarray(1)])
        const m = await recv(b)
        expect(m.payload.length).toBe(max)
        expect(m.payload.every((x) => x === 7)).toBe(true)
        expect(isMTUExceededError(await rejection(a.tell(dst, new Uint8Array(max + 1))))).toBe(true)
      })

      it('counts inbox overflow exactly while nobody receives, and keeps order', async () => {
        const a = await bind(`${fam.host}:0`)
        const b = await bind(`${fam.host}:0`, { inboxItems: 8 })
        const dst = b.localAddrs()[0]!
        for (let i = 0; i < 20; i++) await a.tell(dst, bytes(i))
        await waitUntil(() => b.stats().received === 20, '20 datagrams at b')
        expect(b.stats().inbox).toMatchObject({ accepted: 8, droppedFull: 12, queued: 8 })
        for (let i = 0; i < 8; i++) expect((await recv(b)).payload).toEqual(bytes(i))
        expect(b.stats().inbox).toMatchObject({ handed: 8, queued: 0 })
      })

      it('bounds the inbox by bytes too', async () => {
        const a = await bind(`${fam.host}:0`)
        const b = await bind(`${fam.host}:0`, { inboxBytes: 450 })
        const dst = b.localAddrs()[0]!
        for (let i = 0; i < 10; i++) await a.tell(dst, new Uint8Array(100))
        await waitUntil(() => b.stats().received === 10, '10 datagrams at b')
        expect(b.stats().inbox).toMatchObject({ accepted: 4, droppedFull: 6, queuedBytes: 400 })
      })

      it('leaves the swarm usable after an aborted receive', async () => {
        const a = await bind(`${fam.host}:0`)
        const b = await bind(`${fam.host}:0`)
        const ac = new AbortController()
        const first = recv(b, ac.signal)
        const reason = new Error('stop')
        ac.abort(reason)
        expect(await rejection(first)).toBe(reason)
        expect(await rejection(b.tell(a.localAddrs()[0]!, bytes(1), { signal: ac.signal }))).toBe(
          reason,
        )
        await a.tell(b.localAddrs()[0]!, bytes(9))
        expect((await recv(b)).payload).toEqual(bytes(9))
      })

      it('rebinds the same port after close and leaves no handle', async () => {
        const baseline = udpWraps()
        const a = await UDPSwarm.bind(`${fam.host}:0`)
        const port = a.port
        expect(udpWraps()).toBe(baseline + 1)
        // taken while open
        const inUse = await rejection(UDPSwarm.bind(`${fam.host}:${port}`))
        expect(inUse).toMatchObject({ code: 'ERR_IN_USE' })
        await a.close()
        expect(udpWraps()).toBe(baseline)
        const again = await UDPSwarm.bind(`${fam.host}:${port}`)
        expect(again.port).toBe(port)
        await again.close()
        expect(udpWraps()).toBe(baseline)
      })
    },
  )
}

describe('UDPSwarm addresses and wildcard binds', () => {
  const ifaceIPs = (family: 'IPv4' | 'IPv6') =>
    Object.entries(networkInterfaces()).flatMap(([name, infos]) =>
      (infos ?? [])
        .filter((i) => i.family === family)
        .map((i) => (i.address.startsWith('fe80') ? `${i.address}%${name}` : i.address)),
    )

  it('expands 0.0.0.0 to the IPv4 interface addresses with the bound port', async () => {
    const w = await bind('0.0.0.0:0')
    const addrs = w.localAddrs()
    expect(addrs.length).toBeGreaterThan(0)
    for (const a of addrs) {
      expect(a.port).toBe(w.port)
      expect(a.family).toBe(4)
      expect(a.ip).not.toBe('0.0.0.0')
    }
    expect(addrs.map((a) => a.ip).sort()).toEqual([...new Set(ifaceIPs('IPv4'))].sort())
    expect(w.bound()).toEqual({ host: '0.0.0.0', port: w.port })
  })

  it('picks a real local address as dst on a wildcard bind', async () => {
    const w = await bind('0.0.0.0:0')
    const lo = await bind('127.0.0.1:0')
    await lo.tell(parseUDPAddr(`127.0.0.1:${w.port}`), bytes(1))
    const m = await recv(w)
    expect(String(m.dst)).toBe(`127.0.0.1:${w.port}`)
    expect(String(m.src)).toBe(`127.0.0.1:${lo.port}`)
    // from one of this host's other addresses: the dst is that address
    const other = w.localAddrs().find((a) => !a.ip.startsWith('127.'))
    if (other !== undefined) {
      const s = await bind(`${other.ip}:0`)
      await s.tell(other, bytes(2))
      const m2 = await recv(w)
      expect(String(m2.dst)).toBe(String(other))
      expect(m2.src.ip).toBe(other.ip)
    }
  })

  it.skipIf(!hasV6)(
    `dual-stack [::] shows IPv4 senders as IPv4 and answers them (skipped if: ${NO_V6})`,
    async () => {
      const w = await bind('[::]:0')
      const ips = w.localAddrs().map((a) => a.ip)
      expect(ips).toContain('127.0.0.1')
      expect(ips).toContain('::1')
      expect(ips).not.toContain('::')
      const v4 = await bind('127.0.0.1:0')
      await v4.tell(parseUDPAddr(`127.0.0.1:${w.port}`), bytes(1))
      const m = await recv(w)
      expect(String(m.src)).toBe(`127.0.0.1:${v4.port}`)
      expect(String(m.dst)).toBe(`127.0.0.1:${w.port}`)
      await w.tell(m.src, bytes(2))
      const back = await recv(v4)
      expect(String(back.src)).toBe(`127.0.0.1:${w.port}`)

      const v6 = await bind('[::1]:0')
      await v6.tell(parseUDPAddr(`[::1]:${w.port}`), bytes(3))
      const m6 = await recv(w)
      expect(String(m6.src)).toBe(`[::1]:${v6.port}`)
      expect(String(m6.dst)).toBe(`[::1]:${w.port}`)
    },
  )

  it.skipIf(!hasV6)(
    `ipv6Only [::] lists and reaches IPv6 only (skipped if: ${NO_V6})`,
    async () => {
      const w = await bind('[::]:0', { ipv6Only: true })
      expect(w.localAddrs().every((a) => a.family === 6)).toBe(true)
      const err = await rejection(w.tell(parseUDPAddr('127.0.0.1:9'), bytes(1)))
      expect(isBadAddrError(err)).toBe(true)
    },
  )

  const linkLocal = hasV6 ? ifaceIPs('IPv6').find((ip) => ip.startsWith('fe80')) : undefined
  it.skipIf(linkLocal === undefined)(
    `link-local IPv6 with a zone: bind, tell, and dst on a wildcard bind (skipped if the host has no link-local IPv6 address: ${linkLocal ?? 'none'})`,
    async () => {
      const ll = linkLocal!
      const s = await bind(`[${ll}]:0`)
      expect(String(s.localAddrs()[0])).toBe(`[${ll}]:${s.port}`)
      const w = await bind('[::]:0', { ipv6Only: true })
      expect(w.localAddrs().map(String)).toContain(`[${ll}]:${w.port}`)
      await s.tell(parseUDPAddr(`[${ll}]:${w.port}`), bytes(1))
      const m = await recv(w)
      expect(String(m.src)).toBe(`[${ll}]:${s.port}`)
      expect(String(m.dst)).toBe(`[${ll}]:${w.port}`)
      await w.tell(m.src, bytes(2))
      expect(String((await recv(s)).src)).toBe(`[${ll}]:${w.port}`)
    },
  )

  it('refuses destinations of a family the socket cannot reach', async () => {
    const a = await bind('127.0.0.1:0')
    expect(isBadAddrError(await rejection(a.tell(parseUDPAddr('[::1]:9'), bytes(1))))).toBe(true)
    if (hasV6) {
      const b = await bind('[::1]:0')
      expect(isBadAddrError(await rejection(b.tell(parseUDPAddr('127.0.0.1:9'), bytes(1))))).toBe(
        true,
      )
    }
    expect(a.stats().sendErrors).toBe(0)
  })

  it('refuses broadcast unless opted in', async () => {
    const a = await bind('0.0.0.0:0')
    for (const text of ['255.255.255.255:9', '127.255.255.255:9']) {
      const err = await rejection(a.tell(parseUDPAddr(text), bytes(1)))
      expect(err, text).toMatchObject({ code: 'ERR_NOT_ALLOWED' })
    }
    // opted in: a directed broadcast on loopback reaches a wildcard socket
    const r = await bind('0.0.0.0:0')
    const s = await bind('127.0.0.1:0', { broadcast: true })
    await s.tell(parseUDPAddr(`127.255.255.255:${r.port}`), bytes(5))
    const m = await recv(r)
    expect(m.payload).toEqual(bytes(5))
  })

  it('parses strictly and rejects garbage destinations cleanly', async () => {
    const a = await bind('127.0.0.1:0')
    for (const bad of [
      '',
      '127.0.0.1',
      '127.0.0.1:0',
      'localhost:80',
      '[::1]:99999',
      ' 1.2.3.4:5',
    ]) {
      expect(() => a.parseAddr(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_BAD_ADDR' }))
    }
    const notAddr = await rejection(a.tell({ nope: 1 } as unknown as UDPAddr, bytes(1)))
    expect(notAddr).toBeInstanceOf(TypeError)
    const port0 = await rejection(
      a.tell({ ip: '127.0.0.1', port: 0 } as unknown as UDPAddr, bytes(1)),
    )
    expect(isBadAddrError(port0)).toBe(true)
    const notPayload = await rejection(
      a.tell(parseUDPAddr('127.0.0.1:9'), 'text' as unknown as Uint8Array),
    )
    expect(notPayload).toBeInstanceOf(TypeError)
    // an address-like object from elsewhere is accepted
    const b = await bind('127.0.0.1:0')
    await a.tell({ ip: '127.0.0.1', port: b.port } as unknown as UDPAddr, bytes(8))
    await waitUntil(() => b.stats().received === 1, 'the datagram at b')
    // a bad receive callback is refused before a message is taken
    const badFn = await rejection(b.receive(null as unknown as () => void))
    expect(badFn).toBeInstanceOf(TypeError)
    expect((await recv(b)).payload).toEqual(bytes(8))
  })

  it('rejects bad bind arguments and addresses that are not local', async () => {
    const baseline = udpWraps()
    expect(isBadAddrError(await rejection(UDPSwarm.bind('localhost:0')))).toBe(true)
    expect(isBadAddrError(await rejection(UDPSwarm.bind('127.0.0.1')))).toBe(true)
    expect(await rejection(UDPSwarm.bind({ host: '127.0.0.1', port: 70000 }))).toBeInstanceOf(
      RangeError,
    )
    expect(await rejection(UDPSwarm.bind('127.0.0.1:0', { mtu: 0 }))).toBeInstanceOf(RangeError)
    expect(await rejection(UDPSwarm.bind('127.0.0.1:0', { mtu: 70000 }))).toBeInstanceOf(RangeError)
    expect(await rejection(UDPSwarm.bind('127.0.0.1:0', { inboxItems: -1 }))).toBeInstanceOf(
      RangeError,
    )
    // 192.0.2.0/24 is documentation space: not an address of this host (unless it is)
    const foreign = ['192.0.2.250', '203.0.113.77'].find(
      (ip) => !Object.values(networkInterfaces()).some((l) => l?.some((i) => i.address === ip)),
    )!
    const err = await rejection(UDPSwarm.bind(`${foreign}:0`))
    expect(isBadAddrError(err)).toBe(true)
    expect((err as Error).cause).toMatchObject({ code: 'EADDRNOTAVAIL' })
    const ac = new AbortController()
    ac.abort(new Error('no'))
    expect(await rejection(UDPSwarm.bind('127.0.0.1:0', { signal: ac.signal }))).toBe(
      ac.signal.reason,
    )
    const s = await UDPSwarm.bind({ host: '127.0.0.1', port: 0 })
    await s.close()
    await new Promise((r) => setImmediate(() => setImmediate(r)))
    expect(udpWraps()).toBe(baseline)
  })
})

describe('UDPSwarm close', () => {
  it('rejects pending and later calls with ClosedError, idempotently', async () => {
    const a = await bind('127.0.0.1:0')
    const b = await bind('127.0.0.1:0')
    const pendingRecv = recv(a)
    const pendingTell = a.tell(b.localAddrs()[0]!, bytes(1))
    const c1 = a.close()
    const c2 = a.close()
    expect(c1).toBe(c2)
    expect(isClosedError(await rejection(pendingRecv))).toBe(true)
    expect(isClosedError(await rejection(pendingTell))).toBe(true)
    await c1
    expect(isClosedError(await rejection(recv(a)))).toBe(true)
    expect(isClosedError(await rejection(a.tell(b.localAddrs()[0]!, bytes(1))))).toBe(true)
    expect(a.localAddrs()).toHaveLength(1)
    await a[Symbol.asyncDispose]()
  })

  it('drops queued messages on close and counts them', async () => {
    const a = await bind('127.0.0.1:0')
    const b = await bind('127.0.0.1:0')
    for (let i = 0; i < 3; i++) await a.tell(b.localAddrs()[0]!, bytes(i))
    await waitUntil(() => b.stats().received === 3, '3 datagrams')
    await b.close()
    expect(b.stats().inbox).toMatchObject({ droppedClosed: 3, queued: 0 })
  })
})

describe('UDPSwarm socket errors', () => {
  it('counts socket errors and never crashes', async () => {
    // Catch the socket the swarm binds (the prototype is shared by every import of node:dgram).
    const proto = dgram.Socket.prototype as unknown as { bind: (...args: unknown[]) => unknown }
    const origBind = proto.bind
    let socket: dgram.Socket | undefined
    proto.bind = function (this: dgram.Socket, ...args: unknown[]) {
      socket = this
      return origBind.apply(this, args)
    }
    const seen: Error[] = []
    let s: UDPSwarm
    try {
      s = await bind('127.0.0.1:0', {
        onSocketError: (e) => {
          seen.push(e)
          throw new Error('a throwing hook is contained too')
        },
      })
    } finally {
      proto.bind = origBind
    }
    if (socket === undefined) throw new Error('socket not captured')
    socket.emit('error', Object.assign(new Error('boom'), { code: 'EIO' }))
    expect(s.stats().socketErrors).toBe(1)
    expect(seen.map((e) => e.message)).toEqual(['boom'])
    // still works
    const b = await bind('127.0.0.1:0')
    await s.tell(b.localAddrs()[0]!, bytes(1))
    expect((await recv(b)).payload).toEqual(bytes(1))
  })

  it('maps OS send errors to swarm errors with the OS error as cause', () => {
    const dst = parseUDPAddr('192.0.2.1:9')
    const os = (code: string) => Object.assign(new Error(`send ${code}`), { code })
    const cases: [string, string][] = [
      ['EMSGSIZE', 'ERR_MTU_EXCEEDED'],
      ['EHOSTUNREACH', 'ERR_UNREACHABLE'],
      ['ENETUNREACH', 'ERR_UNREACHABLE'],
      ['EACCES', 'ERR_NOT_ALLOWED'],
      ['EPERM', 'ERR_NOT_ALLOWED'],
      ['EINVAL', 'ERR_BAD_ADDR'],
      ['ENOBUFS', 'ERR_BUSY'],
      ['ECANCELED', 'ERR_CLOSED'],
      ['EWHATEVER', 'ERR_UNREACHABLE'],
    ]
    for (const [code, expected] of cases) {
      const cause = os(code)
      const err = sendError(cause, dst, 2000, 1232)
      expect(err, code).toMatchObject({ code: expected })
      expect(err.cause).toBe(cause)
    }
    const msg = sendError(os('EMSGSIZE'), dst, 2000, 1232)
    expect(msg).toMatchObject({ size: 2000, mtu: 1232 })
    expect(isUnreachableError(sendError('weird', dst, 1, 1))).toBe(true)
  })
})

describe('UDPAddr values from a swarm', () => {
  it('round-trip through parseAddr', async () => {
    const a = await bind('0.0.0.0:0')
    for (const addr of a.localAddrs()) {
      expect(a.parseAddr(addr.toString()).equals(addr)).toBe(true)
      expect(addr).toBeInstanceOf(UDPAddr)
    }
  })
})
