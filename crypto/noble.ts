/**
 * The pure-JavaScript backend: @noble/curves for X25519 and Ed25519, @noble/hashes for BLAKE2b,
 * HMAC, SHA-2 and SHA-3, the Web Crypto random source for random bytes. No native code, and
 * no node:crypto for anything but the AEAD, and that only until @noble/ciphers is installed.
 *
 * ChaCha20-Poly1305 is not in @noble/hashes or @noble/curves. This backend uses
 * `@noble/ciphers` when it can be loaded, and node:crypto's otherwise; `providers.aead` says
 * which one a process got.
 */
import { createRequire } from 'node:module'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { blake2b } from '@noble/hashes/blake2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { sha3_256, shake256 } from '@noble/hashes/sha3.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { type CryptoBackend, type Provider, type RawBackend, wrapBackend } from './backend.js'
import { nodeOpen, nodeSeal } from './node.js'

/** The part of `@noble/ciphers/chacha.js` this backend uses. */
interface NobleChacha {
  chacha20poly1305(
    key: Uint8Array,
    nonce: Uint8Array,
    aad?: Uint8Array,
  ): { encrypt(plaintext: Uint8Array): Uint8Array; decrypt(sealed: Uint8Array): Uint8Array }
}

function loadNobleChacha(): NobleChacha | undefined {
  try {
    // A variable specifier keeps the compiler from requiring the (optional) package's types.
    const specifier = '@noble/ciphers/chacha.js'
    const mod = createRequire(import.meta.url)(specifier) as Partial<NobleChacha>
    return typeof mod.chacha20poly1305 === 'function' ? (mod as NobleChacha) : undefined
  } catch {
    return undefined
  }
}

/** The pure-JS backend. */
export function nobleBackend(): CryptoBackend {
  const chacha = loadNobleChacha()
  const aead: Pick<RawBackend, 'seal' | 'open'> =
    chacha === undefined
      ? { seal: nodeSeal, open: nodeOpen }
      : {
          seal: (key, nonce, plaintext, ad) =>
            chacha.chacha20poly1305(key, nonce, ad).encrypt(plaintext),
          // decrypt throws on a bad tag; the wrapper turns that into undefined.
          open: (key, nonce, sealed, ad) => chacha.chacha20poly1305(key, nonce, ad).decrypt(sealed),
        }
  const aeadProvider: Provider = chacha === undefined ? 'node' : 'noble'

  const raw: RawBackend = {
    randomBytes: (n) => randomBytes(n),
    ...aead,
    x25519Generate() {
      const privateKey = randomBytes(32)
      return { privateKey, publicKey: x25519.getPublicKey(privateKey) }
    },
    x25519PublicKey: (privateKey) => x25519.getPublicKey(privateKey),
    // Throws for low-order public keys; the wrapper maps the throw to undefined.
    x25519: (privateKey, publicKey) => x25519.getSharedSecret(privateKey, publicKey),
    ed25519PublicKey: (seed) => ed25519.getPublicKey(seed),
    ed25519Sign: (seed, message) => ed25519.sign(message, seed),
    // zip215: false is RFC 8032 strict decoding (canonical encodings only).
    ed25519Verify: (publicKey, message, signature) =>
      ed25519.verify(signature, message, publicKey, { zip215: false }),
    blake2b: (data, outLen = 64, key) => blake2b(data, { dkLen: outLen, key }),
    // noble's blake2b has a 128-byte block, so this is Noise's HMAC-BLAKE2b.
    hmacBlake2b: (key, data) => hmac(blake2b, key, data),
    sha256: (data) => sha256(data),
    sha512: (data) => sha512(data),
    sha3_256: (data) => sha3_256(data),
    shake256: (data, outLen = 32) => shake256(data, { dkLen: outLen }),
  }
  return wrapBackend(
    'noble',
    {
      aead: aeadProvider,
      x25519: 'noble',
      ed25519: 'noble',
      blake2b: 'noble',
      hmacBlake2b: 'noble',
      sha2: 'noble',
      sha3: 'noble',
      random: 'noble',
    },
    raw,
  )
}
