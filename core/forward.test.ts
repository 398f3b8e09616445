import { describe, expect, it } from 'vitest'
import {
  type AskHandler,
  type Asker,
  type CallOptions,
  ClosedError,
  type IncomingAsk,
  type Message,
  type Payload,
  newAskInbox,
  serveOne,
} from './index.js'
import { MemAddr } from '../s/memswarm/index.js'
import { forwardAsks } from './forward.js'

/** An Asker whose incoming asks the test injects by hand. */
class FakeSource implements Asker<MemAddr> {
  readonly inbox = newAskInbox<MemAddr>({ maxItems: 100 })
  waiting = 0
  ask(): Promise<Uint8Array> {
    return Promise.reject(new Error('not used'))
  }
  async serveAsk(handler: AskHandler<MemAddr>, opts?: CallOptions): Promise<void> {
    this.waiting++
    try {
      await serveOne(this.inbox, handler, opts)
    } finally {
      this.waiting--
    }
  }
  /** Injects a request; resolves with the response or rejects with the failure. */
  request(payload: number, signal = new AbortController().signal): Promise<Payload> {
    return new Promise((resolve, reject) => {
      const ask: IncomingAsk<MemAddr> = {
        req: { src: new MemAddr(1), dst: new MemAddr(0), payload: Uint8Array.of(payload) },
        signal,
        respond: resolve,
        fail: reject,
      }
      this.inbox.put(ask)
    })
  }
}

async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

describe('forwardAsks', () => {
  it('keeps one serveAsk waiting and at most maxInFlight asks taken', async () => {
    const src = new FakeSource()
    const out = newAskInbox<MemAddr>({ maxItems: 100 })
    const stop = new AbortController()
    const done = forwardAsks(src, (req) => ({ inbox: out, req }), {
      maxInFlight: 2,
      signal: stop.signal,
    })
    await turns()
    expect(src.waiting).toBe(1)
    const answers = [1, 2, 3].map((n) => src.request(n))
    await turns()
    // Two taken (handed to `out`), none waiting: the third stays in the source.
    expect(out.length).toBe(2)
    expect(src.inbox.length).toBe(1)
    expect(src.waiting).toBe(2)
    await serveOne(out, (req) => [req.payload, Uint8Array.of(0)])
    expect(await answers[0]).toEqual([Uint8Array.of(1), Uint8Array.of(0)])
    await turns()
    expect(src.inbox.length).toBe(0)
    await serveOne(out, (req) => req.payload)
    await serveOne(out, (req) => req.payload)
    expect(await answers[2]).toEqual(Uint8Array.of(3))
    stop.abort(new ClosedError())
    await done
    expect(src.waiting).toBe(0)
  })

  it('answers with the outer failure, or the route error', async () => {
    const src = new FakeSource()
    const out = newAskInbox<MemAddr>({ maxItems: 1 })
    const stop = new AbortController()
    const done = forwardAsks(
      src,
      (req: Message<MemAddr>) => {
        if (req.payload[0] === 9) throw new Error('no route')
        return { inbox: out, req }
      },
      { maxInFlight: 8, signal: stop.signal },
    )
    await expect(src.request(9)).rejects.toThrow('no route')
    const first = src.request(1)
    await turns()
    await expect(src.request(2)).rejects.toThrow(/too many asks/)
    await serveOne(out, () => {
      throw new Error('handler broke')
    })
    await expect(first).rejects.toThrow('handler broke')
    stop.abort(new ClosedError())
    await done
  })

  it('frees the slot when the asker stops waiting', async () => {
    const src = new FakeSource()
    const out = newAskInbox<MemAddr>({ maxItems: 10 })
    const stop = new AbortController()
    const done = forwardAsks(src, (req) => ({ inbox: out, req }), {
      maxInFlight: 1,
      signal: stop.signal,
    })
    const gone = new AbortController()
    const first = src.request(1, gone.signal)
    await turns()
    expect(src.waiting).toBe(1) // the one in flight, no idle one
    gone.abort(new Error('gave up'))
    await expect(first).rejects.toThrow('gave up')
    await turns()
    const second = src.request(2)
    await turns()
    // The dead ask is skipped by the outer server, the live one is served.
    await serveOne(out, (req) => req.payload)
    expect(await second).toEqual(Uint8Array.of(2))
    stop.abort(new ClosedError())
    await done
  })

  it('on stop fails what is in flight and resolves', async () => {
    const src = new FakeSource()
    const out = newAskInbox<MemAddr>({ maxItems: 10 })
    const stop = new AbortController()
    const done = forwardAsks(src, (req) => ({ inbox: out, req }), {
      maxInFlight: 4,
      signal: stop.signal,
    })
    const pending = [src.request(1), src.request(2)]
    await turns()
    stop.abort(new ClosedError())
    for (const p of pending) await expect(p).rejects.toThrow(/closed/)
    await done
    expect(src.waiting).toBe(0)
  })

  it('resolves at once on an aborted signal and refuses a bad maxInFlight', async () => {
    const src = new FakeSource()
    const out = newAskInbox<MemAddr>()
    await forwardAsks(src, (req) => ({ inbox: out, req }), {
      maxInFlight: 1,
      signal: AbortSignal.abort(),
    })
    expect(src.waiting).toBe(0)
    expect(() =>
      forwardAsks(src, (req) => ({ inbox: out, req }), {
        maxInFlight: 0,
        signal: new AbortController().signal,
      }),
    ).toThrow(RangeError)
  })
})
