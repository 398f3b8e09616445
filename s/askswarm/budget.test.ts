import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ReplyBudget } from './budget.js'

const opts = { factor: 3, windowMs: 1000, maxSources: 4 }

describe('ReplyBudget', () => {
  it('allows replies while credit is positive: one overdraft, then nothing until more arrives', () => {
    const b = new ReplyBudget(opts)
    // Nothing received: nothing may be sent.
    expect(b.take('s', 1, 0)).toBe(false)
    b.received('s', 100, 0)
    expect(b.take('s', 200, 0)).toBe(true)
    // 100 of 300 left: a 1200-byte reply overdraws, the next is refused.
    expect(b.take('s', 1200, 0)).toBe(true)
    expect(b.take('s', 1, 0)).toBe(false)
    // 1100 in debt: 367 bytes received pay it back and earn 1 byte of credit.
    b.received('s', 367, 10)
    expect(b.take('s', 1, 10)).toBe(true)
    expect(b.take('s', 1, 10)).toBe(false)
  })

  it('credit expires after one to two windows, and so does an overdraft', () => {
    const b = new ReplyBudget(opts)
    b.received('s', 100, 999)
    // Still there in the next window ...
    expect(b.take('s', 10, 1500)).toBe(true)
    // ... gone two windows on.
    expect(b.take('s', 10, 2000)).toBe(false)
    b.received('s', 10, 2000)
    expect(b.take('s', 5000, 2000)).toBe(true)
    expect(b.take('s', 1, 2999)).toBe(false)
    expect(b.take('s', 1, 3000)).toBe(false)
    // The overdraft is dropped once its bucket is two windows old; fresh input counts again.
    b.received('s', 1, 4000)
    expect(b.take('s', 1, 4000)).toBe(true)
  })

  it('keeps sources apart and remembers at most maxSources (the stalest is forgotten)', () => {
    const b = new ReplyBudget(opts)
    for (const s of ['a', 'b', 'c', 'd']) b.received(s, 10, 0)
    // 'a' is active again in a later window: 'b' is now the stalest.
    b.received('a', 10, 1000)
    b.received('e', 10, 1000)
    expect(b.size).toBe(4)
    expect(b.take('b', 1, 1000)).toBe(false)
    expect(b.take('a', 1, 1000)).toBe(true)
    expect(b.take('e', 1, 1000)).toBe(true)
    b.clear()
    expect(b.size).toBe(0)
  })

  it('refuses bad options', () => {
    expect(() => new ReplyBudget({ ...opts, factor: 0.5 })).toThrow(RangeError)
    expect(() => new ReplyBudget({ ...opts, windowMs: 0 })).toThrow(RangeError)
    expect(() => new ReplyBudget({ ...opts, maxSources: 0 })).toThrow(RangeError)
  })

  it('charged ≤ factor × received + one reply per window spanned, over any run (property)', () => {
    const MAX_REPLY = 1500
    const event = fc.record({
      dt: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 3000 }),
      ),
      received: fc.boolean(),
      bytes: fc.integer({ min: 1, max: MAX_REPLY }),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.array(event, { maxLength: 300 }),
        (t0, evs) => {
          const b = new ReplyBudget(opts)
          let now = t0
          let received = 0
          let charged = 0
          for (const e of evs) {
            now += e.dt
            if (e.received) {
              b.received('s', e.bytes, now)
              received += e.bytes
            } else if (b.take('s', e.bytes, now)) {
              charged += e.bytes
            }
            const windows = Math.floor(now / 1000) - Math.floor(t0 / 1000) + 1
            expect(charged).toBeLessThanOrEqual(3 * received + windows * MAX_REPLY)
          }
        },
      ),
    )
  })
})
