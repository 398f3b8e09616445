import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type ChannelCodec,
  stringCodec,
  uint16Codec,
  uint32Codec,
  uint64Codec,
  varintCodec,
} from './wire.js'

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

interface Case<Id> {
  codec: ChannelCodec<Id>
  ids: fc.Arbitrary<Id>
}

const cases: Case<unknown>[] = [
  { codec: stringCodec, ids: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { codec: uint16Codec, ids: fc.integer({ min: 0, max: 0xffff }) },
  { codec: uint32Codec, ids: fc.integer({ min: 0, max: 0xffff_ffff }) },
  { codec: uint64Codec, ids: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
  { codec: varintCodec, ids: fc.maxSafeNat() },
] as Case<unknown>[]

describe('p2pmux headers', () => {
  it('encode as go-p2p does', () => {
    expect([...stringCodec.encode('foo')]).toEqual([3, 0x66, 0x6f, 0x6f])
    expect([...stringCodec.encode('')]).toEqual([0])
    expect([...stringCodec.encode('é')]).toEqual([2, 0xc3, 0xa9])
    expect([...stringCodec.encode('x'.repeat(200))].slice(0, 3)).toEqual([0xc8, 0x01, 0x78])
    expect([...uint16Codec.encode(0x1234)]).toEqual([0x12, 0x34])
    expect([...uint32Codec.encode(0x01020304)]).toEqual([1, 2, 3, 4])
    expect([...uint64Codec.encode(0x0102030405060708n)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect([...varintCodec.encode(300)]).toEqual([0xac, 0x02])
  })

  for (const { codec, ids } of cases) {
    describe(codec.kind, () => {
      it('round-trips every id with any body (property)', () => {
        fc.assert(
          fc.property(ids, fc.uint8Array({ maxLength: 32 }), (id, body) => {
            codec.check(id)
            const header = codec.encode(id)
            const buf = join(header, body)
            const d = codec.decode(buf)
            expect(d.ok).toBe(true)
            if (!d.ok) return
            expect(d.id).toEqual(id)
            expect(d.bodyOffset).toBe(header.length)
            expect(buf.subarray(d.bodyOffset)).toEqual(body)
          }),
          { numRuns: 500 },
        )
      })

      it('decodes random and mutated bytes without throwing; what decodes re-encodes to the same prefix', () => {
        const mutated = fc
          .tuple(
            ids,
            fc.uint8Array({ maxLength: 8 }),
            fc.nat(),
            fc.integer({ min: 0, max: 255 }),
            fc.nat(),
          )
          .map(([id, body, at, v, cut]) => {
            const buf = join(codec.encode(id), body)
            if (buf.length > 0) buf[at % buf.length] = v
            return buf.subarray(0, cut % (buf.length + 1))
          })
        fc.assert(
          fc.property(fc.oneof(fc.uint8Array({ maxLength: 24 }), mutated), (buf) => {
            const d = codec.decode(buf)
            if (!d.ok) {
              expect(['malformed', 'unrepresentable']).toContain(d.reason)
              return
            }
            expect(d.bodyOffset).toBeLessThanOrEqual(buf.length)
            // One encoding per id: the header bytes are exactly the canonical ones.
            expect(buf.subarray(0, d.bodyOffset)).toEqual(codec.encode(d.id))
          }),
          { numRuns: 2000 },
        )
      })

      it('headerLength agrees with decode on random, mutated and valid bytes (property)', () => {
        const valid = fc
          .tuple(ids, fc.uint8Array({ maxLength: 8 }))
          .map(([id, body]) => join(codec.encode(id), body))
        const mutated = valid.chain((buf) =>
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([at, v, cut]) => {
            const b = buf.slice()
            if (b.length > 0) b[at % b.length] = v
            return b.subarray(0, cut % (b.length + 1))
          }),
        )
        fc.assert(
          fc.property(fc.oneof(fc.uint8Array({ maxLength: 24 }), valid, mutated), (buf) => {
            const n = codec.headerLength!(buf)
            const d = codec.decode(buf)
            expect(n).toBeGreaterThanOrEqual(0)
            expect(n).toBeLessThanOrEqual(buf.length)
            if (d.ok) expect(n).toBe(d.bodyOffset)
            else if (d.reason === 'malformed') expect(n).toBe(0)
          }),
          { numRuns: 2000 },
        )
      })
    })
  }

  it('refuses short and malformed headers', () => {
    const malformed = (c: ChannelCodec<unknown>, bytes: number[]) =>
      expect(c.decode(Uint8Array.from(bytes)), `${c.kind} ${bytes}`).toEqual({
        ok: false,
        reason: 'malformed',
      })
    malformed(uint16Codec as ChannelCodec<unknown>, [1])
    malformed(uint32Codec as ChannelCodec<unknown>, [1, 2, 3])
    malformed(uint64Codec as ChannelCodec<unknown>, [1, 2, 3, 4, 5, 6, 7])
    malformed(stringCodec as ChannelCodec<unknown>, [])
    malformed(stringCodec as ChannelCodec<unknown>, [5, 0x61]) // length past the end
    malformed(stringCodec as ChannelCodec<unknown>, [0x80, 0x00]) // non-minimal length
    malformed(varintCodec as ChannelCodec<unknown>, [])
    malformed(varintCodec as ChannelCodec<unknown>, [0x80])
    malformed(varintCodec as ChannelCodec<unknown>, [0x81, 0x00]) // non-minimal
    malformed(
      varintCodec as ChannelCodec<unknown>,
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
    ) // > 64 bits
  })

  it('tells names no channel can have from garbage', () => {
    expect(stringCodec.decode(Uint8Array.of(1, 0xff))).toEqual({
      ok: false,
      reason: 'unrepresentable',
    })
    // 2^53 is a valid Go varint id but not a safe integer.
    expect(
      varintCodec.decode(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10)),
    ).toEqual({
      ok: false,
      reason: 'unrepresentable',
    })
    expect(
      varintCodec.decode(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)),
    ).toEqual({
      ok: false,
      reason: 'unrepresentable',
    })
    expect(
      varintCodec.decode(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f)),
    ).toEqual({
      ok: true,
      id: Number.MAX_SAFE_INTEGER,
      bodyOffset: 8,
    })
  })

  it('checks ids from callers', () => {
    expect(() => stringCodec.check('\ud800')).toThrow(RangeError)
    expect(() => stringCodec.check(5 as unknown as string)).toThrow(TypeError)
    expect(() => uint16Codec.check(0x10000)).toThrow(RangeError)
    expect(() => uint16Codec.check(-1)).toThrow(RangeError)
    expect(() => uint16Codec.check(1.5)).toThrow(RangeError)
    expect(() => uint32Codec.check(2 ** 32)).toThrow(RangeError)
    expect(() => uint64Codec.check(1n << 64n)).toThrow(RangeError)
    expect(() => uint64Codec.check(-1n)).toThrow(RangeError)
    expect(() => uint64Codec.check(1 as unknown as bigint)).toThrow(RangeError)
    expect(() => varintCodec.check(2 ** 53)).toThrow(RangeError)
    expect(() => varintCodec.check(Number.NaN)).toThrow(RangeError)
    for (const ok of ['', 'x', '🎉', 'a\u0000b']) expect(() => stringCodec.check(ok)).not.toThrow()
  })
})
