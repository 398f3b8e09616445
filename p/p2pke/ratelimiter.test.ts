import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../p2ptest/index.js'
import {
  RATE_LIMIT_IDLE_MS,
  RATE_LIMIT_PACKETS_BURSTABLE,
  RATE_LIMIT_PACKETS_PER_SECOND,
  RateLimiter,
} from './ratelimiter.js'

interface WireGuardCases {
  constants: {
    packets_per_second: number
    packets_burstable: number
    garbage_collect_after_ns: number
  }
  addresses: string[]
  steps: { step: number; wait_ns: number; allowed: boolean; text: string }[]
}

const cases = JSON.parse(
  readFileSync(new URL('../../fixtures/wireguard-ratelimiter-cases.json', import.meta.url), 'utf8'),
) as WireGuardCases

describe('RateLimiter: wireguard-go ratelimiter_test.go cases', () => {
  it('uses the same constants', () => {
    expect(RATE_LIMIT_PACKETS_PER_SECOND).toBe(cases.constants.packets_per_second)
    expect(RATE_LIMIT_PACKETS_BURSTABLE).toBe(cases.constants.packets_burstable)
    expect(RATE_LIMIT_IDLE_MS * 1e6).toBe(cases.constants.garbage_collect_after_ns)
  })

  for (const [name, opts] of [
    ['default options', {}],
    ['global bucket off', { globalPacketsPerSecond: Number.POSITIVE_INFINITY }],
  ] as const) {
    it(`every step, every address (${name})`, () => {
      const rl = new RateLimiter(opts)
      let ns = 0
      for (const step of cases.steps) {
        ns += step.wait_ns + 1 // the Go test's timeSleep adds 1 ns to every wait
        for (const addr of cases.addresses) {
          expect(rl.allow(addr, ns / 1e6), `step ${step.step} (${step.text}) ${addr}`).toBe(
            step.allowed,
          )
        }
      }
      expect(rl.size).toBe(cases.addresses.length)
    })
  }
})

describe('RateLimiter', () => {
  it('lets exactly `burst` packets through at one instant, then one per packet interval', () => {
    const rl = new RateLimiter()
    for (let i = 0; i < 5; i++) expect(rl.allow('a', 0)).toBe(true)
    expect(rl.allow('a', 0)).toBe(false)
    expect(rl.allow('a', 49)).toBe(false)
    expect(rl.allow('a', 50)).toBe(true)
    expect(rl.allow('a', 50)).toBe(false)
    expect(rl.stats()).toMatchObject({ allowed: 6, limited: 3, entries: 1 })
  })

  it('charges nothing for a refused packet', () => {
    const rl = new RateLimiter()
    for (let i = 0; i < 5; i++) rl.allow('a', 0)
    for (let t = 0; t < 50; t++) expect(rl.allow('a', t)).toBe(false)
    expect(rl.allow('a', 50)).toBe(true)
    expect(rl.allow('a', 100)).toBe(true)
  })

  it('refills to the burst and no further', () => {
    const rl = new RateLimiter()
    for (let i = 0; i < 5; i++) rl.allow('a', 0)
    let n = 0
    while (rl.allow('a', 900)) n++
    expect(n).toBe(5)
  })

  it('keeps keys apart', () => {
    const rl = new RateLimiter()
    for (let i = 0; i < 5; i++) expect(rl.allow('a', 0)).toBe(true)
    expect(rl.allow('a', 0)).toBe(false)
    expect(rl.allow('b', 0)).toBe(true)
  })

  it('takes the time from the injected clock', () => {
    const clock = new ManualClock(1_000_000)
    const rl = new RateLimiter({ clock })
    for (let i = 0; i < 5; i++) expect(rl.allow('a')).toBe(true)
    expect(rl.allow('a')).toBe(false)
    clock.advance(50)
    expect(rl.allow('a')).toBe(true)
    clock.advance(RATE_LIMIT_IDLE_MS + 1)
    expect(rl.gc()).toBe(1)
    expect(rl.size).toBe(0)
  })

  it('mints nothing when the clock goes backwards', () => {
    const rl = new RateLimiter()
    for (let i = 0; i < 5; i++) rl.allow('a', 1000)
    expect(rl.allow('a', 0)).toBe(false)
    expect(rl.allow('a', 1000)).toBe(false)
    expect(rl.allow('a', 1050)).toBe(true)
  })

  it('caps all keys together with the global bucket, without charging refused keys', () => {
    const rl = new RateLimiter({ globalPacketsPerSecond: 100, globalBurst: 3 })
    expect(['a', 'b', 'c'].map((k) => rl.allow(k, 0))).toEqual([true, true, true])
    // Five refusals by the global bucket: had they been charged, 'd' would have nothing left.
    for (let i = 0; i < 5; i++) expect(rl.allow('d', 0)).toBe(false)
    expect(rl.stats()).toMatchObject({ allowed: 3, limitedGlobal: 5, limited: 0 })
    // 10 ms buys one global token.
    expect(rl.allow('d', 10)).toBe(true)
    expect(rl.allow('e', 10)).toBe(false)
    expect(rl.allow('e', 20)).toBe(true)
  })

  it('forgets idle keys after idleMs, on access and with gc()', () => {
    const rl = new RateLimiter()
    rl.allow('a', 0)
    rl.allow('b', 500)
    expect(rl.gc(1000)).toBe(0) // idle exactly 1000 ms: kept (WireGuard deletes only after more)
    expect(rl.gc(1000.5)).toBe(1)
    expect(rl.size).toBe(1)
    rl.allow('c', 3000) // collects 'b' on the way
    expect(rl.size).toBe(1)
    expect(rl.stats().expired).toBe(2)
  })

  it('refuses new keys while the table is full, keeps serving tracked ones, recovers after idleMs', () => {
    const rl = new RateLimiter({ maxEntries: 3 })
    expect(['a', 'b', 'c'].map((k) => rl.allow(k, 0))).toEqual([true, true, true])
    expect(rl.allow('d', 0)).toBe(false)
    expect(rl.allow('a', 10)).toBe(true)
    expect(rl.stats()).toMatchObject({ refusedFull: 1, entries: 3 })
    expect(rl.allow('d', 1000)).toBe(false) // nobody has been idle for more than 1000 ms yet
    expect(rl.stats()).toMatchObject({ refusedFull: 2, expired: 0 })
    expect(rl.allow('d', 1005)).toBe(true) // b and c expired; a (used at 10 ms) did not
    expect(rl.stats()).toMatchObject({ expired: 2, entries: 2 })
  })

  it('clear() forgets every key', () => {
    const rl = new RateLimiter()
    for (let i = 0; i < 5; i++) rl.allow('a', 0)
    rl.clear()
    expect(rl.size).toBe(0)
    expect(rl.allow('a', 0)).toBe(true)
  })

  it('rejects bad options and arguments', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new RateLimiter({ packetsPerSecond: bad })).toThrow(RangeError)
      expect(() => new RateLimiter({ burst: bad })).toThrow(RangeError)
      expect(() => new RateLimiter({ globalBurst: bad })).toThrow(RangeError)
      expect(() => new RateLimiter({ idleMs: bad })).toThrow(RangeError)
    }
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => new RateLimiter({ globalPacketsPerSecond: bad })).toThrow(RangeError)
    }
    for (const bad of [0, 1.5, -3, Number.NaN]) {
      expect(() => new RateLimiter({ maxEntries: bad })).toThrow(RangeError)
    }
    expect(() => new RateLimiter({ idleMs: 249 })).toThrow(/idleMs/) // 5 packets at 20/s refill in 250 ms
    expect(() => new RateLimiter({ idleMs: 250 })).not.toThrow()
    const rl = new RateLimiter()
    expect(() => rl.allow(1 as unknown as string, 0)).toThrow(TypeError)
    expect(() => rl.allow('a', Number.NaN)).toThrow(RangeError)
    expect(() => rl.gc(Number.POSITIVE_INFINITY)).toThrow(RangeError)
  })
})

describe('RateLimiter properties', () => {
  /** Calls as (key, dt) pairs; times are the running sum of dt. */
  const calls = (keys: number) =>
    fc.array(
      fc.record({
        key: fc.integer({ min: 0, max: keys - 1 }),
        dt: fc.oneof(
          fc.constant(0),
          fc.integer({ min: 0, max: 300 }),
          fc.double({ min: 0, max: 5, noNaN: true }),
        ),
      }),
      { maxLength: 300 },
    )

  /** Checks: in every window [t_i, t_j] between allowed times, count <= burst + (t_j - t_i) / cost. */
  function withinBound(times: number[], burst: number, perSecond: number): boolean {
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        const ti = times[i] as number
        const tj = times[j] as number
        if (j - i + 1 > burst + ((tj - ti) * perSecond) / 1000 + 1e-9) return false
      }
    }
    return true
  }

  it('never allows more than burst + rate·t per key over any window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 10 }),
        calls(4),
        (pps, burst, seq) => {
          const rl = new RateLimiter({
            packetsPerSecond: pps,
            burst,
            globalPacketsPerSecond: Number.POSITIVE_INFINITY,
            idleMs: Math.max(RATE_LIMIT_IDLE_MS, (burst * 1000) / pps),
          })
          const allowed: number[][] = [[], [], [], []]
          let now = 0
          for (const { key, dt } of seq) {
            now += dt
            if (rl.allow(`k${key}`, now)) allowed[key]?.push(now)
          }
          return allowed.every((times) => withinBound(times, burst, pps))
        },
      ),
    )
  })

  it('never allows more than globalBurst + globalRate·t in total over any window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        calls(50),
        (gpps, gburst, seq) => {
          const rl = new RateLimiter({ globalPacketsPerSecond: gpps, globalBurst: gburst })
          const allowed: number[] = []
          let now = 0
          for (const { key, dt } of seq) {
            now += dt
            if (rl.allow(`k${key}`, now)) allowed.push(now)
          }
          return withinBound(allowed, gburst, gpps)
        },
      ),
    )
  })

  it('never tracks more than maxEntries keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), calls(1000), (maxEntries, seq) => {
        const rl = new RateLimiter({ maxEntries })
        let now = 0
        for (const { key, dt } of seq) {
          now += dt * 10
          rl.allow(`k${key}`, now)
          if (rl.size > maxEntries || rl.stats().entries !== rl.size) return false
        }
        return true
      }),
    )
  })

  it('gives a key its full burst once it has been idle for the refill time', () => {
    fc.assert(
      fc.property(calls(3), fc.integer({ min: 250, max: 5000 }), (seq, idle) => {
        const rl = new RateLimiter()
        let now = 0
        for (const { key, dt } of seq) {
          now += dt
          rl.allow(`k${key}`, now)
        }
        now += idle
        for (let i = 0; i < RATE_LIMIT_PACKETS_BURSTABLE; i++)
          if (!rl.allow('k0', now)) return false
        return !rl.allow('k0', now)
      }),
    )
  })
})
