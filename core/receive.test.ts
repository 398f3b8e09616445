import { describe, expect, it } from 'vitest'
import { Realm } from '../s/memswarm/index.js'
import { composeAskSwarm, composeSecureAskSwarm, isAsker, isSecure } from './compose.js'
import { pumpMessages } from './pump.js'
import { discardTells, messages, serveAsks } from './receive.js'

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const bytes = (s: string) => new TextEncoder().encode(s)

describe('messages()', () => {
  it('yields every message in order and ends when the swarm closes', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    for (let i = 0; i < 5; i++) await a.tell(b.addr, bytes(`m${i}`))
    const got: string[] = []
    for await (const m of messages(b)) {
      got.push(text(m.payload))
      if (got.length === 5) void b.close()
    }
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    await a.close()
  })

  it('throws the signal reason on abort', async () => {
    const realm = new Realm()
    const b = realm.newSwarm()
    const ac = new AbortController()
    const reason = new Error('stop')
    const it = messages(b, { signal: ac.signal })[Symbol.asyncIterator]()
    const next = it.next()
    ac.abort(reason)
    await expect(next).rejects.toBe(reason)
    await b.close()
  })

  it('breaking out does not lose the next message', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    await a.tell(b.addr, bytes('one'))
    await a.tell(b.addr, bytes('two'))
    for await (const m of messages(b)) {
      expect(text(m.payload)).toBe('one')
      break
    }
    await b.receive((m) => expect(text(m.payload)).toBe('two'))
    await realm.close()
  })
})

describe('serveAsks()', () => {
  it('runs at most `concurrency` handlers at once and resolves on close', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    let running = 0
    let peak = 0
    const gates: Array<() => void> = []
    const serving = serveAsks(
      b,
      async (req) => {
        running++
        peak = Math.max(peak, running)
        await new Promise<void>((r) => gates.push(r))
        running--
        return req.payload
      },
      { concurrency: 3 },
    )
    const asks = Array.from({ length: 10 }, (_, i) => a.ask(b.addr, bytes(`q${i}`)))
    // Release handlers one at a time as they start; the peak must never pass 3.
    let released = 0
    while (released < 10) {
      await new Promise((r) => setImmediate(r))
      const g = gates.shift()
      if (g) {
        g()
        released++
      }
    }
    expect((await Promise.all(asks)).map(text)).toEqual(
      Array.from({ length: 10 }, (_, i) => `q${i}`),
    )
    expect(peak).toBe(3)
    await b.close()
    await serving
    await a.close()
  })

  it('resolves on abort and rejects a bad concurrency', async () => {
    const realm = new Realm()
    const b = realm.newSwarm()
    const ac = new AbortController()
    const serving = serveAsks(b, (r) => r.payload, { signal: ac.signal })
    ac.abort(new Error('done'))
    await expect(serving).resolves.toBeUndefined()
    await expect(serveAsks(b, (r) => r.payload, { concurrency: 0 })).rejects.toThrow(RangeError)
    await b.close()
  })
})

describe('discardTells()', () => {
  it('drains the inbox until close', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const draining = discardTells(b)
    for (let i = 0; i < 100; i++) await a.tell(b.addr, bytes('x'))
    await new Promise((r) => setImmediate(r))
    expect(b.stats().inbox.handed).toBe(100)
    await b.close()
    await draining
    await a.close()
  })
})

describe('compose', () => {
  it('joins a swarm with an asker and a secure by explicit delegation', async () => {
    const realm = new Realm()
    const key = new Uint8Array(32).fill(3)
    const [a, b] = [realm.newSecureSwarm(key), realm.newSecureSwarm(new Uint8Array(32))]
    const composed = composeSecureAskSwarm(a, a, a)
    expect(isAsker(composed)).toBe(true)
    expect(isSecure(composed)).toBe(true)
    expect(composed.publicKey()).toBe(key)
    const served = b.serveAsk((r) => r.payload)
    expect(text(await composed.ask(b.addr, bytes('hi')))).toBe('hi')
    await served
    const plain = composeAskSwarm(b, b)
    expect(isSecure(plain)).toBe(false)
    expect(plain.localAddrs()[0]?.toString()).toBe(b.addr.toString())
    await composed.close()
    expect(a.closed).toBe(true)
    await plain.close()
  })
})

describe('serveOne', () => {
  it('a handler that returns something that is not a payload fails the ask instead of throwing', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const served = b.serveAsk((() => undefined) as unknown as () => Uint8Array)
    await expect(a.ask(b.addr, bytes('x'))).rejects.toMatchObject({
      code: 'ERR_ASK',
      reason: expect.stringContaining('must return'),
    })
    await expect(served).resolves.toBeUndefined()
    await realm.close()
  })
})

describe('pumpMessages', () => {
  it('hands every message on and resolves when the inner swarm closes', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const got: string[] = []
    const loop = pumpMessages(b, (m) => got.push(text(m.payload)))
    for (const m of ['1', '2', '3']) await a.tell(b.addr, bytes(m))
    await new Promise((r) => setImmediate(r))
    await b.close()
    await expect(loop).resolves.toBeUndefined()
    expect(got).toEqual(['1', '2', '3'])
    await a.close()
  })

  it('resolves with the error when the callback throws', async () => {
    const realm = new Realm()
    const [a, b] = [realm.newSwarm(), realm.newSwarm()]
    const boom = new Error('boom')
    const loop = pumpMessages(b, () => {
      throw boom
    })
    await a.tell(b.addr, bytes('x'))
    await expect(loop).resolves.toBe(boom)
    await realm.close()
  })
})
