import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  bytesCompare,
  payloadConcat,
  payloadCopy,
  payloadParts,
  payloadSize,
  prepend,
} from './payload.js'

describe('payload helpers', () => {
  it('concat of one part is that part (no copy); copy never aliases', () => {
    const a = Uint8Array.from([1, 2, 3])
    expect(payloadConcat(a)).toBe(a)
    expect(payloadConcat([a])).toBe(a)
    const c = payloadCopy(a)
    expect(c).toEqual(a)
    expect(c).not.toBe(a)
    c[0] = 9
    expect(a[0]).toBe(1)
  })

  it('size, concat and prepend agree (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 4 }),
        (parts, header) => {
          const whole = Uint8Array.from(parts.flatMap((p) => [...p]))
          expect(payloadSize(parts)).toBe(whole.length)
          expect(payloadConcat(parts)).toEqual(whole)
          expect(payloadCopy(parts)).toEqual(whole)
          expect(payloadConcat(prepend(header, parts))).toEqual(
            Uint8Array.from([...header, ...whole]),
          )
          expect(payloadParts(parts)).toBe(parts)
        },
      ),
    )
  })

  it('bytesCompare is lexicographic', () => {
    expect(bytesCompare(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0)
    expect(bytesCompare(Uint8Array.of(2), Uint8Array.of(1, 9))).toBeGreaterThan(0)
    expect(bytesCompare(Uint8Array.of(), Uint8Array.of())).toBe(0)
  })
})
