/**
 * The small, strict subset of DER (ITU-T X.690) that key encodings need: SEQUENCE, OBJECT
 * IDENTIFIER and BIT STRING, definite minimal lengths, no trailing bytes. Every violation is a
 * `BadMessageError` (these bytes come from the network).
 */
import { BadMessageError } from '../../core/index.js'

/** DER tag of a SEQUENCE (constructed). */
export const TAG_SEQUENCE = 0x30
/** DER tag of an OBJECT IDENTIFIER. */
export const TAG_OID = 0x06
/** DER tag of a BIT STRING (primitive). */
export const TAG_BIT_STRING = 0x03

/** Longest OID content accepted, in bytes (real algorithm OIDs are under 20). */
export const MAX_OID_CONTENT = 64

/** A cursor over DER bytes. Reads are bounds-checked; nothing is copied. */
export class DerReader {
  readonly #buf: Uint8Array
  #pos = 0

  constructor(buf: Uint8Array) {
    this.#buf = buf
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.#pos === this.#buf.length
  }

  /** Reads one TLV with the expected tag and returns its content (a view). */
  read(tag: number, what: string): Uint8Array {
    const buf = this.#buf
    if (this.#pos >= buf.length) throw new BadMessageError(`DER: missing ${what}`)
    const t = buf[this.#pos++]!
    if (t !== tag) {
      throw new BadMessageError(`DER: expected ${what} (tag 0x${hex2(tag)}), got tag 0x${hex2(t)}`)
    }
    if (this.#pos >= buf.length) throw new BadMessageError(`DER: ${what} has no length`)
    const first = buf[this.#pos++]!
    let len: number
    if (first < 0x80) {
      len = first
    } else {
      const n = first & 0x7f
      if (n === 0) throw new BadMessageError(`DER: ${what} has an indefinite length`)
      if (n > 4) throw new BadMessageError(`DER: ${what} length has ${n} bytes`)
      if (this.#pos + n > buf.length) throw new BadMessageError(`DER: ${what} length is truncated`)
      if (buf[this.#pos] === 0) throw new BadMessageError(`DER: ${what} length is not minimal`)
      len = 0
      for (let i = 0; i < n; i++) len = len * 256 + buf[this.#pos++]!
      if (len < 0x80) throw new BadMessageError(`DER: ${what} length is not minimal`)
    }
    if (len > buf.length - this.#pos) {
      throw new BadMessageError(
        `DER: ${what} claims ${len} bytes, ${buf.length - this.#pos} remain`,
      )
    }
    const content = buf.subarray(this.#pos, this.#pos + len)
    this.#pos += len
    return content
  }

  /** Throws unless every byte has been read. */
  end(what: string): void {
    if (!this.done) {
      throw new BadMessageError(`DER: ${this.#buf.length - this.#pos} bytes after ${what}`)
    }
  }
}

/** Encodes one TLV. */
export function derEncode(tag: number, content: Uint8Array): Uint8Array {
  const len = content.length
  const lenBytes: number[] = []
  if (len < 0x80) {
    lenBytes.push(len)
  } else {
    for (let n = len; n > 0; n = Math.floor(n / 256)) lenBytes.unshift(n % 256)
    lenBytes.unshift(0x80 | lenBytes.length)
  }
  const out = new Uint8Array(1 + lenBytes.length + len)
  out[0] = tag
  out.set(lenBytes, 1)
  out.set(content, 1 + lenBytes.length)
  return out
}

/** Concatenates byte strings. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

const OID_TEXT = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/

/**
 * True when `oid` is a dotted OID this module can encode: at least two arcs, decimal without
 * leading zeros, first arc 0–2, second arc below 40 unless the first is 2.
 */
export function isValidOID(oid: string): boolean {
  if (typeof oid !== 'string' || oid.length > 200 || !OID_TEXT.test(oid)) return false
  const arcs = oid.split('.').map(BigInt)
  const [a, b] = arcs as [bigint, bigint]
  if (a > 2n) return false
  if (a < 2n && b >= 40n) return false
  return encodeOIDContent(arcs).length <= MAX_OID_CONTENT
}

/** The DER content bytes of a dotted OID. Throws `TypeError` for an invalid OID. */
export function oidContent(oid: string): Uint8Array {
  if (!isValidOID(oid)) throw new TypeError(`invalid object identifier ${JSON.stringify(oid)}`)
  return encodeOIDContent(oid.split('.').map(BigInt))
}

function encodeOIDContent(arcs: bigint[]): Uint8Array {
  const out: number[] = []
  const first = arcs[0]! * 40n + arcs[1]!
  for (const arc of [first, ...arcs.slice(2)]) {
    const septets: number[] = [Number(arc & 0x7fn)]
    for (let v = arc >> 7n; v > 0n; v >>= 7n) septets.unshift(Number(v & 0x7fn) | 0x80)
    out.push(...septets)
  }
  return Uint8Array.from(out)
}

/** The dotted text of OID content bytes. Throws `BadMessageError` for a malformed encoding. */
export function parseOIDContent(content: Uint8Array): string {
  if (content.length === 0) throw new BadMessageError('DER: empty object identifier')
  if (content.length > MAX_OID_CONTENT) {
    throw new BadMessageError(`DER: object identifier of ${content.length} bytes is too long`)
  }
  const arcs: bigint[] = []
  let v = 0n
  let start = true
  for (let i = 0; i < content.length; i++) {
    const byte = content[i]!
    if (start && byte === 0x80)
      throw new BadMessageError('DER: object identifier arc is not minimal')
    v = (v << 7n) | BigInt(byte & 0x7f)
    start = (byte & 0x80) === 0
    if (start) {
      arcs.push(v)
      v = 0n
    }
  }
  if (!start) throw new BadMessageError('DER: object identifier is truncated')
  const first = arcs[0]!
  const a = first < 40n ? 0n : first < 80n ? 1n : 2n
  return [a, first - a * 40n, ...arcs.slice(1)].join('.')
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0')
}
