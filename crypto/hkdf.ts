/**
 * HKDF as the Noise framework defines it (§4.3), over HMAC-BLAKE2b: the key derivation of
 * Noise's MixKey and Split (RFC 5869 extract-then-expand with an empty info, outputs chained).
 */
import { type CryptoBackend, checkBytes } from './backend.js'
import { defaultBackend } from './select.js'

/**
 * Noise `HKDF(chainingKey, inputKeyMaterial, numOutputs)` with HASH = BLAKE2b-512:
 * temp = HMAC(ck, ikm); out1 = HMAC(temp, 0x01); out_i = HMAC(temp, out_{i-1} ‖ i).
 * Returns `outputs` (2 or 3) values of 64 bytes each.
 */
export function hkdfBlake2b(
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
  outputs: 2 | 3,
  backend: CryptoBackend = defaultBackend(),
): Uint8Array[] {
  checkBytes(chainingKey, undefined, 'chainingKey')
  checkBytes(inputKeyMaterial, undefined, 'inputKeyMaterial')
  if (outputs !== 2 && outputs !== 3) throw new RangeError(`outputs must be 2 or 3, got ${outputs}`)
  const tempKey = backend.hmacBlake2b(chainingKey, inputKeyMaterial)
  const out: Uint8Array[] = [backend.hmacBlake2b(tempKey, Uint8Array.of(1))]
  for (let i = 2; i <= outputs; i++) {
    const prev = out[out.length - 1]!
    const input = new Uint8Array(prev.length + 1)
    input.set(prev)
    input[prev.length] = i
    out.push(backend.hmacBlake2b(tempKey, input))
  }
  tempKey.fill(0)
  return out
}
