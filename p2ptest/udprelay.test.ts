import { waitUntil } from './wait.js'
import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { closeSocket } from '../s/udpswarm/socket.js'
import { type UDPEndpoint, UDPRelay, type UDPRelayOptions, type UDPRelayStats } from './udprelay.js'

/** A raw socket that records what it receives (the relay is tested below any swarm). */
interface Peer {
  socket: dgram.Socket
  addr: UDPEndpoint
  got: { seq: number; from: string }[]
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((f) => f()))
})

async function peer(host = '127.0.0.1'): Promise<Peer> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
  await new Promise<void>((resolve) => socket.bind(0, host, resolve))
  const p: Peer = { socket, addr: { ip: host, port: socket.address().port }, got: [] }
  socket.on('message', (buf, rinfo) => {
    p.got.push({ seq: buf.readUInt32BE(0), from: `${rinfo.address}|${rinfo.port}` })
  })
  cleanups.push(() => closeSocket(socket))
  return p
}

async function relay(opts: UDPRelayOptions): Promise<UDPRelay> {
  const r = await UDPRelay.start(opts)
  cleanups.push(() => r.close())
  return r
}

function send(from: Peer, to: UDPEndpoint, seq: number): Promise<void> {
  const buf = Buffer.alloc(16)
  buf.writeUInt32BE(seq, 0)
  return new Promise((resolve, reject) =>
    from.socket.send(buf, to.port, to.ip, (err) => (err ? reject(err) : resolve())),
  )
}

/** Polls a condition (no fixed sleeps): resolves once it holds, fails after a long deadline. */

/**
 * Sends seq numbers first..first+n-1 from `from` to `to` through `r`, in batches that the relay
 * confirms before the next (so no socket buffer overflows on a loaded machine), then waits for
 * every forwarded copy to reach `at`.
 */
async function pump(r: UDPRelay, from: Peer, to: UDPEndpoint, at: Peer, n: number, first = 0) {
  const base = r.stats().received
  const atBase = at.got.length
  const fwdBase = r.stats().forwarded
  for (let i = 0; i < n; i += 50) {
    const k = Math.min(50, n - i)
    await Promise.all(Array.from({ length: k }, (_, j) => send(from, to, first + i + j)))
    await waitUntil(
      () => r.stats().received >= base + i + k,
      () => `relay to receive ${base + i + k}, has ${r.stats().received}`,
    )
  }
  await waitUntil(
    () => r.stats().queued === 0 && at.got.length - atBase === r.stats().forwarded - fwdBase,
    () => `receiver to get ${r.stats().forwarded - fwdBase}, has ${at.got.length - atBase}`,
  )
}

const key = (e: UDPEndpoint) => `${e.ip}|${e.port}`

function inversions(seqs: number[]): number {
  let n = 0
  let max = -1
  for (const s of seqs) {
    if (s < max) n++
    else max = s
  }
  return n
}

describe('UDPRelay without impairments', () => {
  it('passes everything in order, both ways, each side seeing the other as a proxy', async () => {
    const r = await relay({ seed: 1 })
    const a = await peer()
    const b = await peer()
    const { proxyA, proxyB } = await r.link(a.addr, b.addr)
    expect(key(proxyA)).not.toBe(key(proxyB))
    expect(r.proxyOf(a.addr)).toEqual(proxyA)

    await pump(r, a, proxyB, b, 500)
    expect(b.got.map((g) => g.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i))
    expect(new Set(b.got.map((g) => g.from))).toEqual(new Set([key(proxyA)]))

    await pump(r, b, proxyA, a, 100, 1000)
    expect(a.got.map((g) => g.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i))
    expect(new Set(a.got.map((g) => g.from))).toEqual(new Set([key(proxyB)]))

    expect(r.stats()).toMatchObject({
      received: 600,
      scheduled: 600,
      forwarded: 600,
      dropped: 0,
      duplicated: 0,
      reordered: 0,
      unknownSource: 0,
      proxies: 2,
    })
  })

  it('links one endpoint with several, through one proxy of its own', async () => {
    const r = await relay({})
    const [a, b, c] = [await peer(), await peer(), await peer()]
    const ab = await r.link(a.addr, b.addr)
    const ac = await r.link(a.addr, c.addr)
    expect(ab.proxyA).toEqual(ac.proxyA)
    await pump(r, a, ab.proxyB, b, 3)
    await pump(r, a, ac.proxyB, c, 2)
    expect(b.got).toHaveLength(3)
    expect(c.got).toHaveLength(2)
    // B and C are not linked with each other: B's datagram to C's proxy is dropped
    await send(b, ac.proxyB, 99)
    await waitUntil(
      () => r.stats().unknownSource === 1,
      () => 'the unlinked datagram',
    )
    expect(c.got).toHaveLength(2)
  })

  it('drops and counts datagrams from strangers', async () => {
    const r = await relay({})
    const [a, b, stranger] = [await peer(), await peer(), await peer()]
    const { proxyB } = await r.link(a.addr, b.addr)
    await send(stranger, proxyB, 7)
    await waitUntil(
      () => r.stats().unknownSource === 1,
      () => 'the stranger datagram',
    )
    await pump(r, a, proxyB, b, 1, 8)
    expect(b.got.map((g) => g.seq)).toEqual([8])
  })

  it('fronts a target for any number of senders (target mode)', async () => {
    const server = await peer()
    const r = await relay({ target: server.addr })
    const front = r.targetAddr
    const c1 = await peer()
    const c2 = await peer()
    await send(c1, front, 1)
    await send(c2, front, 2)
    await waitUntil(
      () => server.got.length === 2,
      () => 'two datagrams at the server',
    )
    const from = new Map(server.got.map((g) => [g.seq, g.from]))
    expect(from.get(1)).not.toBe(from.get(2))
    // the server answers whoever it saw; each client hears the front address
    const [ip, port] = from.get(1)!.split('|') as [string, string]
    await new Promise<void>((res) =>
      server.socket.send(Buffer.from([0, 0, 0, 9]), Number(port), ip, () => res()),
    )
    await waitUntil(
      () => c1.got.length === 1,
      () => 'the answer at client 1',
    )
    expect(c1.got[0]).toEqual({ seq: 9, from: key(front) })
    expect(c2.got).toHaveLength(0)
    expect(r.stats().proxies).toBe(3)
  })

  it.each([
    { loss: 2 },
    { loss: -0.1 },
    { duplicate: Number.NaN },
    { burstLength: 0 },
    { reorderGap: 1.5 },
    { delayMs: -1 },
    { maxQueued: -1 },
    { seed: 0.5 },
  ] as UDPRelayOptions[])('rejects the option %o', async (opts) => {
    await expect(UDPRelay.start(opts)).rejects.toBeInstanceOf(RangeError)
  })

  it('rejects endpoints of the wrong family and bad ports', async () => {
    const r = await relay({})
    await expect(
      r.link({ ip: '::1', port: 5 }, { ip: '127.0.0.1', port: 6 }),
    ).rejects.toBeInstanceOf(RangeError)
    await expect(
      r.link({ ip: '127.0.0.1', port: 0 }, { ip: '127.0.0.1', port: 6 }),
    ).rejects.toBeInstanceOf(RangeError)
    await expect(
      r.link({ ip: '127.0.0.1', port: 6 }, { ip: '127.0.0.1', port: 6 }),
    ).rejects.toBeInstanceOf(RangeError)
  })
})

describe('UDPRelay schedule', () => {
  const lossy: UDPRelayOptions = { seed: 42, loss: 0.2, duplicate: 0.1, reorder: 0.1 }

  async function run(opts: UDPRelayOptions, n: number) {
    const r = await relay(opts)
    const a = await peer()
    const b = await peer()
    const { proxyB } = await r.link(a.addr, b.addr)
    await pump(r, a, proxyB, b, n)
    const stats = r.stats()
    await r.close()
    return { stats, seqs: b.got.map((g) => g.seq) }
  }

  const decisions = (s: UDPRelayStats) => ({
    scheduled: s.scheduled,
    dropped: s.dropped,
    duplicated: s.duplicated,
    reordered: s.reordered,
    forwarded: s.forwarded,
  })

  it('is reproducible: the same seed and traffic give the same decisions', async () => {
    const first = await run(lossy, 400)
    const second = await run(lossy, 400)
    expect(decisions(second.stats)).toEqual(decisions(first.stats))
    expect([...second.seqs].sort((x, y) => x - y)).toEqual([...first.seqs].sort((x, y) => x - y))
    const other = await run({ ...lossy, seed: 43 }, 400)
    expect([...other.seqs].sort((x, y) => x - y)).not.toEqual([...first.seqs].sort((x, y) => x - y))
  })

  it('drops, duplicates and reorders at the configured rates (2000 datagrams)', async () => {
    const n = 2000
    const p = { loss: 0.1, duplicate: 0.1, reorder: 0.1 }
    const { stats, seqs } = await run({ seed: 7, ...p }, n)
    const within = (observed: number, trials: number, prob: number) => {
      const sd = Math.sqrt(trials * prob * (1 - prob))
      expect(
        Math.abs(observed - trials * prob),
        `${observed} of ${trials} at p=${prob}`,
      ).toBeLessThan(5 * sd)
    }
    expect(stats.scheduled).toBe(n)
    within(stats.dropped, n, p.loss)
    const kept = n - stats.dropped
    within(stats.duplicated, kept, p.duplicate)
    within(stats.reordered, kept, p.reorder)
    expect(stats.forwarded).toBe(kept + stats.duplicated)
    // what the receiver saw agrees with the counters
    expect(seqs).toHaveLength(stats.forwarded)
    expect(new Set(seqs).size).toBe(kept)
    expect(seqs.length - new Set(seqs).size).toBe(stats.duplicated)
    expect(inversions(seqs)).toBeGreaterThan(0)
  })

  it('drops in bursts of burstLength', async () => {
    const n = 1000
    const { stats, seqs } = await run({ seed: 3, loss: 0.05, burstLength: 4 }, n)
    expect(stats.dropped).toBeGreaterThan(0)
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
    const have = new Set(seqs)
    let run_ = 0
    const runs: number[] = []
    for (let s = 0; s < n; s++) {
      if (!have.has(s)) run_++
      else if (run_ > 0) {
        runs.push(run_)
        run_ = 0
      }
    }
    // every complete gap is a whole number of bursts (a final one may be cut short)
    for (const len of runs) expect(len % 4).toBe(0)
    expect(runs.reduce((x, y) => x + y, 0) + run_).toBe(stats.dropped)
  })

  it('delays without reordering when there is no jitter, and reorders with jitter', async () => {
    const fixed = await run({ delayMs: 2 }, 200)
    expect(fixed.seqs).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(fixed.stats.delayed).toBe(200)
    const jittery = await run({ seed: 5, delayMs: 1, jitterMs: 20 }, 200)
    expect([...jittery.seqs].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    )
    expect(inversions(jittery.seqs)).toBeGreaterThan(0)
  })

  it('bounds the queue, counts the overflow, and close frees every socket and timer', async () => {
    const count = (type: string) =>
      process.getActiveResourcesInfo().filter((t) => t === type).length
    const before = { udp: count('UDPWrap'), timers: count('Timeout') }
    const r = await UDPRelay.start({ delayMs: 600_000, maxQueued: 10 })
    const a = await peer()
    const b = await peer()
    const { proxyB } = await r.link(a.addr, b.addr)
    for (let i = 0; i < 15; i++) await send(a, proxyB, i)
    await waitUntil(
      () => r.stats().received === 15,
      () => '15 datagrams at the relay',
    )
    expect(r.stats()).toMatchObject({ queued: 10, delayed: 10, droppedQueueFull: 5, forwarded: 0 })
    expect(count('Timeout')).toBeGreaterThan(before.timers)
    const closing = r.close()
    expect(r.close()).toBe(closing)
    await closing
    expect(r.stats()).toMatchObject({ queued: 0, droppedClosed: 10, proxies: 0 })
    await closeSocket(a.socket)
    await closeSocket(b.socket)
    cleanups.length = 0
    expect(count('UDPWrap')).toBe(before.udp)
    expect(count('Timeout')).toBe(before.timers)
    await expect(r.link(a.addr, b.addr)).rejects.toThrow(/closed/)
  })

  it('applies new impairments from configure() on', async () => {
    const r = await relay({})
    const a = await peer()
    const b = await peer()
    const { proxyB } = await r.link(a.addr, b.addr)
    await pump(r, a, proxyB, b, 20)
    r.configure({ loss: 1 })
    await pump(r, a, proxyB, b, 20, 20)
    expect(r.stats()).toMatchObject({ dropped: 20, forwarded: 20 })
    expect(() => r.configure({ loss: 5 })).toThrow(RangeError)
  })
})

describe('UDPRelay over IPv6', async () => {
  const hasV6 = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket('udp6')
    s.once('error', () => s.close(() => resolve(false)))
    s.bind(0, '::1', () => s.close(() => resolve(true)))
  })
  it.skipIf(!hasV6)(`relays between ::1 endpoints (skipped if ::1 cannot be bound)`, async () => {
    const r = await relay({ host: '::1' })
    const a = await peer('::1')
    const b = await peer('::1')
    const { proxyA, proxyB } = await r.link(a.addr, b.addr)
    await pump(r, a, proxyB, b, 10)
    expect(b.got.map((g) => g.from)).toEqual(Array(10).fill(key(proxyA)))
  })
})
