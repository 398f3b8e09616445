import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_HEADER_SIZE,
  MAX_MSG_ID,
  MAX_PARTS,
  encodeFragHeader,
  fragment,
  fragmentPayload,
  parseFragPart,
} from './wire.js'

const header = fc
  .record({
    msgId: fc.integer({ min: 0, max: MAX_MSG_ID }),
    partCount: fc.integer({ min: 1, max: MAX_PARTS }),
  })
  .chain(({ msgId, partCount }) =>
    fc.record({
      msgId: fc.constant(msgId),
      partCount: fc.constant(partCount),
      partIndex: fc.integer({ min: 0, max: partCount - 1 }),
    }),
  )

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

describe('fragswarm wire', () => {
  it('encodes as go-p2p does: uvarint id, index, count', () => {
    expect([...encodeFragHeader({ msgId: 0, partIndex: 0, partCount: 1 })]).toEqual([0, 0, 1])
    expect([...encodeFragHeader({ msgId: 300, partIndex: 2, partCount: 200 })]).toEqual([
      0xac, 0x02, 0x02, 0xc8, 0x01,
    ])
    expect([...encodeFragHeader({ msgId: MAX_MSG_ID, partIndex: 254, partCount: 255 })]).toEqual([
      0xff, 0xff, 0xff, 0xff, 0x0f, 0xfe, 0x01, 0xff, 0x01,
    ])
  })

  it('never writes more than MAX_HEADER_SIZE bytes', () => {
    fc.assert(fc.property(header, (h) => encodeFragHeader(h).length <= MAX_HEADER_SIZE))
  })

  it('round-trips every valid header and keeps the data as a view', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (h, data) => {
        const buf = join(encodeFragHeader(h), data)
        const got = parseFragPart(buf)
        expect(got).toBeDefined()
        expect({ msgId: got!.msgId, partIndex: got!.partIndex, partCount: got!.partCount }).toEqual(
          h,
        )
        expect(got!.data).toEqual(data)
        expect(got!.data.buffer).toBe(buf.buffer)
      }),
    )
  })

  it('rejects bad header fields when encoding', () => {
    expect(() => encodeFragHeader({ msgId: -1, partIndex: 0, partCount: 1 })).toThrow(RangeError)
    expect(() => encodeFragHeader({ msgId: 2 ** 32, partIndex: 0, partCount: 1 })).toThrow(
      RangeError,
    )
    expect(() => encodeFragHeader({ msgId: 0, partIndex: 1, partCount: 1 })).toThrow(RangeError)
    expect(() => encodeFragHeader({ msgId: 0, partIndex: 0, partCount: 0 })).toThrow(RangeError)
    expect(() => encodeFragHeader({ msgId: 0, partIndex: 0, partCount: 256 })).toThrow(RangeError)
    expect(() => encodeFragHeader({ msgId: 0.5, partIndex: 0, partCount: 1 })).toThrow(RangeError)
  })

  it('rejects malformed headers (returns undefined)', () => {
    const bad: number[][] = [
      [],
      [0],
      [0, 0],
      [0x80], // id ends early
      [0, 1, 1], // index == count
      [0, 0, 0], // count 0
      [0, 0, 0x80, 0x02], // count 256
      [0x80, 0x80, 0x80, 0x80, 0x10, 0, 1], // id 2^32
      [0x80, 0x00, 0, 1], // non-minimal id
      [0, 0x80, 0x00, 1], // non-minimal index
    ]
    for (const b of bad)
      expect(parseFragPart(Uint8Array.from(b)), JSON.stringify(b)).toBeUndefined()
  })

  it('never throws on random bytes, and what parses is in range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (buf) => {
        const got = parseFragPart(buf)
        if (got === undefined) return
        expect(got.msgId).toBeLessThanOrEqual(MAX_MSG_ID)
        expect(got.partCount).toBeGreaterThanOrEqual(1)
        expect(got.partCount).toBeLessThanOrEqual(MAX_PARTS)
        expect(got.partIndex).toBeLessThan(got.partCount)
        // The header it parsed re-encodes to the same prefix (one encoding per header).
        const h = encodeFragHeader(got)
        expect(buf.subarray(0, h.length)).toEqual(h)
        expect(got.data.length).toBe(buf.length - h.length)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on mutated valid parts', () => {
    fc.assert(
      fc.property(
        header,
        fc.uint8Array({ maxLength: 16 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (h, data, flips, cut) => {
          const buf = join(encodeFragHeader(h), data)
          for (const [at, v] of flips) if (buf.length > 0) buf[at % buf.length] = v
          const truncated = buf.subarray(0, buf.length === 0 ? 0 : cut % (buf.length + 1))
          parseFragPart(buf)
          parseFragPart(truncated)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('fragment splits into equal parts and a remainder that parse back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_MSG_ID }),
        fc.integer({ min: 1, max: 50 }),
        fc.uint8Array({ maxLength: 600 }),
        (id, partSize, data) => {
          fc.pre(Math.ceil(data.length / partSize) <= MAX_PARTS)
          const parts = fragment(id, data, partSize)
          expect(parts.length).toBe(Math.max(1, Math.ceil(data.length / partSize)))
          const chunks: Uint8Array[] = []
          parts.forEach(([h, chunk], i) => {
            const p = parseFragPart(join(h, chunk))!
            expect(p).toMatchObject({ msgId: id, partIndex: i, partCount: parts.length })
            if (i < parts.length - 1) expect(chunk.length).toBe(partSize)
            else if (parts.length > 1) expect(chunk.length).toBeGreaterThanOrEqual(1)
            chunks.push(chunk)
          })
          expect(join(...chunks)).toEqual(data)
        },
      ),
    )
  })

  it('fragment refuses more than 255 parts and a bad part size', () => {
    expect(() => fragment(0, new Uint8Array(256), 1)).toThrow(/at most 255/)
    expect(fragment(0, new Uint8Array(255), 1)).toHaveLength(255)
    expect(() => fragment(0, new Uint8Array(1), 0)).toThrow(RangeError)
  })

  it('fragmentPayload cuts an iovec into parts of views, equal to fragmenting the joined bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_MSG_ID }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 8 }),
        (id, partSize, pieces) => {
          const whole = join(...pieces)
          fc.pre(Math.ceil(whole.length / partSize) <= MAX_PARTS)
          const copies = pieces.map((p) => p.slice())
          const parts = fragmentPayload(id, pieces, partSize)
          const reference = fragment(id, whole, partSize)
          expect(parts.length).toBe(reference.length)
          parts.forEach((part, i) => {
            const [h, ...chunks] = part
            expect(h!.length).toBeLessThanOrEqual(MAX_HEADER_SIZE)
            expect(h).toEqual(reference[i]![0])
            expect(join(...chunks)).toEqual(reference[i]![1])
            for (const c of chunks) {
              expect(c.length).toBeGreaterThan(0)
              // A view into one of the caller's buffers, never a copy.
              expect(pieces.some((p) => p.buffer === c.buffer)).toBe(true)
            }
            expect(parseFragPart(join(...part))).toMatchObject({
              msgId: id,
              partIndex: i,
              partCount: parts.length,
            })
          })
          expect(pieces).toEqual(copies)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('fragmentPayload writes 2-byte indexes from part 128 and refuses what fragment refuses', () => {
    const parts = fragmentPayload(300, [new Uint8Array(100), new Uint8Array(155)], 1)
    expect(parts).toHaveLength(255)
    expect(parseFragPart(join(...parts[200]!))).toMatchObject({ partIndex: 200, partCount: 255 })
    expect(() => fragmentPayload(0, [new Uint8Array(256)], 1)).toThrow(/at most 255/)
    expect(() => fragmentPayload(0, new Uint8Array(1), 0)).toThrow(RangeError)
    expect(() => fragmentPayload(MAX_MSG_ID + 1, new Uint8Array(1), 1)).toThrow(RangeError)
    expect(fragmentPayload(7, [], 10)).toEqual(
      [encodeFragHeader({ msgId: 7, partIndex: 0, partCount: 1 })].map((h) => [h]),
    )
  })
})
