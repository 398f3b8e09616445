/**
 * p2pmux channel headers (as go-p2p's `p/p2pmux`). Every tell and every ask request starts
 * with the channel's header; the rest is the channel's payload. Ask responses carry no header.
 *
 * | mux     | header                         | ids                    |
 * |---------|--------------------------------|------------------------|
 * | string  | `uvarint(len(name)) name`      | UTF-8 strings          |
 * | uint16  | 2 bytes big-endian             | 0 .. 2^16−1            |
 * | uint32  | 4 bytes big-endian             | 0 .. 2^32−1            |
 * | uint64  | 8 bytes big-endian             | 0n .. 2^64−1 (bigint)  |
 * | varint  | `uvarint(id)`                  | 0 .. 2^53−1 (number)   |
 */
import { putUvarint, readUvarint, uvarintLength } from '../../core/index.js'

/**
 * What `decode` found: the id and where the body starts, or why the header cannot name an
 * open channel: `malformed` (the bytes are not a header), `unrepresentable` (a well-formed
 * header whose id no local channel can have: a string name that is not UTF-8, a varint id
 * of 2^53 or more).
 */
export type Decoded<Id> =
  | { readonly ok: true; readonly id: Id; readonly bodyOffset: number }
  | { readonly ok: false; readonly reason: 'malformed' | 'unrepresentable' }

/** How one kind of mux names its channels on the wire. */
export interface ChannelCodec<Id> {
  /** Short name of the mux kind (`string`, `uint16`, ...). */
  readonly kind: string
  /** Checks an id from a caller; throws `TypeError`/`RangeError` naming the problem. */
  check(id: Id): void
  /** The header for `id` (already checked). */
  encode(id: Id): Uint8Array
  /** Reads the header at the start of `buf`. Never throws. */
  decode(buf: Uint8Array): Decoded<Id>
  /**
   * Optional fast path of the receive loop: the byte length of the header at the start of
   * `buf`, without decoding the id, or 0 when it cannot be the header of a local channel. It
   * must agree with `decode`: whenever `decode(buf)` is ok, this is its `bodyOffset` (it may
   * also return a length for an `unrepresentable` header). The mux then finds the channel by
   * comparing header bytes, and calls `decode` only for headers that match no open channel.
   * Never throws.
   */
  headerLength?(buf: Uint8Array): number
  /** Display text of an id (for errors and logs). */
  format(id: Id): string
}

const MALFORMED = { ok: false, reason: 'malformed' } as const
const UNREPRESENTABLE = { ok: false, reason: 'unrepresentable' } as const

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** String channel names: `uvarint(byte length) UTF-8 bytes`. */
export const stringCodec: ChannelCodec<string> = {
  kind: 'string',
  check(id) {
    if (typeof id !== 'string')
      throw new TypeError(`channel name must be a string, got ${typeof id}`)
    // A lone surrogate has no UTF-8 form: it would be sent as U+FFFD and never match.
    if (strictUtf8.decode(utf8.encode(id)) !== id) {
      throw new RangeError(`channel name ${JSON.stringify(id)} is not well-formed Unicode`)
    }
  },
  encode(id) {
    const name = utf8.encode(id)
    const out = new Uint8Array(uvarintLength(name.length) + name.length)
    out.set(name, putUvarint(out, 0, name.length))
    return out
  },
  decode(buf) {
    const len = readUvarint(buf, 0)
    if (len === undefined) return MALFORMED
    const [n, at] = len
    if (n > buf.length - at) return MALFORMED
    let id: string
    try {
      id = strictUtf8.decode(buf.subarray(at, at + n))
    } catch {
      // Not UTF-8: a name no channel here can have (go-p2p peers may send any bytes).
      return UNREPRESENTABLE
    }
    return { ok: true, id, bodyOffset: at + n }
  },
  headerLength(buf) {
    // Names shorter than 128 bytes have a one-byte length: no varint parse, no allocation.
    const b = buf.length > 0 ? buf[0]! : 0x80
    if (b < 0x80) return 1 + b <= buf.length ? 1 + b : 0
    const len = readUvarint(buf, 0)
    if (len === undefined || len[0] > buf.length - len[1]) return 0
    return len[1] + len[0]
  },
  format: (id) => JSON.stringify(id),
}

function fixedCodec(kind: string, bytes: 2 | 4): ChannelCodec<number> {
  const max = bytes === 2 ? 0xffff : 0xffff_ffff
  return {
    kind,
    check(id) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > max) {
        throw new RangeError(
          `${kind} channel id must be an integer in [0, ${max}], got ${String(id)}`,
        )
      }
    },
    encode(id) {
      const out = new Uint8Array(bytes)
      const view = new DataView(out.buffer)
      if (bytes === 2) view.setUint16(0, id)
      else view.setUint32(0, id)
      return out
    },
    decode(buf) {
      if (buf.length < bytes) return MALFORMED
      const view = new DataView(buf.buffer, buf.byteOffset, bytes)
      const id = bytes === 2 ? view.getUint16(0) : view.getUint32(0)
      return { ok: true, id, bodyOffset: bytes }
    },
    headerLength: (buf) => (buf.length < bytes ? 0 : bytes),
    format: (id) => String(id),
  }
}

/** uint16 channel ids: 2 bytes big-endian. */
export const uint16Codec: ChannelCodec<number> = fixedCodec('uint16', 2)

/** uint32 channel ids: 4 bytes big-endian. */
export const uint32Codec: ChannelCodec<number> = fixedCodec('uint32', 4)

const MAX_UINT64 = (1n << 64n) - 1n

/** uint64 channel ids (bigint): 8 bytes big-endian. */
export const uint64Codec: ChannelCodec<bigint> = {
  kind: 'uint64',
  check(id) {
    if (typeof id !== 'bigint' || id < 0n || id > MAX_UINT64) {
      throw new RangeError(`uint64 channel id must be a bigint in [0, 2^64-1], got ${String(id)}`)
    }
  },
  encode(id) {
    const out = new Uint8Array(8)
    new DataView(out.buffer).setBigUint64(0, id)
    return out
  },
  decode(buf) {
    if (buf.length < 8) return MALFORMED
    return {
      ok: true,
      id: new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0),
      bodyOffset: 8,
    }
  },
  headerLength: (buf) => (buf.length < 8 ? 0 : 8),
  format: (id) => `${id}n`,
}

/** Most bytes of a uvarint holding a uint64 (Go's `binary.MaxVarintLen64`). */
const MAX_UVARINT64_LENGTH = 10

/** varint channel ids: `uvarint(id)`, ids 0..2^53−1 as numbers. */
export const varintCodec: ChannelCodec<number> = {
  kind: 'varint',
  check(id) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new RangeError(
        `varint channel id must be a non-negative safe integer, got ${String(id)}`,
      )
    }
  },
  encode(id) {
    const out = new Uint8Array(uvarintLength(id))
    putUvarint(out, 0, id)
    return out
  },
  decode(buf) {
    const got = readUvarint(buf, 0)
    if (got !== undefined) return { ok: true, id: got[0], bodyOffset: got[1] }
    return isUvarint64(buf) ? UNREPRESENTABLE : MALFORMED
  },
  headerLength(buf) {
    if (buf.length > 0 && buf[0]! < 0x80) return 1
    const got = readUvarint(buf, 0)
    return got === undefined ? 0 : got[1]
  },
  format: (id) => String(id),
}

/**
 * True when `buf` starts with a minimal uvarint of at most 64 bits (as Go's varint mux may
 * send) — used to tell a too-large id from garbage.
 */
function isUvarint64(buf: Uint8Array): boolean {
  for (let i = 0; i < MAX_UVARINT64_LENGTH && i < buf.length; i++) {
    const b = buf[i]!
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return false
      return i < MAX_UVARINT64_LENGTH - 1 || b <= 1
    }
  }
  return false
}
