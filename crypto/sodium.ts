/**
 * The libsodium backend, through the optional `sodium-native` addon. Loaded with a guarded
 * `require`: when the addon is missing or fails to load, `loadSodiumBackend` returns
 * undefined and the selection falls back to node:crypto.
 *
 * sodium computes ChaCha20-Poly1305, X25519, Ed25519, BLAKE2b (outputs of 16–64 bytes, keys
 * of 16–64 bytes), SHA-2 and random bytes. SHA-3/SHAKE come from node:crypto (libsodium has
 * none), and so does HMAC-BLAKE2b (faster than libsodium's streaming hash driven from JS);
 * BLAKE2b outside libsodium's ranges comes from @noble/hashes.
 */
import { createHash, createHmac } from 'node:crypto'
import { createRequire } from 'node:module'
import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js'
import {
  AEAD_TAG_SIZE,
  type CryptoBackend,
  ED25519_SIGNATURE_SIZE,
  type RawBackend,
  wrapBackend,
  type X25519KeyPair,
} from './backend.js'
import { KeyCache } from './keycache.js'

/** The part of the sodium-native API this backend uses. */
interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void
  crypto_generichash_init(state: Uint8Array, key: Uint8Array | null, outLen: number): void
  crypto_generichash_update(state: Uint8Array, input: Uint8Array): void
  crypto_generichash_final(state: Uint8Array, out: Uint8Array): void
  crypto_generichash_STATEBYTES: number
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void
  crypto_hash_sha512(out: Uint8Array, input: Uint8Array): void
  randombytes_buf(buf: Uint8Array): void
}

let loaded: { sodium: Sodium } | { error: unknown } | undefined

/** The sodium-native module, or the reason it could not be loaded. Tried once. */
export function loadSodium(): Sodium | undefined {
  if (loaded === undefined) {
    try {
      const sodium = createRequire(import.meta.url)('sodium-native') as Sodium
      // A half-working addon must not be selected: check one call end to end.
      const h = new Uint8Array(64)
      sodium.crypto_generichash(h, new Uint8Array(0))
      if (h[0] !== 0x78 || h[63] !== 0xce) throw new Error('sodium-native self-test failed')
      loaded = { sodium }
    } catch (error) {
      loaded = { error }
    }
  }
  return 'sodium' in loaded ? loaded.sodium : undefined
}

/** Why sodium-native did not load (undefined when it did, or was not tried). */
export function sodiumLoadError(): unknown {
  return loaded !== undefined && 'error' in loaded ? loaded.error : undefined
}

/** The sodium backend, or undefined when sodium-native is not available. */
export function loadSodiumBackend(): CryptoBackend | undefined {
  const sodium = loadSodium()
  if (sodium === undefined) return undefined
  // Expanded Ed25519 secret keys (seed ‖ public key) by seed array, so a long-lived identity
  // key is expanded once, not on every signature.
  const signKeys = new KeyCache<Uint8Array>((seed) => {
    const pk = new Uint8Array(32)
    const sk = new Uint8Array(64)
    sodium.crypto_sign_seed_keypair(pk, sk, seed)
    return sk
  })

  const raw: RawBackend = {
    randomBytes(n) {
      const out = new Uint8Array(n)
      if (n > 0) sodium.randombytes_buf(out)
      return out
    },
    seal(key, nonce, plaintext, ad) {
      const out = new Uint8Array(plaintext.length + AEAD_TAG_SIZE)
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad, null, nonce, key)
      return out
    },
    open(key, nonce, sealed, ad) {
      const out = new Uint8Array(sealed.length - AEAD_TAG_SIZE)
      // sodium-native throws on a bad tag; the wrapper turns the throw into undefined.
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, key)
      return out
    },
    x25519Generate(): X25519KeyPair {
      const privateKey = new Uint8Array(32)
      sodium.randombytes_buf(privateKey)
      const publicKey = new Uint8Array(32)
      sodium.crypto_scalarmult_base(publicKey, privateKey)
      return { privateKey, publicKey }
    },
    x25519PublicKey(privateKey) {
      const out = new Uint8Array(32)
      sodium.crypto_scalarmult_base(out, privateKey)
      return out
    },
    x25519(privateKey, publicKey) {
      const out = new Uint8Array(32)
      // Throws for low-order public keys (libsodium checks them first); the wrapper maps it.
      sodium.crypto_scalarmult(out, privateKey, publicKey)
      return out
    },
    ed25519PublicKey(seed) {
      return signKeys.get(seed).slice(32)
    },
    ed25519Sign(seed, message) {
      const sig = new Uint8Array(ED25519_SIGNATURE_SIZE)
      sodium.crypto_sign_detached(sig, message, signKeys.get(seed))
      return sig
    },
    ed25519Verify(publicKey, message, signature) {
      return sodium.crypto_sign_verify_detached(signature, message, publicKey)
    },
    blake2b(data, outLen = 64, key) {
      const sodiumKeyOk = key === undefined || key.length >= 16
      if (outLen < 16 || !sodiumKeyOk) return nobleBlake2b(data, { dkLen: outLen, key })
      const out = new Uint8Array(outLen)
      if (key === undefined) sodium.crypto_generichash(out, data)
      else sodium.crypto_generichash(out, data, key)
      return out
    },
    hmacBlake2b(key, data) {
      // node:crypto's HMAC (128-byte block for BLAKE2b-512, as Noise) measured faster here
      // than two streaming libsodium hashes driven from JS (2.7 µs against 4.0 µs for 64 B).
      return new Uint8Array(createHmac('blake2b512', key).update(data).digest())
    },
    sha256(data) {
      const out = new Uint8Array(32)
      sodium.crypto_hash_sha256(out, data)
      return out
    },
    sha512(data) {
      const out = new Uint8Array(64)
      sodium.crypto_hash_sha512(out, data)
      return out
    },
    sha3_256(data) {
      return new Uint8Array(createHash('sha3-256').update(data).digest())
    },
    shake256(data, outLen = 32) {
      return new Uint8Array(createHash('shake256', { outputLength: outLen }).update(data).digest())
    },
  }
  return wrapBackend(
    'sodium',
    {
      aead: 'sodium',
      x25519: 'sodium',
      ed25519: 'sodium',
      blake2b: 'sodium',
      hmacBlake2b: 'node',
      sha2: 'sodium',
      sha3: 'node',
      random: 'sodium',
    },
    raw,
  )
}
