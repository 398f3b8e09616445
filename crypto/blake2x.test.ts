import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blake2xb, getBackend } from './index.js'

const kat = JSON.parse(
  readFileSync(new URL('../fixtures/blake2xb-kat.json', import.meta.url), 'utf8'),
) as { p2pke_relevant_entry: number; vectors: { in: string; key: string; out: string }[] }
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('BLAKE2Xb', () => {
  it('passes all 512 official KATs (output lengths 1-256, unkeyed and keyed)', () => {
    expect(kat.vectors.length).toBe(512)
    for (const [i, v] of kat.vectors.entries()) {
      expect(toHex(blake2xb(hex(v.in), v.out.length / 2, hex(v.key))), `entry ${i}`).toBe(v.out)
    }
  })

  it('the P2PKE entry (unkeyed, 64 bytes) differs from BLAKE2b-512 of the same input', () => {
    const v = kat.vectors[kat.p2pke_relevant_entry]!
    expect(v.key).toBe('')
    expect(v.out.length).toBe(128)
    const x = blake2xb(hex(v.in), 64)
    expect(toHex(x)).toBe(v.out)
    expect(x).not.toEqual(getBackend('noble').blake2b(hex(v.in)))
  })

  it('hashes parts as their concatenation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 300 }),
        (parts, n) => {
          const joined = Uint8Array.from(parts.flatMap((p) => [...p]))
          expect(blake2xb(parts, n)).toEqual(blake2xb(joined, n))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('rejects bad arguments', () => {
    expect(() => blake2xb(new Uint8Array(1), 0)).toThrow(RangeError)
    expect(() => blake2xb(new Uint8Array(1), 2 ** 32 - 1)).toThrow(RangeError)
    expect(() => blake2xb(new Uint8Array(1), 1.5)).toThrow(TypeError)
    expect(() => blake2xb(new Uint8Array(1), 64, new Uint8Array(65))).toThrow(RangeError)
    expect(() => blake2xb('abc' as unknown as Uint8Array, 64)).toThrow(TypeError)
  })
})
