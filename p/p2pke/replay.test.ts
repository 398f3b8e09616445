import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_NONCE, REPLAY_WINDOW_SIZE } from './constants.js'
import { ReplayWindow } from './replay.js'

interface Step {
  step?: number
  expr?: string
  counter?: string
  range?: { from: string; to: string; step: number }
  expect: boolean
}
interface Profile {
  WINDOW: string
  T_LIM: string
  LIMIT: string
  sequence_test_concrete: { step: number; counter: string; expect: boolean }[]
}
const cases = JSON.parse(
  readFileSync(new URL('../../fixtures/wireguard-replay-cases.json', import.meta.url), 'utf8'),
) as {
  profiles: Record<string, Profile>
  bulk_tests: { tests: { name: string; steps: Step[] }[] }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** Evaluates the fixture's small expressions: an integer, or NAME, NAME+k, NAME-k. */
function evaluate(expr: string, names: Record<string, bigint>): bigint {
  const m = /^([A-Z_]+)?([+-]?)(\d*)$/.exec(expr.replace(/\s+/g, ''))
  if (m === null) throw new Error(`cannot evaluate ${expr}`)
  const base = m[1] === undefined ? 0n : names[m[1]]!
  const k = m[3] === '' ? 0n : BigInt(m[3]!)
  return m[2] === '-' ? base - k : base + k
}

describe('ReplayWindow: wireguard-replay-cases.json', () => {
  it('has the window WireGuard has', () => {
    for (const p of Object.values(cases.profiles)) expect(String(REPLAY_WINDOW_SIZE)).toBe(p.WINDOW)
  })

  // The go-p2p profile's limit (2^32 − 2) is P2PKE's: every step can be expressed.
  it('passes the 34-step sequence with the go-p2p P2PKE profile (limit 2^32 − 2)', () => {
    const p = cases.profiles['go-p2p-p2pke']!
    expect(BigInt(p.LIMIT)).toBe(BigInt(MAX_NONCE))
    const w = new ReplayWindow(MAX_NONCE)
    expect(p.sequence_test_concrete).toHaveLength(34)
    for (const s of p.sequence_test_concrete) {
      expect({ step: s.step, ok: w.accept(Number(s.counter)) }).toEqual({
        step: s.step,
        ok: s.expect,
      })
    }
  })

  // wireguard-go and Linux use 64-bit counters; steps 25–34 test limits near 2^64, which a
  // JavaScript number cannot hold (P2PKE counters are 32-bit). Steps 1–24 run; they are the
  // same window logic.
  for (const name of ['wireguard-go', 'linux-kernel']) {
    it(`passes the expressible steps (counters below 2^53) of the ${name} profile`, () => {
      const p = cases.profiles[name]!
      const w = new ReplayWindow()
      let ran = 0
      for (const s of p.sequence_test_concrete) {
        const c = BigInt(s.counter)
        if (c > MAX_SAFE) break
        expect({ step: s.step, ok: w.accept(Number(c)) }).toEqual({ step: s.step, ok: s.expect })
        ran++
      }
      expect(ran).toBe(24)
    })
  }

  for (const [name, p] of Object.entries(cases.profiles)) {
    for (const t of cases.bulk_tests.tests) {
      it(`${t.name} (${name})`, () => {
        const names = { WINDOW: BigInt(p.WINDOW), T_LIM: BigInt(p.T_LIM), LIMIT: BigInt(p.LIMIT) }
        const limit = BigInt(p.LIMIT) > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(p.LIMIT)
        const w = new ReplayWindow(limit)
        let n = 0
        for (const s of t.steps) {
          if (s.range !== undefined) {
            const from = evaluate(s.range.from, names)
            const to = evaluate(s.range.to, names)
            const step = BigInt(s.range.step)
            for (let c = from; step > 0n ? c <= to : c >= to; c += step) {
              if (w.accept(Number(c)) !== s.expect) throw new Error(`${t.name}: counter ${c}`)
              n++
            }
          } else {
            expect(w.accept(Number(evaluate(s.counter!, names)))).toBe(s.expect)
            n++
          }
        }
        expect(n).toBeGreaterThan(REPLAY_WINDOW_SIZE)
      })
    }
  }
})

/** The obvious model: a set of everything seen and the highest counter. */
class ModelWindow {
  readonly seen = new Set<number>()
  highest = 0
  constructor(readonly limit: number) {}
  accept(c: number): boolean {
    if (c >= this.limit) return false
    if (c <= this.highest && this.highest - c > REPLAY_WINDOW_SIZE) return false
    if (this.seen.has(c)) return false
    this.seen.add(c)
    if (c > this.highest) this.highest = c
    return true
  }
}

describe('ReplayWindow: properties', () => {
  // Counters clustered so that repeats, slides by less and more than the ring, and the limit
  // all happen often.
  const counter = fc.oneof(
    fc.integer({ min: 0, max: 200 }),
    fc.integer({ min: 0, max: 3 * REPLAY_WINDOW_SIZE }),
    fc.integer({ min: MAX_NONCE - 2 * REPLAY_WINDOW_SIZE, max: MAX_NONCE + 2 }),
  )

  it('accepts exactly what the set model accepts', () => {
    fc.assert(
      fc.property(fc.array(counter, { maxLength: 400 }), (counters) => {
        const w = new ReplayWindow(MAX_NONCE)
        const m = new ModelWindow(MAX_NONCE)
        for (const c of counters) {
          const predicted = w.check(c)
          const ok = w.accept(c)
          expect(ok).toBe(predicted)
          expect(ok).toBe(m.accept(c))
          expect(w.highest).toBe(m.highest)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('check() never changes the window', () => {
    fc.assert(
      fc.property(fc.array(counter, { maxLength: 100 }), fc.array(counter), (before, probes) => {
        const a = new ReplayWindow(MAX_NONCE)
        const b = new ReplayWindow(MAX_NONCE)
        for (const c of before) {
          a.accept(c)
          b.accept(c)
        }
        for (const c of probes) a.check(c)
        for (const c of [...probes, ...before]) expect(a.accept(c)).toBe(b.accept(c))
      }),
      { numRuns: 200 },
    )
  })

  it('accepts every counter once in any order within the window', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(
          Array.from({ length: 300 }, (_, i) => i + 16),
          { minLength: 1 },
        ),
        (order) => {
          const w = new ReplayWindow(MAX_NONCE)
          for (const c of order) expect(w.accept(c)).toBe(true)
          for (const c of order) expect(w.accept(c)).toBe(false)
        },
      ),
    )
  })

  it('refuses non-integers, negatives and the limit; reset forgets', () => {
    const w = new ReplayWindow(100)
    for (const c of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 100, 101]) {
      expect(w.check(c)).toBe(false)
      expect(w.accept(c)).toBe(false)
    }
    expect(w.accept(99)).toBe(true)
    expect(w.accept(99)).toBe(false)
    w.reset()
    expect(w.highest).toBe(0)
    expect(w.accept(99)).toBe(true)
    expect(() => new ReplayWindow(-1)).toThrow(RangeError)
    expect(() => new ReplayWindow(2 ** 60)).toThrow(RangeError)
  })

  it('handles counters above 2^32 (block numbers past 32 bits)', () => {
    const w = new ReplayWindow()
    const big = 2 ** 40 + 5
    expect(w.accept(big)).toBe(true)
    expect(w.accept(big)).toBe(false)
    expect(w.accept(big - REPLAY_WINDOW_SIZE)).toBe(true)
    expect(w.accept(big - REPLAY_WINDOW_SIZE - 1)).toBe(false)
    expect(w.accept(big + 64 * 200)).toBe(true)
    expect(w.accept(big)).toBe(false)
  })
})
