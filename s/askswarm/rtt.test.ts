import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RttEstimator, RttTable, resolveRttOptions } from './rtt.js'

const opts = resolveRttOptions({ initialRtoMs: 1000, minRtoMs: 100, maxRtoMs: 2000 })

describe('RttEstimator (RFC 6298)', () => {
  it('starts at the initial RTO', () => {
    const e = new RttEstimator(opts)
    expect(e.rto).toBe(1000)
    expect(e.srtt).toBeUndefined()
  })

  it('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR (2.2)', () => {
    const e = new RttEstimator(opts)
    e.sample(200)
    expect(e.srtt).toBe(200)
    expect(e.rttvar).toBe(100)
    expect(e.rto).toBe(600)
  })

  it('later samples: RTTVAR from the old SRTT, then SRTT (2.3)', () => {
    const e = new RttEstimator(opts)
    e.sample(200)
    e.sample(400)
    // RTTVAR = 3/4 * 100 + 1/4 * |200 - 400| = 125; SRTT = 7/8 * 200 + 1/8 * 400 = 225
    expect(e.rttvar).toBe(125)
    expect(e.srtt).toBe(225)
    expect(e.rto).toBe(725)
  })

  it('clamps to [min, max] and uses the granularity when RTTVAR is 0', () => {
    const e = new RttEstimator(
      resolveRttOptions({ minRtoMs: 100, maxRtoMs: 2000, granularityMs: 5 }),
    )
    for (let i = 0; i < 100; i++) e.sample(1)
    expect(e.rto).toBe(100)
    const g = new RttEstimator(resolveRttOptions({ minRtoMs: 1, maxRtoMs: 2000, granularityMs: 5 }))
    for (let i = 0; i < 200; i++) g.sample(10)
    expect(g.rto).toBeCloseTo(15, 0)
    const big = new RttEstimator(opts)
    big.sample(5000)
    expect(big.rto).toBe(2000)
  })

  it('ignores negative and non-finite samples', () => {
    const e = new RttEstimator(opts)
    e.sample(-1)
    e.sample(Number.NaN)
    e.sample(Number.POSITIVE_INFINITY)
    expect(e.samples).toBe(0)
    expect(e.rto).toBe(1000)
  })

  it('backs off exponentially up to the maximum (5.5)', () => {
    const e = new RttEstimator(opts)
    e.sample(100) // RTO = 100 + 4*50 = 300
    expect([0, 1, 2, 3, 4, 40].map((a) => e.backoff(a))).toEqual([300, 600, 1200, 2000, 2000, 2000])
  })

  it('RTO always stays within its bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 50 }),
        fc.nat(64),
        (samples, attempt) => {
          const e = new RttEstimator(opts)
          for (const s of samples) e.sample(s)
          expect(e.rto).toBeGreaterThanOrEqual(100)
          expect(e.rto).toBeLessThanOrEqual(2000)
          expect(e.backoff(attempt)).toBeLessThanOrEqual(2000)
          expect(e.backoff(attempt)).toBeGreaterThanOrEqual(e.rto)
        },
      ),
    )
  })

  it('refuses bad options', () => {
    expect(() => resolveRttOptions({ minRtoMs: 0 })).toThrow(RangeError)
    expect(() => resolveRttOptions({ minRtoMs: 500, maxRtoMs: 100 })).toThrow(RangeError)
    expect(() => resolveRttOptions({ initialRtoMs: Number.NaN })).toThrow(RangeError)
  })
})

describe('RttTable', () => {
  it('keeps one estimator per peer and forgets the least recently used', () => {
    const t = new RttTable({}, 2)
    t.get('a').sample(10)
    t.get('b').sample(20)
    t.get('a')
    t.get('c')
    expect(t.peek('b')).toBeUndefined()
    expect(t.peek('a')?.srtt).toBe(10)
    expect(t.size).toBe(2)
  })
})
