import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ACK_HEADER_SIZE,
  type AskId,
  CANCEL_SIZE,
  ERROR_HEADER_SIZE,
  Kind,
  MAX_PARTS,
  MAX_REASON_BYTES,
  MAX_UINT32,
  POLL_HEADER_SIZE,
  REQUEST_HEADER_SIZE,
  RESPONSE_HEADER_SIZE,
  WireId,
  encodeAck,
  encodeCancel,
  encodeError,
  encodePoll,
  encodeRequestHeader,
  encodeResponseHeader,
  idKey,
  parseFrame,
  partCount,
  partSize,
  utf8Prefix,
} from './wire.js'

const plainId: fc.Arbitrary<AskId> = fc.record({
  session: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  seq: fc.integer({ min: 0, max: MAX_UINT32 }),
})
/** Parsed ids are `WireId`s (the session as two uint32 halves); encoders take either form. */
const id: fc.Arbitrary<AskId> = plainId.map((i) => WireId.of(i))

/** A message size, a part length, and one of its parts: what a sender produces. */
const part = fc
  .record({ total: fc.integer({ min: 0, max: 5000 }), partLen: fc.integer({ min: 1, max: 600 }) })
  .chain(({ total, partLen }) => {
    const count = partCount(total, partLen)
    return fc.record({
      total: fc.constant(total),
      count: fc.constant(count),
      partLen: fc.constant(partLen),
      index: fc.integer({ min: 0, max: count - 1 }),
    })
  })
  .filter((p) => p.count <= MAX_PARTS)

function dataOf(p: { total: number; partLen: number; index: number }): Uint8Array {
  const start = p.index * p.partLen
  const len = Math.max(0, Math.min(p.total, start + p.partLen) - start)
  return new Uint8Array(len).map((_, i) => (start + i) & 0xff)
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** Every kind of frame, encoded. */
const anyFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((d) => join(Uint8Array.of(Kind.TELL), d)),
  fc
    .tuple(id, part, fc.boolean(), fc.nat(0xffff), fc.nat(MAX_UINT32), fc.nat(MAX_UINT32))
    .map(([i, p, ack, tx, t, m]) =>
      join(
        encodeRequestHeader({ id: i, ackRequested: ack, tx, timeoutMs: t, maxResponse: m, ...p }),
        dataOf(p),
      ),
    ),
  fc
    .tuple(id, part, fc.boolean(), fc.nat(0xffff), fc.nat(MAX_UINT32))
    .map(([i, p, ack, echo, hold]) =>
      join(encodeResponseHeader({ id: i, ackRequested: ack, echo, holdMs: hold, ...p }), dataOf(p)),
    ),
  fc
    .tuple(id, fc.integer({ min: 1, max: 255 }), fc.string({ maxLength: 300 }))
    .map(([i, code, reason]) =>
      encodeError({ id: i, echo: 1, holdMs: 2, code, size: 3, limit: 4, reason }),
    ),
  fc
    .tuple(id, fc.uint8Array({ maxLength: 30 }))
    .map(([i, bitmap]) =>
      encodeAck({ id: i, echo: 9, holdMs: 0, complete: false, unknown: false, base: 0, bitmap }),
    ),
  fc
    .tuple(id, fc.uint8Array({ maxLength: 30 }))
    .map(([i, bitmap]) => encodePoll({ id: i, tx: 7, base: 0, bitmap })),
  id.map((i) => encodeCancel(i)),
)

describe('askswarm wire', () => {
  it('header sizes are as documented', () => {
    expect(REQUEST_HEADER_SIZE).toBe(32)
    expect(RESPONSE_HEADER_SIZE).toBe(28)
    expect(ERROR_HEADER_SIZE).toBe(29)
    expect(ACK_HEADER_SIZE).toBe(22)
    expect(POLL_HEADER_SIZE).toBe(18)
    expect(CANCEL_SIZE).toBe(14)
  })

  it('lays out a request header at fixed big-endian offsets', () => {
    const h = encodeRequestHeader({
      id: { session: 0x0102030405060708n, seq: 0x090a0b0c },
      ackRequested: true,
      tx: 0x0d0e,
      timeoutMs: 0x0f101112,
      maxResponse: 0x13141516,
      total: 0x1000,
      index: 1,
      count: 2,
    })
    expect([...h]).toEqual([
      0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
      0x14, 0x15, 0x16, 0, 0, 0x10, 0, 0, 1, 0, 2,
    ])
  })

  it('round-trips request parts (property)', () => {
    fc.assert(
      fc.property(
        id,
        part,
        fc.boolean(),
        fc.nat(0xffff),
        fc.nat(MAX_UINT32),
        fc.nat(MAX_UINT32),
        (i, p, ack, tx, timeoutMs, maxResponse) => {
          const data = dataOf(p)
          const h = { id: i, ackRequested: ack, tx, timeoutMs, maxResponse, ...p }
          const buf = join(encodeRequestHeader(h), data)
          const f = parseFrame(buf)
          expect(f).toEqual({
            kind: Kind.REQUEST,
            id: i,
            ackRequested: ack,
            tx,
            timeoutMs,
            maxResponse,
            total: p.total,
            index: p.index,
            count: p.count,
            data,
          })
          if (f.kind === Kind.REQUEST) expect(f.data.buffer).toBe(buf.buffer)
        },
      ),
    )
  })

  it('round-trips response parts, errors, acks, polls and cancels (property)', () => {
    fc.assert(
      fc.property(
        id,
        part,
        fc.boolean(),
        fc.nat(0xffff),
        fc.nat(MAX_UINT32),
        (i, p, ack, n, hold) => {
          const data = dataOf(p)
          const res = parseFrame(
            join(
              encodeResponseHeader({ id: i, ackRequested: ack, echo: n, holdMs: hold, ...p }),
              data,
            ),
          )
          expect(res).toEqual({
            kind: Kind.RESPONSE,
            id: i,
            ackRequested: ack,
            echo: n,
            holdMs: hold,
            total: p.total,
            index: p.index,
            count: p.count,
            data,
          })
          const bitmap = data.subarray(0, 20)
          expect(
            parseFrame(
              encodeAck({
                id: i,
                echo: n,
                holdMs: hold,
                complete: false,
                unknown: false,
                base: p.index,
                bitmap,
              }),
            ),
          ).toEqual({
            kind: Kind.ACK,
            id: i,
            echo: n,
            holdMs: hold,
            complete: false,
            unknown: false,
            base: p.index,
            bitmap,
          })
          for (const [complete, unknown] of [
            [true, false],
            [false, true],
          ] as const) {
            const empty = new Uint8Array(0)
            expect(
              parseFrame(
                encodeAck({
                  id: i,
                  echo: n,
                  holdMs: hold,
                  complete,
                  unknown,
                  base: 0,
                  bitmap: empty,
                }),
              ),
            ).toEqual({
              kind: Kind.ACK,
              id: i,
              echo: n,
              holdMs: hold,
              complete,
              unknown,
              base: 0,
              bitmap: empty,
            })
          }
          expect(parseFrame(encodePoll({ id: i, tx: n, base: p.index, bitmap }))).toEqual({
            kind: Kind.POLL,
            id: i,
            tx: n,
            base: p.index,
            bitmap,
          })
          expect(parseFrame(encodeCancel(i))).toEqual({ kind: Kind.CANCEL, id: i })
          const err = {
            id: i,
            echo: n,
            holdMs: hold,
            code: 1 + (n % 255),
            size: hold,
            limit: p.total,
            reason: 'x',
          }
          expect(parseFrame(encodeError(err))).toEqual({ kind: Kind.ERROR, ...err })
        },
      ),
    )
  })

  it('parsed ids keep the 64-bit session exactly, and keys tell ids apart (property)', () => {
    fc.assert(
      fc.property(plainId, plainId, (a, b) => {
        const f = parseFrame(encodeCancel(a))
        if (f.kind !== Kind.CANCEL) throw new Error('expected a cancel')
        expect(f.id).toBeInstanceOf(WireId)
        expect(f.id.session).toBe(a.session)
        expect(f.id.seq).toBe(a.seq)
        expect(idKey(f.id)).toBe(idKey(a))
        const same = a.session === b.session && a.seq === b.seq
        expect(idKey(a) === idKey(b)).toBe(same)
        expect(WireId.of(a).sameSession(b)).toBe(a.session === b.session)
      }),
    )
  })

  it('bounds an error reason to 256 bytes of UTF-8 without cutting a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (reason) => {
        const buf = encodeError({
          id: { session: 1n, seq: 2 },
          echo: 0,
          holdMs: 0,
          code: 1,
          size: 0,
          limit: 0,
          reason,
        })
        expect(buf.length - ERROR_HEADER_SIZE).toBeLessThanOrEqual(MAX_REASON_BYTES)
        const f = parseFrame(buf)
        expect(f.kind).toBe(Kind.ERROR)
        if (f.kind === Kind.ERROR) {
          expect(reason.startsWith(f.reason)).toBe(true)
          expect(f.reason).not.toContain('\ufffd')
        }
      }),
    )
    expect(utf8Prefix('é'.repeat(200), 5).length).toBe(4)
  })

  it('keeps tells as they are behind the kind byte', () => {
    const f = parseFrame(Uint8Array.of(0, 1, 2, 3))
    expect(f).toEqual({ kind: Kind.TELL, data: Uint8Array.of(1, 2, 3) })
    expect(parseFrame(Uint8Array.of(0))).toEqual({ kind: Kind.TELL, data: new Uint8Array(0) })
  })

  it('never throws on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (buf) => {
        const f = parseFrame(buf)
        expect(typeof f.kind === 'number' || f.kind === 'malformed').toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on mutated, truncated or extended valid frames (property)', () => {
    fc.assert(
      fc.property(
        anyFrame,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 8 }),
        (frame, flips, cut, extra) => {
          const m = frame.slice()
          for (const [at, v] of flips) if (m.length > 0) m[at % m.length] = v
          parseFrame(m)
          parseFrame(m.subarray(0, cut % (m.length + 1)))
          const f = parseFrame(join(m, extra))
          // Whatever is accepted is self-consistent.
          if (f.kind === Kind.REQUEST || f.kind === Kind.RESPONSE) {
            expect(partSize(f.total, f.count, f.index, f.data.length)).toBeDefined()
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('refuses malformed frames with a reason', () => {
    const reqHeader = encodeRequestHeader({
      id: { session: 5n, seq: 6 },
      ackRequested: false,
      tx: 0,
      timeoutMs: 100,
      maxResponse: 100,
      total: 3,
      index: 0,
      count: 1,
    })
    const req = join(reqHeader, Uint8Array.of(1, 2, 3))
    const reason = (b: Uint8Array) => {
      const f = parseFrame(b)
      return f.kind === 'malformed' ? f.reason : undefined
    }
    expect(reason(new Uint8Array(0))).toBe('empty')
    expect(reason(Uint8Array.of(7))).toBe('unknownKind')
    expect(reason(Uint8Array.of(0xff, 0, 0))).toBe('unknownKind')
    expect(reason(req.subarray(0, 13))).toBe('short')
    expect(reason(req.subarray(0, REQUEST_HEADER_SIZE - 1))).toBe('short')
    // Data shorter or longer than the header says.
    expect(reason(req.subarray(0, req.length - 1))).toBe('shape')
    expect(reason(join(req, Uint8Array.of(4)))).toBe('shape')
    const flagged = req.slice()
    flagged[1] = 0x02
    expect(reason(flagged)).toBe('flags')
    // count 0, or index >= count.
    const zero = req.slice()
    zero[31] = 0
    expect(reason(zero)).toBe('shape')
    const past = req.slice()
    past[29] = 1
    expect(reason(past)).toBe('shape')
    const cancel = encodeCancel({ session: 1n, seq: 1 })
    expect(reason(join(cancel, Uint8Array.of(0)))).toBe('trailing')
    const ack = encodeAck({
      id: { session: 1n, seq: 1 },
      echo: 0,
      holdMs: 0,
      complete: true,
      unknown: false,
      base: 0,
      bitmap: new Uint8Array(0),
    })
    expect(reason(join(ack, Uint8Array.of(1)))).toBe('trailing')
    const withBase = ack.slice()
    withBase[21] = 1
    expect(reason(withBase)).toBe('trailing')
    const both = ack.slice()
    both[1] = 0x06
    expect(reason(both)).toBe('flags')
    const err = encodeError({
      id: { session: 1n, seq: 1 },
      echo: 0,
      holdMs: 0,
      code: 1,
      size: 0,
      limit: 0,
      reason: '',
    })
    const zeroCode = err.slice()
    zeroCode[20] = 0
    expect(reason(zeroCode)).toBe('reason')
    expect(reason(join(err, new Uint8Array(MAX_REASON_BYTES + 1).fill(0x61)))).toBe('reason')
  })

  it('partSize accepts exactly the parts a sender makes (property)', () => {
    fc.assert(
      fc.property(part, (p) => {
        expect(partSize(p.total, p.count, p.index, dataOf(p).length)).toBe(
          p.count === 1 ? p.total : p.partLen,
        )
      }),
    )
    fc.assert(
      fc.property(
        fc.nat(3000),
        fc.integer({ min: 1, max: 300 }),
        fc.nat(300),
        fc.nat(400),
        (total, count, index, len) => {
          const l = partSize(total, count, index, len)
          if (l === undefined) return
          // Whatever is accepted is a real split of `total` into `count` parts of `l`.
          expect(partCount(total, Math.max(1, l))).toBe(count)
          expect(index).toBeLessThan(count)
          if (index < count - 1) expect(len).toBe(l)
          else expect(len).toBe(total - (count - 1) * l)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('encoders refuse out-of-range fields with RangeError', () => {
    const base = {
      id: { session: 1n, seq: 1 },
      ackRequested: false,
      tx: 0,
      timeoutMs: 0,
      maxResponse: 0,
      total: 0,
      index: 0,
      count: 1,
    }
    expect(() => encodeRequestHeader({ ...base, count: 0 })).toThrow(RangeError)
    expect(() => encodeRequestHeader({ ...base, count: MAX_PARTS + 1 })).toThrow(RangeError)
    expect(() => encodeRequestHeader({ ...base, index: 1 })).toThrow(RangeError)
    expect(() => encodeRequestHeader({ ...base, tx: 0x10000 })).toThrow(RangeError)
    expect(() => encodeRequestHeader({ ...base, total: MAX_UINT32 + 1 })).toThrow(RangeError)
    expect(() => encodeRequestHeader({ ...base, id: { session: -1n, seq: 0 } })).toThrow(RangeError)
    expect(() => encodeRequestHeader({ ...base, id: { session: 1n << 64n, seq: 0 } })).toThrow(
      RangeError,
    )
    expect(() =>
      encodeAck({
        id: base.id,
        echo: 0,
        holdMs: 0,
        complete: true,
        unknown: true,
        base: 0,
        bitmap: new Uint8Array(0),
      }),
    ).toThrow(RangeError)
    expect(() =>
      encodeError({ id: base.id, echo: 0, holdMs: 0, code: 0, size: 0, limit: 0, reason: '' }),
    ).toThrow(RangeError)
  })
})
