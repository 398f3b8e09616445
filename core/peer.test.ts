import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isBadAddrError } from './errors.js'
import {
  ORDERED_BASE64_ALPHABET,
  PeerID,
  decodeOrderedBase64,
  encodeOrderedBase64,
} from './peer.js'

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('PeerID', () => {
  it('text is 43 characters of the ordered alphabet and round-trips (property)', () => {
    fc.assert(
      fc.property(id32, (bytes) => {
        const id = new PeerID(bytes)
        const text = id.toString()
        expect(text).toHaveLength(43)
        for (const ch of text) expect(ORDERED_BASE64_ALPHABET).toContain(ch)
        expect(PeerID.parse(text).equals(id)).toBe(true)
        expect(PeerID.parse(text).bytes()).toEqual(bytes)
      }),
    )
  })

  it('text order equals byte order (property)', () => {
    fc.assert(
      fc.property(id32, id32, (a, b) => {
        const ia = new PeerID(a)
        const ib = new PeerID(b)
        const byText = ia.toString() < ib.toString() ? -1 : ia.toString() > ib.toString() ? 1 : 0
        expect(Math.sign(ia.compare(ib))).toBe(byText)
      }),
    )
  })

  it('known answers: all zeros and all ones', () => {
    expect(new PeerID(new Uint8Array(32)).toString()).toBe('-'.repeat(43))
    expect(new PeerID(new Uint8Array(32).fill(255)).toString()).toBe(`${'z'.repeat(42)}w`)
  })

  it('alphabet is sorted, so the encoding preserves order', () => {
    const chars = [...ORDERED_BASE64_ALPHABET]
    expect([...chars].sort()).toEqual(chars)
    expect(new Set(chars).size).toBe(64)
  })

  it('rejects wrong lengths, wrong characters and non-canonical trailing bits with ERR_BAD_ADDR', () => {
    const good = new PeerID(new Uint8Array(32).fill(7)).toString()
    const bad = [
      '',
      good.slice(1),
      `${good}-`,
      `+${good.slice(1)}`,
      `/${good.slice(1)}`,
      `=${good.slice(1)}`,
      `${good.slice(0, 42)}x`, // non-zero padding bits
      `${good.slice(0, 42)}é`,
      ' '.repeat(43),
    ]
    for (const text of bad)
      expect(() => PeerID.parse(text), text).toThrow(
        expect.objectContaining({ code: 'ERR_BAD_ADDR' }),
      )
  })

  it('parse of random text never throws anything but ERR_BAD_ADDR (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 40, maxLength: 46 }), (text) => {
        try {
          const id = PeerID.parse(text)
          expect(id.toString()).toBe(text)
        } catch (e) {
          expect(isBadAddrError(e)).toBe(true)
        }
      }),
    )
  })

  it('constructor wants exactly 32 bytes and copies them', () => {
    expect(() => new PeerID(new Uint8Array(31))).toThrow(RangeError)
    const bytes = new Uint8Array(32)
    const id = new PeerID(bytes)
    bytes[0] = 1
    expect(id.bytes()[0]).toBe(0)
  })

  it('ordered base64 round-trips any length (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(decodeOrderedBase64(encodeOrderedBase64(bytes))).toEqual(bytes)
      }),
    )
  })
})
