import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { isClosedError } from './errors.js'
import { CloseOnce, checkCall, linkedAbort, raceAbort } from './lifecycle.js'

function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length
}

describe('CloseOnce', () => {
  it('runs the close function once and returns the same promise', async () => {
    const c = new CloseOnce()
    let runs = 0
    const p1 = c.close(async () => {
      runs++
    })
    const p2 = c.close(async () => {
      runs++
    })
    expect(p1).toBe(p2)
    await p1
    expect(runs).toBe(1)
    expect(c.closed).toBe(true)
    expect(isClosedError(c.signal.reason)).toBe(true)
    expect(() => checkCall(c)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
  })
})

describe('raceAbort', () => {
  it('rejects with the first aborting signal reason and removes its listeners', async () => {
    const a = new AbortController()
    const b = new AbortController()
    const never = new Promise<void>(() => {})
    const p = raceAbort(never, a.signal, b.signal)
    expect(listeners(a.signal)).toBe(1)
    const reason = new Error('b')
    b.abort(reason)
    await expect(p).rejects.toBe(reason)
    expect(listeners(a.signal)).toBe(0)
  })

  it('removes listeners when the promise settles first', async () => {
    const a = new AbortController()
    await expect(raceAbort(Promise.resolve(5), a.signal)).resolves.toBe(5)
    expect(listeners(a.signal)).toBe(0)
  })

  it('many calls against one long-lived signal leave no listeners behind', async () => {
    const long = new AbortController()
    for (let i = 0; i < 1000; i++) await raceAbort(Promise.resolve(i), long.signal)
    expect(listeners(long.signal)).toBe(0)
  })
})

describe('linkedAbort', () => {
  it('aborts with the source reason and disposes its listeners', () => {
    const a = new AbortController()
    const { controller, dispose } = linkedAbort(a.signal, undefined)
    const reason = new Error('x')
    a.abort(reason)
    expect(controller.signal.reason).toBe(reason)
    dispose()
    const b = new AbortController()
    const linked = linkedAbort(b.signal)
    linked.dispose()
    expect(listeners(b.signal)).toBe(0)
  })
})
