/**
 * PeerID: 32 bytes naming a peer (in p2pkeswarm, SHAKE256-256 of its public key).
 *
 * Text form: unpadded base64 over the order-preserving alphabet
 * `-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz` (as go-p2p), 43 characters.
 * The alphabet is sorted by ASCII, so comparing texts orders PeerIDs as comparing bytes does.
 */
import { BadAddrError } from './errors.js'
import { bytesCompare, bytesEqual } from './payload.js'
import type { Addr } from './swarm.js'

/** Length of a PeerID in bytes. */
export const PEER_ID_SIZE = 32
/** Length of a PeerID's text form. */
export const PEER_ID_TEXT_LENGTH = 43

/** The order-preserving base64 alphabet (sorted by character code). */
export const ORDERED_BASE64_ALPHABET =
  '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'

const DECODE = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) DECODE[ORDERED_BASE64_ALPHABET.charCodeAt(i)] = i

/** Encodes bytes as unpadded order-preserving base64. */
export function encodeOrderedBase64(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += sextet(n >> 18) + sextet(n >> 12) + sextet(n >> 6) + sextet(n)
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += sextet(n >> 18) + sextet(n >> 12)
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += sextet(n >> 18) + sextet(n >> 12) + sextet(n >> 6)
  }
  return out
}

/**
 * Decodes unpadded order-preserving base64. Returns undefined on a character outside the
 * alphabet, an impossible length, or non-zero trailing bits (so every byte string has exactly
 * one text form).
 */
export function decodeOrderedBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? DECODE[c]! : -1
    if (v < 0) return undefined
    acc = ((acc << 6) | v) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined
  return out
}

function sextet(n: number): string {
  return ORDERED_BASE64_ALPHABET[n & 63]!
}

/** A peer's 32-byte identity. Immutable; also an `Addr` (its text is the base64 form). */
export class PeerID implements Addr {
  readonly #bytes: Uint8Array
  #text?: string

  /** Copies `bytes`, which must be exactly 32 bytes long (else `RangeError`). */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== PEER_ID_SIZE) {
      throw new RangeError(`PeerID must be ${PEER_ID_SIZE} bytes`)
    }
    this.#bytes = bytes.slice()
  }

  /** Parses the 43-character text form. Throws `BadAddrError` on wrong length or characters. */
  static parse(text: string): PeerID {
    if (typeof text !== 'string' || text.length !== PEER_ID_TEXT_LENGTH) {
      throw new BadAddrError(
        `PeerID text must be ${PEER_ID_TEXT_LENGTH} characters, got ${describeLength(text)}`,
      )
    }
    const bytes = decodeOrderedBase64(text)
    if (bytes === undefined) {
      throw new BadAddrError(`PeerID text ${JSON.stringify(text)} is not ordered base64`)
    }
    return new PeerID(bytes)
  }

  /** A copy of the 32 bytes. */
  bytes(): Uint8Array {
    return this.#bytes.slice()
  }

  /** True when both name the same peer. */
  equals(other: PeerID): boolean {
    return bytesEqual(this.#bytes, other.#bytes)
  }

  /** Byte order: negative, zero or positive. Agrees with comparing the texts. */
  compare(other: PeerID): number {
    return bytesCompare(this.#bytes, other.#bytes)
  }

  toString(): string {
    this.#text ??= encodeOrderedBase64(this.#bytes)
    return this.#text
  }

  toJSON(): string {
    return this.toString()
  }
}

function describeLength(text: unknown): string {
  return typeof text === 'string' ? `${text.length}` : typeof text
}
