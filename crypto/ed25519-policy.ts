/**
 * The Ed25519 verification policy shared by every backend (libsodium's): canonical public keys,
 * and no point of small order as public key or as R. Encodings are 32 bytes, little-endian y
 * with the sign of x in the top bit (RFC 8032 §5.1.2).
 */

// y coordinates (sign bit cleared) of the points of order 1, 2, 4 and 8, plus the
// non-canonical encodings p and p + 1 of y = 0 and y = 1: the same list as libsodium's
// `ge25519_has_small_order`. Comparing with the sign bit masked also catches "-0" encodings.
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0 (order 4)
  '0100000000000000000000000000000000000000000000000000000000000000', // y = 1 (identity)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p - 1 (order 2)
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (≡ 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (≡ 1)
].map((h) => Uint8Array.from(h.match(/../g)!, (b) => Number.parseInt(b, 16)))

/** True when a 32-byte point encoding is that of a point of small order (any sign bit). */
export function isSmallOrderEncoding(enc: Uint8Array): boolean {
  for (const y of SMALL_ORDER_Y) {
    let diff = (enc[31]! & 0x7f) ^ y[31]!
    for (let i = 0; i < 31; i++) diff |= enc[i]! ^ y[i]!
    if (diff === 0) return true
  }
  return false
}

/** True when the y coordinate of a 32-byte point encoding (sign bit masked) is below p = 2^255 - 19. */
export function isCanonicalEncoding(enc: Uint8Array): boolean {
  // y >= p exactly when bytes 31..1 are 7f ff .. ff and byte 0 is at least 0xed.
  if ((enc[31]! & 0x7f) !== 0x7f) return true
  for (let i = 30; i > 0; i--) if (enc[i] !== 0xff) return true
  return enc[0]! < 0xed
}
