/**
 * Deterministic Ed25519 test keys from an index, so tests and their failures reproduce.
 * Never use these keys outside tests: anyone can derive them.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'

/** An Ed25519 key pair in raw form. */
export interface TestKeyPair {
  /** The 32-byte private seed (RFC 8032 secret key). */
  seed: Uint8Array
  /** The 32-byte public key. */
  publicKey: Uint8Array
}

// PKCS#8 prefix for a raw Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

const cache = new Map<number, TestKeyPair>()

/** The test key pair number `i`: seed = SHA-256("swarmwire/p2ptest/ed25519/" + i). */
export function testKey(i: number): TestKeyPair {
  if (!Number.isSafeInteger(i) || i < 0)
    throw new RangeError(`key index must be a non-negative integer, got ${i}`)
  const hit = cache.get(i)
  if (hit !== undefined) return { seed: hit.seed.slice(), publicKey: hit.publicKey.slice() }
  const seed = new Uint8Array(
    createHash('sha256').update(`swarmwire/p2ptest/ed25519/${i}`).digest(),
  )
  const priv = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
  const pair = { seed, publicKey: new Uint8Array(spki.subarray(spki.length - 32)) }
  cache.set(i, pair)
  return { seed: pair.seed.slice(), publicKey: pair.publicKey.slice() }
}
