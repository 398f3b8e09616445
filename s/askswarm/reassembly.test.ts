import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Assembly, Bitset, partOf } from './reassembly.js'
import { partCount } from './wire.js'

describe('Bitset', () => {
  it('tracks members and encodes LSB first, trailing zero bytes left out', () => {
    const b = new Bitset(20)
    expect(b.add(0)).toBe(true)
    expect(b.add(0)).toBe(false)
    b.add(9)
    expect(b.count).toBe(2)
    expect([...b.encode(100)]).toEqual([0x01, 0x02])
    expect([...b.encode(1)]).toEqual([0x01])
    expect(b.add(20)).toBe(false)
    expect(b.add(-1)).toBe(false)
    expect(b.missing(3)).toEqual([1, 2, 3])
    expect(b.missing(2, 19)).toEqual([19, 1])
  })

  it('encode then merge round-trips; bits past the size are ignored (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.uint8Array({ maxLength: 40 }),
        (size, raw) => {
          const b = new Bitset(size)
          b.merge(raw)
          for (let i = 0; i < size; i++) {
            const bit = i < raw.length * 8 && (raw[i >> 3]! & (1 << (i & 7))) !== 0
            expect(b.has(i)).toBe(bit)
          }
          const c = new Bitset(size)
          c.merge(b.encode(1000))
          expect(c.count).toBe(b.count)
          expect(c.missing(size)).toEqual(b.missing(size))
          // A cut encoding only loses members (which is safe: they are sent again).
          const d = new Bitset(size)
          d.merge(b.encode(2))
          for (let i = 0; i < size; i++) if (d.has(i)) expect(b.has(i)).toBe(true)
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
