/**
 * BLAKE2Xb, the extendable-output function over BLAKE2b (Aumasson et al., "BLAKE2X", 2016),
 * as Go's `golang.org/x/crypto/blake2b.NewXOF(length, key)` computes it for a known length.
 *
 * Neither libsodium nor node:crypto can set the BLAKE2 parameter block fields BLAKE2X needs
 * (XOF length, node offset, leaf and inner lengths), so this file drives the BLAKE2b
 * compression of `@noble/hashes` with an explicit parameter block. It is the same code in
 * every backend.
 */
import { _BLAKE2b } from '@noble/hashes/blake2.js'
import { checkBytes, checkLength } from './backend.js'

/** Largest known XOF length: 2^32 − 2 (2^32 − 1 means "unknown length" in BLAKE2X). */
export const BLAKE2XB_MAX_LENGTH = 0xffff_fffe

// BLAKE2b IV (the SHA-512 IV) as little-endian [low, high] 32-bit halves of the 8 words.
// prettier-ignore
const IV32 = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
])

/** BLAKE2b whose initial state is IV ⊕ an arbitrary 64-byte parameter block (RFC 7693 §2.5). */
class ParamBlake2b extends _BLAKE2b {
  constructor(param: Uint8Array, outLen: number, key: Uint8Array | undefined) {
    super({ dkLen: outLen })
    const p = new DataView(param.buffer, param.byteOffset, param.byteLength)
    const s = new Array<number>(16)
    for (let i = 0; i < 16; i++) s[i] = (IV32[i]! ^ p.getUint32(i * 4, true)) | 0
    // prettier-ignore
    this.set(
      s[0]!,
      s[1]!,
      s[2]!,
      s[3]!,
      s[4]!,
      s[5]!,
      s[6]!,
      s[7]!,
      s[8]!,
      s[9]!,
      s[10]!,
      s[11]!,
      s[12]!,
      s[13]!,
      s[14]!,
      s[15]!,
    )
    if (key !== undefined) {
      // A keyed BLAKE2b hashes the key zero-padded to one block first (RFC 7693 §3.3).
      const block = new Uint8Array(128)
      block.set(key)
      this.update(block)
      block.fill(0)
    }
  }
}

/**
 * BLAKE2Xb of `data` (one buffer, or parts hashed as their concatenation): `outLen` bytes
 * (1 to 2^32 − 2), keyed when `key` has 1–64 bytes (empty means unkeyed). The output
 * depends on `outLen` in every byte: BLAKE2Xb with `outLen` 64 is not BLAKE2b-512.
 *
 * Root: BLAKE2b-512 with fanout 1, depth 1 and the XOF length in parameter bytes 12–15.
 * Output block i: BLAKE2b over the 64-byte root with fanout 0, depth 0, leaf length 64,
 * node offset i, the XOF length, inner length 64 and digest length min(64, rest).
 */
export function blake2xb(
  data: Uint8Array | readonly Uint8Array[],
  outLen: number,
  key?: Uint8Array,
): Uint8Array {
  const parts = data instanceof Uint8Array ? [data] : data
  for (const part of parts) checkBytes(part, undefined, 'data')
  checkLength(outLen, 1, BLAKE2XB_MAX_LENGTH, 'outLen')
  if (key !== undefined) {
    checkBytes(key, undefined, 'key')
    if (key.length > 64) throw new RangeError(`key must be at most 64 bytes, got ${key.length}`)
  }
  const k = key !== undefined && key.length > 0 ? key : undefined

  const param = new Uint8Array(64)
  const pv = new DataView(param.buffer)
  param[0] = 64 // digest length
  param[1] = k?.length ?? 0 // key length
  param[2] = 1 // fanout
  param[3] = 1 // depth
  pv.setUint32(12, outLen, true) // XOF length
  const root = new ParamBlake2b(param, 64, k)
  for (const part of parts) root.update(part)
  const h0 = root.digest()

  const out = new Uint8Array(outLen)
  param.fill(0)
  pv.setUint32(4, 64, true) // leaf length
  pv.setUint32(12, outLen, true) // XOF length
  param[17] = 64 // inner length
  for (let i = 0, off = 0; off < outLen; i++, off += 64) {
    const n = Math.min(64, outLen - off)
    param[0] = n
    pv.setUint32(8, i, true) // node offset
    const block = new ParamBlake2b(param, n, undefined)
    block.update(h0)
    out.set(block.digest(), off)
  }
  h0.fill(0)
  return out
}
