import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeUvarint, putUvarint, readUvarint, uvarintLength } from './uvarint.js'

describe('uvarint', () => {
  it('matches Go binary.PutUvarint on known values', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [16384, [0x80, 0x80, 0x01]],
      [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
      [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ]
    for (const [n, bytes] of cases) {
      expect([...encodeUvarint(n)]).toEqual(bytes)
      expect(readUvarint(Uint8Array.from(bytes))).toEqual([n, bytes.length])
    }
  })

  it('round-trips at any offset (property)', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.nat({ max: 8 }), (n, off) => {
        const buf = new Uint8Array(off + uvarintLength(n) + 3)
        const end = putUvarint(buf, off, n)
        expect(end).toBe(off + uvarintLength(n))
        expect(readUvarint(buf, off)).toEqual([n, end])
      }),
    )
  })

  it('rejects truncated, overlong and too-large encodings without throwing (property)', () => {
    expect(readUvarint(new Uint8Array([0x80]))).toBeUndefined()
    expect(readUvarint(new Uint8Array([]))).toBeUndefined()
    expect(readUvarint(new Uint8Array([0x80, 0x00]))).toBeUndefined()
    expect(readUvarint(new Uint8Array(9).fill(0xff))).toBeUndefined()
    expect(
      readUvarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10])),
    ).toBeUndefined()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 12 }), (bytes, off) => {
        const r = readUvarint(bytes, off)
        if (r !== undefined) {
          expect(r[1]).toBeGreaterThan(off)
          expect(r[1]).toBeLessThanOrEqual(bytes.length)
          expect([...encodeUvarint(r[0])]).toEqual([...bytes.subarray(off, r[1])])
        }
      }),
    )
  })

  it('rejects negative and unsafe values as arguments', () => {
    expect(() => encodeUvarint(-1)).toThrow(RangeError)
    expect(() => encodeUvarint(2 ** 53)).toThrow(RangeError)
    expect(() => encodeUvarint(1.5)).toThrow(RangeError)
  })
})
