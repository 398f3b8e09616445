/**
 * Signing with a purpose, as go-p2p's P2PKE does (`createPreSig`, `sign`, `verify` in
 * p/p2pke/session.go): the signed message is the 64-byte pre-hash
 * `BLAKE2Xb_64(u8(len(purpose)) ‖ purpose ‖ msg)`, and Ed25519 signs that pre-hash.
 * A purpose separates the contexts a key signs in (P2PKE uses `p2pke/timestamp` and
 * `p2pke/channel-binding`), so a signature made for one can never pass for another.
 */
import { type CryptoBackend, checkBytes } from './backend.js'
import { blake2xb } from './blake2x.js'
import { defaultBackend } from './select.js'

/** Length of a pre-hash in bytes. */
export const PRESIG_SIZE = 64
/** Longest purpose in UTF-8 bytes (its length is written in one byte). */
export const MAX_PURPOSE_LENGTH = 255

const encoder = new TextEncoder()

function purposeBytes(purpose: string): Uint8Array {
  if (typeof purpose !== 'string') throw new TypeError('purpose must be a string')
  const bytes = encoder.encode(purpose)
  if (bytes.length > MAX_PURPOSE_LENGTH) {
    throw new RangeError(
      `purpose must be at most ${MAX_PURPOSE_LENGTH} UTF-8 bytes, got ${bytes.length}`,
    )
  }
  return bytes
}

/**
 * The 64-byte pre-hash `BLAKE2Xb_64(u8(len(purpose)) ‖ purpose ‖ message)`; `len` counts the
 * purpose's UTF-8 bytes. Throws RangeError for a purpose over 255 bytes.
 */
export function presig(purpose: string, message: Uint8Array): Uint8Array {
  const p = purposeBytes(purpose)
  checkBytes(message, undefined, 'message')
  return blake2xb([Uint8Array.of(p.length), p, message], PRESIG_SIZE)
}

/** The Ed25519 signature, by the key with `seed`, of `presig(purpose, message)`. */
export function signWithPurpose(
  seed: Uint8Array,
  purpose: string,
  message: Uint8Array,
  backend: CryptoBackend = defaultBackend(),
): Uint8Array {
  return backend.ed25519Sign(seed, presig(purpose, message))
}

/**
 * True when `signature` is `publicKey`'s Ed25519 signature of `presig(purpose, message)`.
 * Never throws on the content or length of `publicKey`, `message` or `signature` (it returns
 * false); only a bad `purpose` (an argument, not network input) throws.
 */
export function verifyWithPurpose(
  publicKey: Uint8Array,
  purpose: string,
  message: Uint8Array,
  signature: Uint8Array,
  backend: CryptoBackend = defaultBackend(),
): boolean {
  const p = purposeBytes(purpose)
  if (!(message instanceof Uint8Array)) return false
  const pre = blake2xb([Uint8Array.of(p.length), p, message], PRESIG_SIZE)
  return backend.ed25519Verify(publicKey, pre, signature)
}
