import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isBadMessageError } from '../../core/index.js'
import { MAX_WIRE_LEN } from './constants.js'
import {
  compareTai64n,
  decodeInitDone,
  decodeInitHello,
  decodeInitHelloPayload,
  decodeRespHello,
  decodeTai64n,
  encodeHeader,
  encodeInitDone,
  encodeInitHello,
  encodeInitHelloPayload,
  encodeRespHello,
  encodeTai64n,
  type InitHello,
  isInitHello,
  nextTai64n,
  parseInitHelloMessage,
  parseMessage,
  tai64nFromUnixMs,
  tai64nFromUnixNanos,
  tai64nToUnixNanos,
} from './messages.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface GoMessage {
  name: string
  hex: string
  protobuf_hex?: string
  protobuf_fields?: Record<string, string | number>
  noise_payload_hex?: string
}
const go = JSON.parse(
  readFileSync(new URL('../../interop/vectors/handshake.json', import.meta.url), 'utf8'),
) as {
  time: { tai64n_hex: string; unix_nanos: string; tai64n_seconds: string; tai64n_nanos: number }
  messages: GoMessage[]
}
const goMsg = (name: string): GoMessage => go.messages.find((m) => m.name === name)!

/** Expects `fn` to throw BadMessageError (and nothing else). */
function expectBad(fn: () => unknown): void {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(isBadMessageError(thrown), String(thrown)).toBe(true)
}

describe('header', () => {
  it('is the counter as 4 bytes big-endian', () => {
    expect(toHex(encodeHeader(0))).toBe('00000000')
    expect(toHex(encodeHeader(16))).toBe('00000010')
    expect(toHex(encodeHeader(0xfffffffe))).toBe('fffffffe')
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => encodeHeader(bad)).toThrow(RangeError)
    }
  })

  it('round-trips and splits without copying', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 64 }),
        (n, body) => {
          const bytes = new Uint8Array(4 + body.length)
          bytes.set(encodeHeader(n))
          bytes.set(body, 4)
          const m = parseMessage(bytes)!
          expect(m.counter).toBe(n)
          expect(m.body).toEqual(body)
          expect(m.header.buffer).toBe(bytes.buffer)
          expect(isInitHello(bytes)).toBe(n === 0)
        },
      ),
    )
  })

  it('refuses messages shorter than a header or longer than a Noise message', () => {
    for (const n of [0, 1, 2, 3]) expect(parseMessage(new Uint8Array(n))).toBeUndefined()
    expect(parseMessage(new Uint8Array(MAX_WIRE_LEN))).toBeDefined()
    expect(parseMessage(new Uint8Array(MAX_WIRE_LEN + 1))).toBeUndefined()
    expect(parseMessage('nope' as unknown as Uint8Array)).toBeUndefined()
  })
})

describe('protobufs', () => {
  const bytes = fc.uint8Array({ maxLength: 300 })
  const initHello = fc.record({
    version: fc.integer({ min: 0, max: 0xffffffff }),
    timestampTai64n: bytes,
    keyX509: bytes,
    sig: bytes,
  })

  it("decodes go-p2p's messages and re-encodes them byte for byte", () => {
    const ih = goMsg('InitHello')
    const decoded = decodeInitHello(hex(ih.protobuf_hex!))
    expect(decoded.version).toBe(1)
    expect(toHex(decoded.timestampTai64n)).toBe(ih.protobuf_fields!['timestamp_tai64n'])
    expect(toHex(decoded.keyX509)).toBe(ih.protobuf_fields!['key_x509'])
    expect(toHex(decoded.sig)).toBe(ih.protobuf_fields!['sig'])
    expect(toHex(encodeInitHello(decoded))).toBe(ih.protobuf_hex)
    expect(toHex(encodeInitHelloPayload(decoded))).toBe(ih.noise_payload_hex)
    expect(decodeInitHelloPayload(hex(ih.noise_payload_hex!))).toEqual(decoded)
    const parsed = parseInitHelloMessage(hex(ih.hex))
    expect(parsed.hello).toEqual(decoded)
    expect(toHex(parsed.ephemeral)).toBe(ih.hex.slice(8, 8 + 64))

    const rh = goMsg('RespHello')
    const resp = decodeRespHello(hex(rh.protobuf_hex!))
    expect(toHex(resp.keyX509)).toBe(rh.protobuf_fields!['key_x509'])
    expect(toHex(encodeRespHello(resp))).toBe(rh.protobuf_hex)

    const id = goMsg('InitDone')
    const done = decodeInitDone(hex(id.protobuf_hex!))
    expect(toHex(done.sig)).toBe(id.protobuf_fields!['sig'])
    expect(toHex(encodeInitDone(done))).toBe(id.protobuf_hex)
  })

  it('writes fields in order and leaves proto3 defaults out, as Go does', () => {
    expect(
      toHex(
        encodeInitHello({ version: 0, timestampTai64n: hex(''), keyX509: hex(''), sig: hex('') }),
      ),
    ).toBe('')
    expect(
      toHex(
        encodeInitHello({
          version: 300,
          timestampTai64n: hex('aa'),
          keyX509: hex(''),
          sig: hex('bbcc'),
        }),
      ),
    ).toBe('08ac021201aa2202bbcc')
    expect(toHex(encodeRespHello({ keyX509: hex('01'), sig: hex('') }))).toBe('0a0101')
    expect(toHex(encodeInitDone({ sig: new Uint8Array(200) }))).toMatch(/^0ac801/)
    expect(() =>
      encodeInitHello({ version: -1, timestampTai64n: hex(''), keyX509: hex(''), sig: hex('') }),
    ).toThrow(RangeError)
  })

  it('round-trips every message', () => {
    fc.assert(
      fc.property(initHello, (m) => {
        expect(decodeInitHello(encodeInitHello(m))).toEqual(m)
        expect(decodeInitHelloPayload(encodeInitHelloPayload(m))).toEqual(m)
      }),
    )
    fc.assert(
      fc.property(bytes, bytes, (keyX509, sig) => {
        expect(decodeRespHello(encodeRespHello({ keyX509, sig }))).toEqual({ keyX509, sig })
        expect(decodeInitDone(encodeInitDone({ sig }))).toEqual({ sig })
      }),
    )
  })

  it('accepts only canonical encodings: what decodes re-encodes to the same bytes', () => {
    // Random bytes, and random bytes that start like a real message.
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc
        .tuple(fc.constantFrom(0x08, 0x0a, 0x12, 0x1a, 0x22), fc.uint8Array({ maxLength: 40 }))
        .map(([t, rest]) => Uint8Array.of(t, ...rest)),
    )
    fc.assert(
      fc.property(input, (b) => {
        for (const [dec, enc] of [
          [decodeInitHello, encodeInitHello],
          [decodeRespHello, encodeRespHello],
          [decodeInitDone, encodeInitDone],
        ] as [(b: Uint8Array) => unknown, (m: never) => Uint8Array][]) {
          let m: unknown
          try {
            m = dec(b)
          } catch (e) {
            expect(isBadMessageError(e), String(e)).toBe(true)
            continue
          }
          expect(toHex(enc(m as never))).toBe(toHex(b))
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('rejects every truncation of a message', () => {
    fc.assert(
      fc.property(initHello, (m) => {
        const full = encodeInitHello(m)
        for (let n = 0; n < full.length; n++) {
          // A prefix that ends exactly between fields is a valid, shorter message.
          let shorter: InitHello | undefined
          try {
            shorter = decodeInitHello(full.subarray(0, n))
          } catch (e) {
            expect(isBadMessageError(e)).toBe(true)
            continue
          }
          expect(toHex(encodeInitHello(shorter))).toBe(toHex(full.subarray(0, n)))
        }
        if (full.length > 0) {
          // With the length trailer, no truncation survives.
          const payload = encodeInitHelloPayload(m)
          for (let n = 0; n < payload.length; n++) {
            expectBad(() => decodeInitHelloPayload(payload.subarray(0, n)))
          }
        }
      }),
      { numRuns: 50 },
    )
  })

  it('rejects non-canonical and unknown encodings', () => {
    const cases: [string, (b: Uint8Array) => unknown, string][] = [
      ['fields out of order', decodeInitHello, '12010108 01'.replace(' ', '')],
      ['repeated field', decodeInitHello, '08010801'],
      ['repeated bytes field', decodeRespHello, '0a01aa0a01bb'],
      ['unknown field 5', decodeInitHello, '2a0100'],
      ['unknown field 3 in RespHello', decodeRespHello, '1a0100'],
      ['field 0', decodeInitDone, '020100'],
      ['wrong wire type (varint for bytes)', decodeInitDone, '0801'],
      ['wrong wire type (bytes for varint)', decodeInitHello, '0a0101'],
      ['fixed64 wire type', decodeInitDone, '090000000000000000'],
      ['default varint written', decodeInitHello, '0800'],
      ['empty bytes written', decodeInitDone, '0a00'],
      ['non-minimal varint value', decodeInitHello, '088100'],
      ['non-minimal length', decodeInitDone, '0a8100'],
      ['non-minimal tag', decodeInitDone, '8a0001aa'],
      ['varint over 32 bits', decodeInitHello, '088080808010'],
      ['varint too long', decodeInitHello, '08ffffffffff01'],
      ['length overruns', decodeInitDone, '0a05aabb'],
      ['truncated tag', decodeInitDone, '8a'],
      ['truncated varint', decodeInitHello, '0880'],
    ]
    for (const [what, dec, h] of cases) {
      let thrown: unknown
      try {
        dec(hex(h))
      } catch (e) {
        thrown = e
      }
      expect(isBadMessageError(thrown), what).toBe(true)
    }
  })

  it("requires InitHello's length trailer to cover the whole payload (go-p2p ignores a prefix)", () => {
    const payload = hex(goMsg('InitHello').noise_payload_hex!)
    expectBad(() => decodeInitHelloPayload(new Uint8Array(0)))
    expectBad(() => decodeInitHelloPayload(new Uint8Array(1)))
    const prefixed = new Uint8Array(payload.length + 1)
    prefixed.set(payload, 1)
    expectBad(() => decodeInitHelloPayload(prefixed))
    const wrongLen = payload.slice()
    wrongLen[wrongLen.length - 1]! ^= 1
    expectBad(() => decodeInitHelloPayload(wrongLen))
    expect(decodeInitHelloPayload(Uint8Array.of(0, 0))).toEqual({
      version: 0,
      timestampTai64n: new Uint8Array(0),
      keyX509: new Uint8Array(0),
      sig: new Uint8Array(0),
    })
  })

  it('parseInitHelloMessage rejects other counters, short bodies and random bytes', () => {
    const m = hex(goMsg('InitHello').hex)
    const other = m.slice()
    other[3] = 1
    expectBad(() => parseInitHelloMessage(other))
    expectBad(() => parseInitHelloMessage(m.subarray(0, 4 + 33)))
    expectBad(() => parseInitHelloMessage(m.subarray(0, 3)))
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parseInitHelloMessage(b)
        } catch (e) {
          expect(isBadMessageError(e)).toBe(true)
        }
      }),
    )
  })
})

describe('TAI64N', () => {
  it("matches go-tai64's FromGoTime on the Go vector", () => {
    const t = tai64nFromUnixNanos(BigInt(go.time.unix_nanos))
    expect(t.seconds).toBe(BigInt(go.time.tai64n_seconds))
    expect(t.nanoseconds).toBe(go.time.tai64n_nanos)
    expect(toHex(encodeTai64n(t))).toBe(go.time.tai64n_hex)
    expect(decodeTai64n(hex(go.time.tai64n_hex))).toEqual(t)
    expect(tai64nToUnixNanos(t)).toBe(BigInt(go.time.unix_nanos))
  })

  it('known answers: leap-second offsets as go-tai64 applies them', () => {
    const at = (unixSeconds: number) => toHex(encodeTai64n(tai64nFromUnixMs(unixSeconds * 1000)))
    // The Unix epoch: 2^62 + 10 (go-tai64's UnixEpoch), as before 1972.
    expect(at(0)).toBe('400000000000000a00000000')
    // 1972-01-01: TAI − UTC = 10 s; 1972-07-01: 11 s.
    expect(at(63072000)).toBe(`4${(63072000 + 10).toString(16).padStart(15, '0')}00000000`)
    expect(at(78796800)).toBe(`4${(78796800 + 11).toString(16).padStart(15, '0')}00000000`)
    // The last leap second: 2017-01-01 takes 37 s, the second before 36 s.
    expect(at(1483228799)).toBe('40000000586846a300000000')
    expect(at(1483228800)).toBe('40000000586846a500000000')
    expect(tai64nFromUnixMs(1500.25)).toEqual({
      seconds: (1n << 62n) + 1n + 10n,
      nanoseconds: 500_250_000,
    })
    expect(() => tai64nFromUnixMs(-1)).toThrow(RangeError)
    expect(() => tai64nFromUnixNanos(-1n)).toThrow(RangeError)
  })

  it('round-trips bytes and UTC, and orders like its bytes', () => {
    const t = fc.record({
      seconds: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      nanoseconds: fc.integer({ min: 0, max: 999_999_999 }),
    })
    fc.assert(
      fc.property(t, t, (a, b) => {
        expect(decodeTai64n(encodeTai64n(a))).toEqual(a)
        const byBytes = Buffer.compare(encodeTai64n(a), encodeTai64n(b))
        expect(Math.sign(compareTai64n(a, b))).toBe(byBytes)
        expect(compareTai64n(nextTai64n(a), a)).toBeGreaterThan(0)
      }),
    )
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 4_000_000_000n * 1_000_000_000n }), (ns) => {
        expect(tai64nToUnixNanos(tai64nFromUnixNanos(ns))).toBe(ns)
      }),
    )
  })

  it('rejects wrong lengths and nanoseconds ≥ 10^9 (as go-tai64 ParseN)', () => {
    expectBad(() => decodeTai64n(new Uint8Array(11)))
    expectBad(() => decodeTai64n(new Uint8Array(13)))
    expectBad(() => decodeTai64n(hex('4000000065937d4a3b9aca00')))
    expect(decodeTai64n(hex('4000000065937d4a3b9ac9ff')).nanoseconds).toBe(999_999_999)
    expect(() => encodeTai64n({ seconds: -1n, nanoseconds: 0 })).toThrow(RangeError)
    expect(() => encodeTai64n({ seconds: 0n, nanoseconds: 1e9 })).toThrow(RangeError)
  })
})
