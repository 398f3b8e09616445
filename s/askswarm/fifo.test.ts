import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FifoMap } from './fifo.js'

/** Operations on a FifoMap and on the model (a Map, whose order is insertion order too). */
type Op =
  | { op: 'set'; key: number; value: number }
  | { op: 'delete'; key: number }
  | { op: 'touch'; key: number }
  | { op: 'evict' }
  | { op: 'deleteWhile'; below: number }
  | { op: 'clear' }

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.nat(60), value: fc.nat() }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat(60) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('touch' as const), key: fc.nat(60) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('evict' as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('deleteWhile' as const), below: fc.nat(60) }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  ),
  { maxLength: 400 },
)

function check(f: FifoMap<number, number>, model: Map<number, number>): void {
  expect(f.size).toBe(model.size)
  expect([...f.entries()]).toEqual([...model.entries()])
  expect(f.oldestKey()).toBe(model.keys().next().value)
  const seen: [number, number][] = []
  f.forEach((v, k) => {
    seen.push([k, v])
  })
  expect(seen).toEqual([...model.entries()])
}

describe('FifoMap', () => {
  it('behaves as a Map in insertion order, the oldest first, touch as delete and set (property, against Map)', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const f = new FifoMap<number, number>()
        const model = new Map<number, number>()
        for (const o of list) {
          switch (o.op) {
            case 'set':
              f.set(o.key, o.value)
              model.set(o.key, o.value)
              break
            case 'delete':
              expect(f.delete(o.key)).toBe(model.delete(o.key))
              break
            case 'touch': {
              const v = model.get(o.key)
              expect(f.touch(o.key)).toBe(v !== undefined)
              if (v !== undefined) {
                model.delete(o.key)
                model.set(o.key, v)
              }
              break
            }
            case 'evict': {
              const k = f.oldestKey()
              expect(k).toBe(model.keys().next().value)
              if (k !== undefined) {
                f.delete(k)
                model.delete(k)
              }
              break
            }
            case 'deleteWhile':
              // Deleting while iterating (as the expiry sweep does): every entry is visited once.
              f.forEach((_, k) => {
                if (k < o.below) f.delete(k)
              })
              for (const k of [...model.keys()]) if (k < o.below) model.delete(k)
              break
            case 'clear':
              f.clear()
              model.clear()
              break
          }
          const k = 'key' in o ? o.key : 0
          expect(f.get(k)).toBe(model.get(k))
          expect(f.has(k)).toBe(model.has(k))
        }
        check(f, model)
      }),
      { numRuns: 500 },
    )
  })

  it('keeps FIFO order across many compactions, and a present key keeps its place on set', () => {
    const f = new FifoMap<string, number>()
    // A FIFO of 1000 entries, as the tombstones: each insert past the cap evicts the oldest,
    // and every third entry is deleted early (cancelled or expired).
    const cap = 1000
    const expected: string[] = []
    for (let i = 0; i < 20_000; i++) {
      const key = `k${i}`
      while (f.size >= cap) {
        const oldest = f.oldestKey()!
        expect(oldest).toBe(expected.shift())
        f.delete(oldest)
      }
      f.set(key, i)
      expected.push(key)
      if (i % 3 === 1) {
        const early = `k${i - 1}`
        if (f.delete(early)) expected.splice(expected.indexOf(early), 1)
      }
    }
    expect([...f.entries()].map(([k]) => k)).toEqual(expected)
    // Setting a present key changes its value, not its place.
    const first = f.oldestKey()!
    f.set(first, -1)
    expect(f.oldestKey()).toBe(first)
    expect(f.get(first)).toBe(-1)
  })

  it('deleting every entry while iterating visits each once and leaves it empty', () => {
    const f = new FifoMap<number, string>()
    for (let i = 0; i < 100; i++) f.set(i, String(i))
    for (let i = 0; i < 50; i++) f.delete(i * 2)
    const visited: number[] = []
    f.forEach((_, k) => {
      visited.push(k)
      f.delete(k)
    })
    expect(visited).toEqual(Array.from({ length: 50 }, (_, i) => i * 2 + 1))
    expect(f.size).toBe(0)
    expect(f.oldestKey()).toBeUndefined()
    f.set(7, 'x')
    expect([...f]).toEqual([[7, 'x']])
    expect([...f.values()]).toEqual(['x'])
  })
})
