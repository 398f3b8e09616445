/**
 * The Asker tests: asks between pairs, concurrency, failing and slow handlers, size limits,
 * abort and close.
 */
import assert from 'node:assert/strict'
import {
  errorCode,
  isAskError,
  isClosedError,
  isMTUExceededError,
  serveAsks,
} from '../core/index.js'
import type { Addr, AskHandler, AskSwarm, Swarm } from '../core/index.js'
import { tag, tagText } from './delivery.js'
import { type Resolved, type TestRunner, addrOf, withSwarms } from './harness.js'
import { pseudoRandomBytes } from './swarm.js'

/** Registers the ask tests. */
export function askTests<A extends Addr, S extends Swarm<A>>(
  t: TestRunner,
  o: Resolved<A, S>,
): void {
  const { it } = t
  const asking = (swarms: S[]) => swarms as unknown as AskSwarm<A>[]
  const echo: AskHandler<A> = (req) => [tag('re'), req.payload]
  const maxAsk = (s: S, dst: A) => (o.maxAskSize ? o.maxAskSize(s, dst) : s.mtu(dst))

  it('one ask gets its response', () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      const served = b!.serveAsk(echo)
      const res = await a!.ask(addrOf(b!), tag('q'))
      assert.equal(tagText(res), 'req')
      await served
    }))

  it(`asks between all ordered pairs of ${o.pairs} swarms, three rounds`, () =>
    withSwarms(o, o.pairs, async (swarms, deadline) => {
      const all = asking(swarms)
      const serving = all.map((s, j) =>
        serveAsks(s, (req) => tag('from', j, tagText(req.payload)), { signal: deadline }),
      )
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          all.flatMap((a, i) =>
            all.map(async (b, j) => {
              if (i === j) return
              const res = await a.ask(addrOf(b), tag(round, i, j), { signal: deadline })
              assert.equal(tagText(res), `from:${j}:${round}:${i}:${j}`)
            }),
          ),
        )
      }
      await Promise.all(all.map((s) => s.close()))
      await Promise.all(serving)
    }))

  it('100 concurrent asks to one server all succeed', () =>
    withSwarms(o, 2, async (swarms, deadline) => {
      const [a, b] = asking(swarms)
      const serving = serveAsks(b!, echo, { concurrency: 8, signal: deadline })
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, k) => a!.ask(addrOf(b!), tag(k), { signal: deadline })),
      )
      for (const [k, r] of results.entries()) assert.equal(tagText(r), `re${k}`)
      await b!.close()
      await serving
    }))

  it('a throwing handler gives ERR_ASK at the caller and the server keeps serving', () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      const failing = b!.serveAsk(() => {
        throw new Error('handler failed on purpose')
      })
      await assert.rejects(
        a!.ask(addrOf(b!), tag('boom')),
        isAskError,
        'a handler throw did not give ERR_ASK',
      )
      await failing
      const ok = b!.serveAsk(echo)
      assert.equal(tagText(await a!.ask(addrOf(b!), tag('again'))), 'reagain')
      await ok
    }))

  it("a handler slower than the caller's deadline: the caller rejects with its signal's reason and the server survives", () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const slow = b!.serveAsk(async (req) => {
        await gate
        return req.payload
      })
      const reason = new Error('caller deadline')
      const ac = new AbortController()
      const timer = setTimeout(() => ac.abort(reason), 300)
      await assert.rejects(
        a!.ask(addrOf(b!), tag('slow'), { signal: ac.signal }),
        (e) => e === reason,
      )
      clearTimeout(timer)
      release()
      await slow
      const ok = b!.serveAsk(echo)
      assert.equal(tagText(await a!.ask(addrOf(b!), tag('after'))), 'reafter')
      await ok
    }))

  it('request and response of exactly the maximum size; one byte more is an error', () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      const dst = addrOf(b!)
      const max = maxAsk(swarms[0]!, dst)
      const big = pseudoRandomBytes(max, 3)
      const served = b!.serveAsk((req) => {
        assert.equal(req.payload.length, max)
        return pseudoRandomBytes(max, 4)
      })
      const res = await a!.ask(dst, big)
      assert.deepEqual(res, pseudoRandomBytes(max, 4))
      await served
      await assert.rejects(
        a!.ask(dst, new Uint8Array(max + 1)),
        isMTUExceededError,
        'an oversize request was not rejected with ERR_MTU_EXCEEDED',
      )
      const tooBig = b!.serveAsk(() => new Uint8Array(max + 1))
      await assert.rejects(
        a!.ask(dst, tag('big')),
        (e) => errorCode(e) !== undefined,
        'an oversize response did not fail with a coded error',
      )
      await tooBig
    }))

  it('multi-part requests and responses', () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      const served = b!.serveAsk((req) => [req.payload, new Uint8Array(0), tag('!')])
      const res = await a!.ask(addrOf(b!), [tag('a'), new Uint8Array(0), tag('b')])
      assert.equal(tagText(res), 'ab!')
      await served
    }))

  it('an aborted ask rejects with the reason; an aborted serveAsk too, and the next serveAsk serves', () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      const reason = new Error('abort ask')
      const pre = new AbortController()
      pre.abort(reason)
      await assert.rejects(
        a!.ask(addrOf(b!), tag('x'), { signal: pre.signal }),
        (e) => e === reason,
      )
      const ac = new AbortController()
      const waiting = b!.serveAsk(echo, { signal: ac.signal })
      ac.abort(reason)
      await assert.rejects(waiting, (e) => e === reason)
      const served = b!.serveAsk(echo)
      assert.equal(tagText(await a!.ask(addrOf(b!), tag('y'))), 'rey')
      await served
    }))

  it('close: pending serveAsk and ask reject with ERR_CLOSED, later calls too', () =>
    withSwarms(o, 2, async (swarms) => {
      const [a, b] = asking(swarms)
      const pendingServe = a!.serveAsk(echo)
      // Nobody serves at b: the ask stays pending whether or not its request has arrived.
      const pendingAsk = a!.ask(addrOf(b!), tag('hang'))
      await a!.close()
      await assert.rejects(
        pendingServe,
        isClosedError,
        'pending serveAsk did not reject with ERR_CLOSED',
      )
      await assert.rejects(pendingAsk, isClosedError, 'pending ask did not reject with ERR_CLOSED')
      await assert.rejects(a!.ask(addrOf(b!), tag('x')), isClosedError)
      await assert.rejects(a!.serveAsk(echo), isClosedError)
    }))
}
