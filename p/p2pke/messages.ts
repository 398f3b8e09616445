/**
 * P2PKE v1 wire encoding: the 4-byte counter header, the three handshake protobufs and TAI64N
 * timestamps. Pure functions, no crypto. Behaviour lives in `session.ts`.
 *
 * The protobufs (`p2pke.proto` in go-p2p) are encoded by hand, exactly as Go's
 * `proto.Marshal` writes them: fields in field-number order, proto3 defaults (0, empty bytes)
 * left out. Decoding is strict: only that canonical form is accepted — each field at most once,
 * in ascending order, with the declared wire type, minimal varints, no default value written
 * out, and **no unknown fields** (rejected, not skipped). So every accepted message has exactly
 * one encoding and `encode(decode(b))` returns `b`. go-p2p never writes anything else; a peer
 * that did would gain nothing but the ability to vary the bytes (and so the session id) of a
 * message while keeping its meaning.
 *
 * Malformed input makes the decoders throw `BadMessageError` (code `ERR_BAD_MESSAGE`) and nothing
 * else; callers that read from the network catch it and drop the message.
 */
import { BadMessageError } from '../../core/index.js'
import { HEADER_SIZE, MAX_WIRE_LEN, NONCE_INIT_HELLO } from './constants.js'

// ---------------------------------------------------------------------------------------------
// Header

/** A P2PKE message split at its header. `header` and `body` are views into the input. */
export interface WireMessage {
  /** The big-endian counter: 0–3 handshake, ≥ 16 data. */
  readonly counter: number
  /** The 4 header bytes (the AEAD associated data of sealed messages). */
  readonly header: Uint8Array
  /** Everything after the header. */
  readonly body: Uint8Array
}

/** The 4-byte big-endian header for `counter` (an integer in [0, 2^32)). */
export function encodeHeader(counter: number): Uint8Array {
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffff_ffff) {
    throw new RangeError(`counter must be an integer in [0, 2^32), got ${counter}`)
  }
  const out = new Uint8Array(HEADER_SIZE)
  new DataView(out.buffer).setUint32(0, counter, false)
  return out
}

/**
 * Splits a message at its header (go-p2p `ParseMessage`), or returns undefined when it is
 * shorter than a header or longer than `MAX_WIRE_LEN`. No copy.
 */
export function parseMessage(bytes: Uint8Array): WireMessage | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined
  if (bytes.length < HEADER_SIZE || bytes.length > MAX_WIRE_LEN) return undefined
  const counter = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE).getUint32(0, false)
  return { counter, header: bytes.subarray(0, HEADER_SIZE), body: bytes.subarray(HEADER_SIZE) }
}

/** The counter of a message, or undefined when it is shorter than a header. */
export function messageCounter(bytes: Uint8Array): number | undefined {
  return parseMessage(bytes)?.counter
}

/** True when `bytes` has the header of an InitHello (counter 0); nothing else is checked. */
export function isInitHello(bytes: Uint8Array): boolean {
  return messageCounter(bytes) === NONCE_INIT_HELLO
}

// ---------------------------------------------------------------------------------------------
// Protobufs

/** `message InitHello { uint32 version = 1; bytes timestamp_tai64n = 2; bytes key_x509 = 3; bytes sig = 4; }` */
export interface InitHello {
  /** The protocol version; 1 in P2PKE v1. */
  readonly version: number
  /** The initiator's 12-byte TAI64N timestamp. */
  readonly timestampTai64n: Uint8Array
  /** The initiator's long-lived public key, DER SubjectPublicKeyInfo. */
  readonly keyX509: Uint8Array
  /** Signature of `timestampTai64n` with purpose `p2pke/timestamp`. */
  readonly sig: Uint8Array
}

/** `message RespHello { bytes key_x509 = 1; bytes sig = 2; }` */
export interface RespHello {
  /** The responder's long-lived public key, DER SubjectPublicKeyInfo. */
  readonly keyX509: Uint8Array
  /** Signature of the handshake hash after InitHello, purpose `p2pke/channel-binding`. */
  readonly sig: Uint8Array
}

/** `message InitDone { bytes sig = 1; }` */
export interface InitDone {
  /** Signature of the final handshake hash, purpose `p2pke/channel-binding`. */
  readonly sig: Uint8Array
}

const WIRE_VARINT = 0
const WIRE_BYTES = 2

/** The canonical protobuf encoding of an InitHello (as Go's `proto.Marshal`). */
export function encodeInitHello(m: InitHello): Uint8Array {
  checkUint32(m.version, 'version')
  const w = new ProtoWriter()
  w.varintField(1, m.version)
  w.bytesField(2, m.timestampTai64n, 'timestampTai64n')
  w.bytesField(3, m.keyX509, 'keyX509')
  w.bytesField(4, m.sig, 'sig')
  return w.finish()
}

/** Decodes a canonical InitHello protobuf; throws `BadMessageError` for anything else. */
export function decodeInitHello(bytes: Uint8Array): InitHello {
  const r = new ProtoReader(bytes, 'InitHello', [WIRE_VARINT, WIRE_BYTES, WIRE_BYTES, WIRE_BYTES])
  const version = r.varint(1)
  const timestampTai64n = r.bytes(2)
  const keyX509 = r.bytes(3)
  const sig = r.bytes(4)
  r.end()
  return { version, timestampTai64n, keyX509, sig }
}

/** The canonical protobuf encoding of a RespHello. */
export function encodeRespHello(m: RespHello): Uint8Array {
  const w = new ProtoWriter()
  w.bytesField(1, m.keyX509, 'keyX509')
  w.bytesField(2, m.sig, 'sig')
  return w.finish()
}

/** Decodes a canonical RespHello protobuf; throws `BadMessageError` for anything else. */
export function decodeRespHello(bytes: Uint8Array): RespHello {
  const r = new ProtoReader(bytes, 'RespHello', [WIRE_BYTES, WIRE_BYTES])
  const keyX509 = r.bytes(1)
  const sig = r.bytes(2)
  r.end()
  return { keyX509, sig }
}

/** The canonical protobuf encoding of an InitDone. */
export function encodeInitDone(m: InitDone): Uint8Array {
  const w = new ProtoWriter()
  w.bytesField(1, m.sig, 'sig')
  return w.finish()
}

/** Decodes a canonical InitDone protobuf; throws `BadMessageError` for anything else. */
export function decodeInitDone(bytes: Uint8Array): InitDone {
  const r = new ProtoReader(bytes, 'InitDone', [WIRE_BYTES])
  const sig = r.bytes(1)
  r.end()
  return { sig }
}

/**
 * The Noise payload of InitHello: the protobuf followed by its length as 2 bytes big-endian
 * (go-p2p `writeInitHello`). Throws `RangeError` when the protobuf is 64 KiB or longer.
 */
export function encodeInitHelloPayload(m: InitHello): Uint8Array {
  const proto = encodeInitHello(m)
  if (proto.length > 0xffff) throw new RangeError(`InitHello of ${proto.length} bytes is too long`)
  const out = new Uint8Array(proto.length + 2)
  out.set(proto)
  out[proto.length] = proto.length >>> 8
  out[proto.length + 1] = proto.length & 0xff
  return out
}

/**
 * Decodes the Noise payload of InitHello. Stricter than go-p2p's `parseInitHello`, which reads
 * the length from the end and ignores any bytes before the protobuf: here the length must cover
 * the whole payload. Throws `BadMessageError`.
 */
export function decodeInitHelloPayload(payload: Uint8Array): InitHello {
  if (payload.length < 2) throw new BadMessageError('InitHello: missing length')
  const n = (payload[payload.length - 2]! << 8) | payload[payload.length - 1]!
  if (n !== payload.length - 2) {
    throw new BadMessageError(`InitHello: length ${n} does not match ${payload.length - 2} bytes`)
  }
  return decodeInitHello(payload.subarray(0, n))
}

/** An InitHello message taken apart without any cryptography. */
export interface ParsedInitHello {
  /** The initiator's ephemeral X25519 public key (32 bytes). */
  readonly ephemeral: Uint8Array
  /** The decoded InitHello protobuf. */
  readonly hello: InitHello
}

/**
 * Takes an InitHello message apart (header, ephemeral key, protobuf, length), checking only
 * the encoding: no signature, no key exchange. Cheap enough to run before any expensive check.
 * Throws `BadMessageError` for anything but a well-formed InitHello.
 */
export function parseInitHelloMessage(bytes: Uint8Array): ParsedInitHello {
  const msg = parseMessage(bytes)
  if (msg === undefined) throw new BadMessageError('InitHello: not a P2PKE message')
  if (msg.counter !== NONCE_INIT_HELLO) throw new BadMessageError('InitHello: counter is not 0')
  if (msg.body.length < 32 + 2) throw new BadMessageError('InitHello: too short')
  return {
    ephemeral: msg.body.subarray(0, 32),
    hello: decodeInitHelloPayload(msg.body.subarray(32)),
  }
}

class ProtoWriter {
  readonly #parts: number[] = []

  varintField(field: number, value: number): void {
    if (value === 0) return // proto3: a default value is not written
    this.#varint((field << 3) | WIRE_VARINT)
    this.#varint(value)
  }

  bytesField(field: number, value: Uint8Array, name: string): void {
    if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
    if (value.length === 0) return
    this.#varint((field << 3) | WIRE_BYTES)
    this.#varint(value.length)
    for (const b of value) this.#parts.push(b)
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#parts)
  }

  #varint(v: number): void {
    while (v >= 0x80) {
      this.#parts.push((v & 0x7f) | 0x80)
      v = Math.floor(v / 128)
    }
    this.#parts.push(v)
  }
}

/** Reads the canonical form of a message whose fields are numbered 1..n with the given wire types. */
class ProtoReader {
  readonly #b: Uint8Array
  readonly #what: string
  readonly #types: readonly number[]
  #off = 0
  // The next field present in the input (0 once the input is exhausted); read lazily.
  #nextField = -1

  constructor(b: Uint8Array, what: string, types: readonly number[]) {
    if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`)
    this.#b = b
    this.#what = what
    this.#types = types
  }

  /** The value of varint field `field`, or 0 when absent. */
  varint(field: number): number {
    if (!this.#at(field)) return 0
    const v = this.#readVarint(0xffff_ffff, 'value')
    if (v === 0) this.#fail(`field ${field} holds the default value`)
    this.#nextField = -1
    return v
  }

  /** A copy of bytes field `field`, or an empty array when absent. */
  bytes(field: number): Uint8Array {
    if (!this.#at(field)) return new Uint8Array(0)
    const n = this.#readVarint(this.#b.length, 'length')
    if (n === 0) this.#fail(`field ${field} holds the default value`)
    if (n > this.#b.length - this.#off) this.#fail(`field ${field} overruns the message`)
    const out = this.#b.slice(this.#off, this.#off + n)
    this.#off += n
    this.#nextField = -1
    return out
  }

  end(): void {
    if (this.#peek() !== 0) this.#fail('fields out of order or repeated')
  }

  #at(field: number): boolean {
    return this.#peek() === field
  }

  /** Reads the next tag (once) and returns its field number, or 0 at the end of the input. */
  #peek(): number {
    if (this.#nextField >= 0) return this.#nextField
    if (this.#off === this.#b.length) return (this.#nextField = 0)
    const tag = this.#readVarint(0xffff_ffff, 'tag')
    const field = Math.floor(tag / 8)
    const type = tag % 8
    if (field < 1 || field > this.#types.length) this.#fail(`unknown field ${field}`)
    if (type !== this.#types[field - 1]) this.#fail(`field ${field} has wire type ${type}`)
    return (this.#nextField = field)
  }

  #readVarint(max: number, what: string): number {
    let v = 0
    let scale = 1
    for (let i = 0; ; i++) {
      if (this.#off >= this.#b.length) this.#fail(`truncated ${what}`)
      if (i >= 5) this.#fail(`${what} varint too long`)
      const byte = this.#b[this.#off++]!
      v += (byte & 0x7f) * scale
      scale *= 128
      if (byte < 0x80) {
        if (byte === 0 && i > 0) this.#fail(`${what} varint not minimal`)
        break
      }
    }
    if (v > max) this.#fail(`${what} ${v} out of range`)
    return v
  }

  #fail(why: string): never {
    throw new BadMessageError(`${this.#what}: ${why}`)
  }
}

function checkUint32(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new RangeError(`${name} must be a uint32, got ${v}`)
  }
}

// ---------------------------------------------------------------------------------------------
// TAI64N

/** Length of an encoded TAI64N timestamp. */
export const TAI64N_SIZE = 12

/** A TAI64N timestamp: the TAI64 label (2^62 + seconds of TAI since 1970) and nanoseconds. */
export interface Tai64n {
  /** The 64-bit TAI64 label. */
  readonly seconds: bigint
  /** Nanoseconds, in [0, 10^9). */
  readonly nanoseconds: number
}

const TAI64_OFFSET = 1n << 62n
const NANOS_PER_SECOND = 1_000_000_000n
const UNIX_MINUS_1900 = 2_208_988_800

// TAI − UTC from each leap second on, as go-tai64 (`leapseconds.go`) lists it: the UTC second
// (since 1900) it takes effect and the offset. Times before 1972 use 10 s, as go-tai64 does.
const LEAP_SECONDS_1900: readonly (readonly [number, number])[] = [
  [2272060800, 10],
  [2287785600, 11],
  [2303683200, 12],
  [2335219200, 13],
  [2366755200, 14],
  [2398291200, 15],
  [2429913600, 16],
  [2461449600, 17],
  [2492985600, 18],
  [2524521600, 19],
  [2571782400, 20],
  [2603318400, 21],
  [2634854400, 22],
  [2698012800, 23],
  [2776982400, 24],
  [2840140800, 25],
  [2871676800, 26],
  [2918937600, 27],
  [2950473600, 28],
  [2982009600, 29],
  [3029443200, 30],
  [3076704000, 31],
  [3124137600, 32],
  [3345062400, 33],
  [3439756800, 34],
  [3550089600, 35],
  [3644697600, 36],
  [3692217600, 37],
]
const LEAP_SECONDS_UNIX = LEAP_SECONDS_1900.map(([t, o]) => [t - UNIX_MINUS_1900, o] as const)

function leapOffsetAtUtc(unixSeconds: number): number {
  let offset = LEAP_SECONDS_UNIX[0]![1]
  for (const [t, o] of LEAP_SECONDS_UNIX) {
    if (t > unixSeconds) break
    offset = o
  }
  return offset
}

function leapOffsetAtTai(taiUnixSeconds: number): number {
  let offset = LEAP_SECONDS_UNIX[0]![1]
  for (const [t, o] of LEAP_SECONDS_UNIX) {
    if (t > taiUnixSeconds - offset) break
    offset = o
  }
  return offset
}

/**
 * The TAI64N of a UTC instant given as nanoseconds since the Unix epoch (≥ 0), as go-tai64's
 * `FromGoTime`: UTC seconds plus the TAI − UTC offset of that date (37 s since 2017) plus 2^62.
 */
export function tai64nFromUnixNanos(unixNanos: bigint): Tai64n {
  if (typeof unixNanos !== 'bigint' || unixNanos < 0n) {
    throw new RangeError('unixNanos must be a non-negative bigint')
  }
  const secs = unixNanos / NANOS_PER_SECOND
  const nanoseconds = Number(unixNanos % NANOS_PER_SECOND)
  const offset = BigInt(leapOffsetAtUtc(Number(secs)))
  return { seconds: TAI64_OFFSET + secs + offset, nanoseconds }
}

/** The TAI64N of a UTC instant given as milliseconds since the Unix epoch (≥ 0, e.g. `Date.now()`). */
export function tai64nFromUnixMs(unixMs: number): Tai64n {
  if (!Number.isFinite(unixMs) || unixMs < 0) {
    throw new RangeError(`unixMs must be a non-negative number, got ${unixMs}`)
  }
  const whole = Math.floor(unixMs)
  const subNanos = Math.round((unixMs - whole) * 1e6)
  return tai64nFromUnixNanos(BigInt(whole) * 1_000_000n + BigInt(subNanos))
}

/** The UTC instant of a TAI64N as nanoseconds since the Unix epoch (go-tai64's `GoTime`). */
export function tai64nToUnixNanos(t: Tai64n): bigint {
  const tai = t.seconds - TAI64_OFFSET
  const offset = BigInt(leapOffsetAtTai(Number(tai)))
  return (tai - offset) * NANOS_PER_SECOND + BigInt(t.nanoseconds)
}

/** The 12 bytes of a TAI64N: the label as 8 bytes big-endian, then nanoseconds as 4 bytes big-endian. */
export function encodeTai64n(t: Tai64n): Uint8Array {
  if (typeof t.seconds !== 'bigint' || t.seconds < 0n || t.seconds >= 1n << 64n) {
    throw new RangeError('seconds must be a bigint in [0, 2^64)')
  }
  if (!Number.isInteger(t.nanoseconds) || t.nanoseconds < 0 || t.nanoseconds >= 1e9) {
    throw new RangeError(`nanoseconds must be an integer in [0, 10^9), got ${t.nanoseconds}`)
  }
  const out = new Uint8Array(TAI64N_SIZE)
  const v = new DataView(out.buffer)
  v.setBigUint64(0, t.seconds, false)
  v.setUint32(8, t.nanoseconds, false)
  return out
}

/**
 * Decodes 12 TAI64N bytes (go-tai64's `ParseN`): throws `BadMessageError` unless there are
 * exactly 12 bytes and the nanoseconds are below 10^9.
 */
export function decodeTai64n(bytes: Uint8Array): Tai64n {
  if (!(bytes instanceof Uint8Array) || bytes.length !== TAI64N_SIZE) {
    throw new BadMessageError(`TAI64N must be ${TAI64N_SIZE} bytes`)
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, TAI64N_SIZE)
  const nanoseconds = v.getUint32(8, false)
  if (nanoseconds >= 1e9) throw new BadMessageError(`TAI64N nanoseconds ${nanoseconds} ≥ 10^9`)
  return { seconds: v.getBigUint64(0, false), nanoseconds }
}

/** Chronological order of two TAI64N timestamps: negative, zero or positive. */
export function compareTai64n(a: Tai64n, b: Tai64n): number {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1
  return a.nanoseconds - b.nanoseconds
}

/** The timestamp one nanosecond after `t`. */
export function nextTai64n(t: Tai64n): Tai64n {
  return t.nanoseconds === 999_999_999
    ? { seconds: t.seconds + 1n, nanoseconds: 0 }
    : { seconds: t.seconds, nanoseconds: t.nanoseconds + 1 }
}
