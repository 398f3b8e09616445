/**
 * The fragswarm wire format (as go-p2p's `s/fragswarm`):
 *
 * ```
 * uvarint(msgId) uvarint(partIndex) uvarint(partCount) data
 * ```
 *
 * Every message goes through this framing, including one that fits in a single part
 * (`partIndex = 0`, `partCount = 1`). go-p2p reads the fields as uint32/uint8/uint8 and
 * truncates larger values; this parser rejects them instead, so every accepted header has
 * exactly one meaning.
 */
import {
  type Payload,
  payloadParts,
  payloadSize,
  putUvarint,
  readUvarint,
  uvarintLength,
} from '../../core/index.js'

/** Most parts one message may have (go-p2p carries `partCount` as a uint8). */
export const MAX_PARTS = 255

/** Largest message id (go-p2p's ids are uint32 and wrap). */
export const MAX_MSG_ID = 0xffff_ffff

/**
 * Largest header this implementation writes: a 5-byte id, 2-byte index and 2-byte count.
 * A part carries at most `innerMtu - MAX_HEADER_SIZE` bytes of data. (go-p2p reserves 15
 * bytes; the receiver does not depend on either figure.)
 */
export const MAX_HEADER_SIZE = 9

/** The three header fields of a part. */
export interface FragHeader {
  /** The sender's id for the message (unique per sender while its parts are in flight). */
  readonly msgId: number
  /** Position of this part, `0 <= partIndex < partCount`. */
  readonly partIndex: number
  /** Number of parts of the message, `1..MAX_PARTS`. */
  readonly partCount: number
}

/** A parsed part: its header and a view (not a copy) of its data. */
export interface FragPart extends FragHeader {
  readonly data: Uint8Array
}

/**
 * Encodes a header. Throws `RangeError` when a field is out of range (a bug in the caller,
 * never a network condition).
 */
export function encodeFragHeader(h: FragHeader): Uint8Array {
  checkHeader(h)
  const out = new Uint8Array(
    uvarintLength(h.msgId) + uvarintLength(h.partIndex) + uvarintLength(h.partCount),
  )
  let off = putUvarint(out, 0, h.msgId)
  off = putUvarint(out, off, h.partIndex)
  putUvarint(out, off, h.partCount)
  return out
}

/**
 * Parses a part. Returns undefined (never throws) when the bytes end inside the header, a
 * varint is not minimal, the id exceeds `MAX_MSG_ID`, `partCount` is 0 or exceeds
 * `MAX_PARTS`, or `partIndex >= partCount`. `data` is a view into `buf`.
 */
export function parseFragPart(buf: Uint8Array): FragPart | undefined {
  const id = readUvarint(buf, 0)
  if (id === undefined || id[0] > MAX_MSG_ID) return undefined
  const index = readUvarint(buf, id[1])
  if (index === undefined) return undefined
  const count = readUvarint(buf, index[1])
  if (count === undefined) return undefined
  const partCount = count[0]
  const partIndex = index[0]
  if (partCount < 1 || partCount > MAX_PARTS || partIndex >= partCount) return undefined
  return { msgId: id[0], partIndex, partCount, data: buf.subarray(count[1]) }
}

function checkHeader(h: FragHeader): void {
  if (!Number.isInteger(h.msgId) || h.msgId < 0 || h.msgId > MAX_MSG_ID) {
    throw new RangeError(`msgId must be an integer in [0, ${MAX_MSG_ID}], got ${h.msgId}`)
  }
  if (!Number.isInteger(h.partCount) || h.partCount < 1 || h.partCount > MAX_PARTS) {
    throw new RangeError(`partCount must be an integer in [1, ${MAX_PARTS}], got ${h.partCount}`)
  }
  if (!Number.isInteger(h.partIndex) || h.partIndex < 0 || h.partIndex >= h.partCount) {
    throw new RangeError(
      `partIndex must be an integer in [0, partCount), got ${h.partIndex} of ${h.partCount}`,
    )
  }
}

/**
 * Splits `data` into the parts of message `msgId`: `[header, chunk]` pairs, every chunk but
 * the last `partSize` bytes long, the last one 1..partSize bytes (an empty message is one
 * empty part). Chunks are views into `data`. Throws `RangeError` when `partSize` is not a
 * positive integer or the message would need more than `MAX_PARTS` parts.
 */
export function fragment(
  msgId: number,
  data: Uint8Array,
  partSize: number,
): (readonly [header: Uint8Array, chunk: Uint8Array])[] {
  // With one buffer every part has exactly one chunk, except the empty message's part.
  return fragmentPayload(msgId, data, partSize).map(
    (p) => [p[0]!, p[1] ?? data.subarray(0, 0)] as const,
  )
}

/**
 * Splits an iovec into the parts of message `msgId` without copying it: each part is a list
 * `[header, ...chunks]` whose chunks are views into `data`'s buffers (a part that spans two of
 * them has two chunks; empty buffers are skipped). The data of every part but the last is
 * `partSize` bytes, the last 1..partSize bytes (an empty message is one part with no chunk).
 * The headers share one new buffer; nothing else is allocated per byte. Throws `RangeError`
 * when `partSize` is not a positive integer or the message would need more than `MAX_PARTS`
 * parts.
 */
export function fragmentPayload(
  msgId: number,
  data: Payload,
  partSize: number,
): (readonly Uint8Array[])[] {
  if (!Number.isSafeInteger(partSize) || partSize < 1) {
    throw new RangeError(`partSize must be a positive integer, got ${partSize}`)
  }
  const size = payloadSize(data)
  const count = Math.max(1, Math.ceil(size / partSize))
  if (count > MAX_PARTS) {
    throw new RangeError(
      `a message of ${size} bytes needs ${count} parts of ${partSize} bytes; at most ${MAX_PARTS} are allowed`,
    )
  }
  checkHeader({ msgId, partIndex: 0, partCount: count })
  // Index i takes 1 byte below 128 and 2 bytes from 128 (MAX_PARTS < 2^14).
  const perPart = uvarintLength(msgId) + uvarintLength(count)
  const headers = new Uint8Array(count * (perPart + 1) + Math.max(0, count - 128))
  const pieces = payloadParts(data)
  const parts = new Array<readonly Uint8Array[]>(count)
  let h = 0
  let piece = 0
  let pieceOff = 0
  for (let i = 0; i < count; i++) {
    const start = h
    h = putUvarint(headers, h, msgId)
    h = putUvarint(headers, h, i)
    h = putUvarint(headers, h, count)
    const part: Uint8Array[] = [headers.subarray(start, h)]
    let need = i < count - 1 ? partSize : size - i * partSize
    while (need > 0) {
      const p = pieces[piece]!
      const avail = p.length - pieceOff
      if (avail === 0) {
        piece++
        pieceOff = 0
        continue
      }
      const take = Math.min(avail, need)
      part.push(take === p.length ? p : p.subarray(pieceOff, pieceOff + take))
      pieceOff += take
      need -= take
    }
    parts[i] = part
  }
  return parts
}
