import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Assembly, Bitset, partOf } from './reassembly.js'
import { partCount } from './wire.js'

describe('Bitset', () => {
  it('tracks members and encodes LSB first from the first missing index', () => {
    const b = new Bitset(20)
    expect(b.add(0)).toBe(true)
    expect(b.add(0)).toBe(false)
    b.add(9)
    expect(b.count).toBe(2)
    expect(b.encode(100)).toEqual({ base: 1, bitmap: Uint8Array.of(0x00, 0x01) })
    expect(b.encode(1)).toEqual({ base: 1, bitmap: new Uint8Array(0) })
    expect(b.add(20)).toBe(false)
    expect(b.add(-1)).toBe(false)
    expect(b.missing(3)).toEqual([1, 2, 3])
    for (let i = 0; i < 20; i++) b.add(i)
    expect(b.full).toBe(true)
    expect(b.encode(10)).toEqual({ base: 20, bitmap: new Uint8Array(0) })
    expect(b.missing(3)).toEqual([])
  })

  it('merge takes everything below base and the bitmap from base on', () => {
    const b = new Bitset(30)
    expect(b.merge(Uint8Array.of(0b101), 10)).toBe(12)
    expect(b.missing(5)).toEqual([11, 13, 14, 15, 16])
    expect(b.merge(Uint8Array.of(0xff, 0xff, 0xff), 25)).toBe(18)
    expect(b.full).toBe(true)
  })

  it('encode then merge round-trips, and a cut encoding only loses members (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(100),
        fc.nat(30),
        (size, raw, base, cut) => {
          const b = new Bitset(size)
          b.merge(raw, base)
          for (let i = 0; i < size; i++) {
            const j = i - base
            const bit = i < base || (j < raw.length * 8 && (raw[j >> 3]! & (1 << (j & 7))) !== 0)
            expect(b.has(i)).toBe(bit)
          }
          const full = b.encode(1000)
          const c = new Bitset(size)
          c.merge(full.bitmap, full.base)
          expect(c.count).toBe(b.count)
          expect(c.missing(size)).toEqual(b.missing(size))
          // Cut to fit an mtu: the first missing index is still reported.
          const part = b.encode(cut)
          expect(part.base).toBe(b.firstMissing())
          const d = new Bitset(size)
          d.merge(part.bitmap, part.base)
          for (let i = 0; i < size; i++) if (d.has(i)) expect(b.has(i)).toBe(true)
          expect(d.firstMissing()).toBe(b.firstMissing())
        },
      ),
    )
  })
})

describe('Bitset against a model (a plain set of indices)', () => {
  type Op =
    | { op: 'add'; i: number }
    | { op: 'merge'; base: number; bitmap: Uint8Array }
    | { op: 'encode'; room: number }
    | { op: 'missing'; max: number }
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), i: fc.integer({ min: -2, max: 300 }) }),
    fc.record({
      op: fc.constant('merge' as const),
      base: fc.integer({ min: 0, max: 320 }),
      bitmap: fc.uint8Array({ maxLength: 40 }),
    }),
    fc.record({ op: fc.constant('encode' as const), room: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ op: fc.constant('missing' as const), max: fc.integer({ min: 0, max: 300 }) }),
  )

  it('add, merge, encode, missing and firstMissing agree with the model (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(op, { maxLength: 30 }),
        (size, ops) => {
          const b = new Bitset(size)
          const model = new Set<number>()
          const firstMissing = () => {
            let i = 0
            while (i < size && model.has(i)) i++
            return i
          }
          for (const o of ops) {
            if (o.op === 'add') {
              const fresh = o.i >= 0 && o.i < size && !model.has(o.i)
              if (fresh) model.add(o.i)
              expect(b.add(o.i)).toBe(fresh)
            } else if (o.op === 'merge') {
              const before = model.size
              for (let i = 0; i < Math.min(o.base, size); i++) model.add(i)
              for (let j = 0; j < o.bitmap.length * 8; j++) {
                if (o.base + j < size && (o.bitmap[j >> 3]! & (1 << (j & 7))) !== 0) {
                  model.add(o.base + j)
                }
              }
              expect(b.merge(o.bitmap, o.base)).toBe(model.size - before)
            } else if (o.op === 'encode') {
              const { base, bitmap } = b.encode(o.room)
              expect(base).toBe(firstMissing())
              expect(bitmap.length).toBeLessThanOrEqual(o.room)
              if (bitmap.length > 0) expect(bitmap[bitmap.length - 1]).not.toBe(0)
              const n = Math.min(size - base, o.room * 8)
              for (let j = 0; j < n; j++) {
                const bit = j < bitmap.length * 8 && (bitmap[j >> 3]! & (1 << (j & 7))) !== 0
                expect(bit).toBe(model.has(base + j))
              }
            } else {
              const want: number[] = []
              for (let i = 0; i < size && want.length < o.max; i++) if (!model.has(i)) want.push(i)
              expect(b.missing(o.max)).toEqual(want)
            }
            expect(b.count).toBe(model.size)
            expect(b.firstMissing()).toBe(firstMissing())
            expect(b.full).toBe(model.size === size)
          }
        },
      ),
    )
  })
})

describe('Assembly', () => {
  it('refuses a first part that claims more than the limit, before allocating', () => {
    expect(Assembly.check({ total: 1001, index: 0, count: 2 }, 600, 1000)).toBeUndefined()
    expect(Assembly.check({ total: 1000, index: 0, count: 2 }, 600, 1000)).toBe(600)
    expect(Assembly.check({ total: 1000, index: 1, count: 2 }, 400, 1000)).toBe(600)
    expect(Assembly.check({ total: 1000, index: 1, count: 2 }, 700, 1000)).toBeUndefined()
  })

  it('joins parts in any order, with duplicates, exactly once and intact (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
        (data, partLen, order) => {
          const count = partCount(data.length, partLen)
          // Every index at least once, in a shuffled order with repeats.
          const seq = [
            ...Array.from({ length: count }, (_, i) => i),
            ...order.map((n) => n % count),
          ]
          for (let i = seq.length - 1; i > 0; i--) {
            const j = order[i % order.length]! % (i + 1)
            ;[seq[i], seq[j]] = [seq[j]!, seq[i]!]
          }
          const first = seq[0]!
          const len = Assembly.check(
            { total: data.length, index: first, count },
            partOf(data, partLen, first).length,
            data.length,
          )
          expect(len).toBeDefined()
          const a = new Assembly(data.length, count, len!)
          let completions = 0
          for (const i of seq) {
            const r = a.add({ total: data.length, index: i, count }, partOf(data, partLen, i))
            expect(r).not.toBe('inconsistent')
            if (r === 'complete') completions++
          }
          expect(completions).toBe(1)
          expect(a.take()).toEqual(data)
        },
      ),
    )
  })

  it('refuses parts that disagree with the first one', () => {
    const a = new Assembly(1000, 2, 600)
    expect(a.add({ total: 1000, index: 0, count: 2 }, new Uint8Array(600))).toBe('stored')
    expect(a.add({ total: 999, index: 1, count: 2 }, new Uint8Array(399))).toBe('inconsistent')
    expect(a.add({ total: 1000, index: 1, count: 3 }, new Uint8Array(400))).toBe('inconsistent')
    expect(a.add({ total: 1000, index: 1, count: 2 }, new Uint8Array(401))).toBe('inconsistent')
    expect(a.add({ total: 1000, index: 0, count: 2 }, new Uint8Array(600))).toBe('duplicate')
    expect(() => a.take()).toThrow()
    expect(a.add({ total: 1000, index: 1, count: 2 }, new Uint8Array(400))).toBe('complete')
  })
})
