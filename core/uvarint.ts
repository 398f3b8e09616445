/**
 * Unsigned LEB128 varints as Go's `binary.PutUvarint`/`binary.Uvarint`, limited to values
 * that fit in a JS safe integer (< 2^53). Used by the fragswarm, p2pmux and askswarm headers.
 */

/** Most bytes a uvarint below 2^53 takes. */
export const MAX_UVARINT_LENGTH = 8

/** Number of bytes `n` takes as a uvarint. */
export function uvarintLength(n: number): number {
  checkValue(n)
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

/** Writes `n` at `buf[off..]`; returns the offset after it. The caller sizes `buf` (see `uvarintLength`). */
export function putUvarint(buf: Uint8Array, off: number, n: number): number {
  checkValue(n)
  while (n >= 0x80) {
    buf[off++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  buf[off++] = n
  return off
}

/** `n` as a fresh uvarint. */
export function encodeUvarint(n: number): Uint8Array {
  const out = new Uint8Array(uvarintLength(n))
  putUvarint(out, 0, n)
  return out
}

/**
 * Reads a uvarint at `buf[off..]`. Returns `[value, nextOffset]`, or undefined when the bytes
 * end early, the encoding is not minimal (a trailing 0x00 group, which Go also rejects for
 * overlong forms), or the value is 2^53 or more.
 */
export function readUvarint(buf: Uint8Array, off = 0): [number, number] | undefined {
  let value = 0
  let scale = 1
  for (let i = 0; i < MAX_UVARINT_LENGTH; i++) {
    const at = off + i
    if (at >= buf.length) return undefined
    const b = buf[at]!
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return undefined
      if (value > Number.MAX_SAFE_INTEGER) return undefined
      return [value, at + 1]
    }
    scale *= 128
  }
  return undefined
}

function checkValue(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`uvarint value must be a non-negative safe integer, got ${n}`)
  }
}
