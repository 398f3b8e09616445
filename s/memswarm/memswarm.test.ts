import { monitorEventLoopDelay } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { isUnreachableError } from '../../core/index.js'
import { ManualClock } from '../../p2ptest/clock.js'
import { MemAddr, Realm, type TrafficEvent } from './index.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('memswarm', () => {
  it('addresses are node numbers; bad text is ERR_BAD_ADDR', () => {
    const realm = new Realm()
    const s = realm.newSwarm()
    expect(s.localAddrs().map(String)).toEqual(['0'])
    expect(s.parseAddr('17').n).toBe(17)
    for (const bad of ['', '01', '-1', '1.5', ' 1', '1e3', 'x', '99999999999999999']) {
      expect(() => s.parseAddr(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_BAD_ADDR' }))
    }
  })

  it('a tell to an unknown node is a counted drop; an ask is ERR_UNREACHABLE', async () => {
    const realm = new Realm()
    const a = realm.newSwarm()
    await a.tell(new MemAddr(42), bytes('x'))
    expect(realm.stats().noSuchNode).toBe(1)
    await expect(a.ask(new MemAddr(42), bytes('x'))).rejects.toSatisfy(isUnreachableError)
    await a.close()
  })

  it('an ask to a node that closes while the ask waits rejects ERR_UNREACHABLE', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const pending = a.ask(b.addr, bytes('x'))
    await b.close()
    await expect(pending).rejects.toSatisfy(isUnreachableError)
    await a.close()
  })

  it('the transform can alter and drop, and the log records fates', async () => {
    const events: TrafficEvent[] = []
    const realm = new Realm({
      transform: (m) =>
        text(m.payload) === 'drop'
          ? undefined
          : { ...m, payload: bytes(text(m.payload).toUpperCase()) },
      log: (e) => events.push(e),
    })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    await a.tell(b.addr, bytes('drop'))
    await a.tell(b.addr, bytes('keep'))
    await b.receive((m) => expect(text(m.payload)).toBe('KEEP'))
    expect(events.map((e) => e.fate)).toEqual(['transformed-away', 'sent', 'delivered'])
    await realm.close()
  })

  it('the fault schedule is reproducible from its seed', async () => {
    const run = async () => {
      const realm = new Realm({ loss: 0.3, duplicate: 0.2, seed: 99 })
      const [a, b] = [realm.newSwarm(), realm.newSwarm()]
      for (let i = 0; i < 500; i++) await a.tell(b.addr, bytes(String(i)))
      const st = realm.stats()
      await realm.close()
      return st
    }
    const [x, y] = [await run(), await run()]
    expect(x).toEqual(y)
    expect(x.lost).toBeGreaterThan(100)
    expect(x.lost).toBeLessThan(200)
    expect(x.duplicated).toBeGreaterThan(40)
  })

  it('latency holds messages until the clock says so, and close cancels the timers', async () => {
    const clock = new ManualClock()
    const realm = new Realm({ latencyMs: 50, clock })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    await a.tell(b.addr, bytes('late'))
    let got: string | undefined
    const receiving = b.receive((m) => {
      got = text(m.payload)
    })
    await clock.tick(49)
    expect(got).toBeUndefined()
    await clock.tick(1)
    await receiving
    expect(got).toBe('late')
    await a.tell(b.addr, bytes('never'))
    expect(clock.pending).toBe(1)
    await b.close()
    expect(clock.pending).toBe(0)
    await a.close()
  })

  it('a response larger than the mtu is an error, never truncated', async () => {
    const realm = new Realm({ mtu: 100 })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const served = b.serveAsk(() => new Uint8Array(101))
    await expect(a.ask(b.addr, bytes('x'))).rejects.toMatchObject({
      code: 'ERR_RESPONSE_TOO_LARGE',
    })
    await served
    await realm.close()
  })

  it('asks beyond the waiting limit fail as busy', async () => {
    const realm = new Realm({ askInboxItems: 2 })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const asks = [0, 1, 2].map((i) => a.ask(b.addr, bytes(String(i))))
    await expect(asks[2]).rejects.toMatchObject({
      code: 'ERR_ASK',
      reason: expect.stringContaining('too many'),
    })
    for (let i = 0; i < 2; i++) await b.serveAsk((r) => r.payload)
    expect((await Promise.all(asks.slice(0, 2))).map(text)).toEqual(['0', '1'])
    await realm.close()
  })

  it('the handler sees ctx.signal abort when the asker gives up', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const ac = new AbortController()
    let sawAbort!: Promise<void>
    const served = b.serveAsk(async (_req, ctx) => {
      sawAbort = new Promise((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }))
      ac.abort(new Error('give up'))
      await sawAbort
      return bytes('late')
    })
    await expect(a.ask(b.addr, bytes('x'), { signal: ac.signal })).rejects.toThrow('give up')
    await served
    await realm.close()
  })

  it('back-pressure: 100k tells with nobody receiving stay within the inbox budget, drops counted exactly, event loop responsive', async () => {
    const inboxItems = 1000
    const inboxBytes = 64 * 1024
    const realm = new Realm({ inboxItems, inboxBytes })
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const payload = new Uint8Array(100)
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    globalThis.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    const N = 100_000
    for (let i = 0; i < N; i++) {
      await a.tell(b.addr, payload)
      if (i % 100 === 0) await new Promise((r) => setImmediate(r))
    }
    delay.disable()
    const st = b.stats().inbox
    const kept = Math.min(inboxItems, Math.floor(inboxBytes / payload.length))
    expect(st.queued).toBe(kept)
    expect(st.queuedBytes).toBe(kept * payload.length)
    expect(st.droppedFull).toBe(N - kept)
    expect(realm.stats().inboxFull).toBe(N - kept)
    globalThis.gc?.()
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore
    const p99 = delay.percentile(99) / 1e6
    console.log(
      `back-pressure: ${N} tells, kept ${kept}, dropped ${st.droppedFull}, heap growth ${(heapGrowth / 1024).toFixed(0)} KiB, event-loop delay p99 ${p99.toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
    )
    // The memory bound is structural (queuedBytes above); heap growth is printed, not asserted
    // (the GC decides when garbage is reclaimed).
    await realm.close()
  })
})
