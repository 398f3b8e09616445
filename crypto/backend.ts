/**
 * The one small crypto interface every swarmwire layer uses, and the checks shared by all
 * backends. A backend is built from a "raw" implementation (which may assume valid arguments)
 * wrapped by `wrapBackend`, so argument checking, the X25519 zero-secret rule and the Ed25519
 * verification policy are the same code for every backend, whatever library is underneath.
 */
import { isCanonicalEncoding, isSmallOrderEncoding } from './ed25519-policy.js'

/** The names of the backends. */
export type BackendName = 'sodium' | 'node' | 'noble'

/** Which library computes a primitive inside a backend. */
export type Provider = 'sodium' | 'node' | 'noble'

/** The primitives of `CryptoBackend`, as keys of `CryptoBackend.providers`. */
export type Primitive =
  | 'aead'
  | 'x25519'
  | 'ed25519'
  | 'blake2b'
  | 'hmacBlake2b'
  | 'sha2'
  | 'sha3'
  | 'random'

/** ChaCha20-Poly1305 key length in bytes. */
export const AEAD_KEY_SIZE = 32
/** ChaCha20-Poly1305 (IETF, RFC 8439) nonce length in bytes. */
export const AEAD_NONCE_SIZE = 12
/** Poly1305 tag length in bytes; `seal` output is this much longer than its input. */
export const AEAD_TAG_SIZE = 16
/** X25519 private and public key length in bytes. */
export const X25519_KEY_SIZE = 32
/** Ed25519 seed (private key) length in bytes. */
export const ED25519_SEED_SIZE = 32
/** Ed25519 public key length in bytes. */
export const ED25519_PUBLIC_KEY_SIZE = 32
/** Ed25519 signature length in bytes. */
export const ED25519_SIGNATURE_SIZE = 64
/** Largest BLAKE2b output and key length in bytes. */
export const BLAKE2B_MAX_SIZE = 64
/** BLAKE2b block length in bytes (the HMAC block length Noise uses). */
export const BLAKE2B_BLOCK_SIZE = 128

/** An X25519 key pair. Both keys are 32 bytes; the private key is used as RFC 7748 clamps it. */
export interface X25519KeyPair {
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

/**
 * Cryptographic primitives behind one interface. Every backend computes identical bytes for
 * identical inputs (the tests check it on vectors and on random inputs).
 *
 * Conventions:
 * - Bad *arguments* (wrong key or nonce length, an output length out of range) throw
 *   `TypeError`/`RangeError` naming the argument: they are bugs in the caller.
 * - Bad *network input* never throws: `open` returns `undefined` when authentication fails,
 *   `x25519` returns `undefined` for a public key that gives the all-zero shared secret, and
 *   `ed25519Verify` returns `false` for a signature or key of any length or content that does
 *   not verify.
 * - Outputs are fresh `Uint8Array`s owned by the caller; inputs are never modified or kept
 *   (a backend may cache a derived key object keyed by an input array's identity, and checks
 *   the bytes on every use, so modifying a key array after use is safe, only slower).
 */
export interface CryptoBackend {
  /** The backend's name, as `getBackend` takes it. */
  readonly name: BackendName
  /** Which library computes each primitive in this backend. */
  readonly providers: Readonly<Record<Primitive, Provider>>

  /** `n` bytes from a cryptographically secure random source. */
  randomBytes(n: number): Uint8Array

  /**
   * ChaCha20-Poly1305 (RFC 8439): encrypts `plaintext` and returns ciphertext ‖ 16-byte tag.
   * `key` is 32 bytes, `nonce` 12 bytes; `ad` is authenticated, not encrypted (default empty).
   */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad?: Uint8Array): Uint8Array
  /**
   * ChaCha20-Poly1305 (RFC 8439): checks and decrypts ciphertext ‖ tag. Returns the plaintext,
   * or `undefined` when the input is shorter than a tag or does not authenticate under
   * `key`, `nonce` and `ad`. Never throws on the content of `sealed` or `ad`.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad?: Uint8Array,
  ): Uint8Array | undefined

  /** A fresh X25519 key pair from the backend's random source. */
  x25519Generate(): X25519KeyPair
  /** The X25519 public key of a 32-byte private key (RFC 7748 `X25519(k, 9)`). */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array
  /**
   * X25519 Diffie-Hellman (RFC 7748). Returns `undefined` when the result is all zeros, which
   * happens exactly for the low-order public keys (RFC 7748 §6.1): Go, OpenSSL and libsodium
   * refuse these too, so a TS peer and a Go peer agree on which handshakes are valid.
   * Non-canonical public keys (u ≥ 2^255 − 19, or the top bit set) are accepted and reduced
   * as RFC 7748 §5 requires.
   */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined

  /** The Ed25519 public key of a 32-byte seed (RFC 8032 §5.1.5). */
  ed25519PublicKey(seed: Uint8Array): Uint8Array
  /** The Ed25519 signature (64 bytes, RFC 8032 §5.1.6) of `message` by the key with `seed`. */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array
  /**
   * True when `signature` is a valid Ed25519 signature of `message` by `publicKey`. Any other
   * input, of any length, returns false; it never throws. Policy (the same in every backend,
   * libsodium's): S must be canonical (< L), the public key must be a canonical encoding, and
   * neither the public key nor R may be a point of small order. Go's `ed25519.Verify` accepts
   * small-order keys and R; such keys belong to nobody (anyone can sign for them), so
   * refusing them only refuses forgeries.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean

  /**
   * BLAKE2b (RFC 7693) of `data`, `outLen` bytes (1–64, default 64), keyed when `key` has
   * 1–64 bytes (an empty key means unkeyed, as in RFC 7693).
   */
  blake2b(data: Uint8Array, outLen?: number, key?: Uint8Array): Uint8Array
  /**
   * HMAC (RFC 2104) over BLAKE2b-512 with a 128-byte block, as the Noise framework defines
   * `HMAC-HASH` for BLAKE2b (Noise spec §4.3). Any key length; 64-byte output.
   */
  hmacBlake2b(key: Uint8Array, data: Uint8Array): Uint8Array
  /** SHA-256 (FIPS 180-4). */
  sha256(data: Uint8Array): Uint8Array
  /** SHA-512 (FIPS 180-4). */
  sha512(data: Uint8Array): Uint8Array
  /** SHA3-256 (FIPS 202). */
  sha3_256(data: Uint8Array): Uint8Array
  /** SHAKE256 (FIPS 202) of `data`, `outLen` bytes (default 32: SHAKE256-256). */
  shake256(data: Uint8Array, outLen?: number): Uint8Array
}

/**
 * What a library provides. Implementations may assume the arguments were checked: lengths
 * are right, `ad` is present, `outLen` is in range. `open` may return undefined or throw on
 * authentication failure; `x25519` may throw or return zeros for low-order points;
 * `ed25519Verify` may throw on undecodable keys: the wrapper turns all of these into the
 * documented results.
 */
export type RawBackend = Omit<CryptoBackend, 'name' | 'providers' | 'seal' | 'open'> & {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad: Uint8Array,
  ): Uint8Array | undefined
}

const EMPTY = new Uint8Array(0)

/** Builds a `CryptoBackend` from a raw implementation: argument checks and shared policies. */
export function wrapBackend(
  name: BackendName,
  providers: Record<Primitive, Provider>,
  raw: RawBackend,
): CryptoBackend {
  return Object.freeze({
    name,
    providers: Object.freeze({ ...providers }),
    randomBytes(n: number): Uint8Array {
      checkLength(n, 0, 0x7fff_ffff, 'n')
      return raw.randomBytes(n)
    },
    seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad?: Uint8Array): Uint8Array {
      checkBytes(key, AEAD_KEY_SIZE, 'key')
      checkBytes(nonce, AEAD_NONCE_SIZE, 'nonce')
      checkBytes(plaintext, undefined, 'plaintext')
      if (ad !== undefined) checkBytes(ad, undefined, 'ad')
      return raw.seal(key, nonce, plaintext, ad ?? EMPTY)
    },
    open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad?: Uint8Array) {
      checkBytes(key, AEAD_KEY_SIZE, 'key')
      checkBytes(nonce, AEAD_NONCE_SIZE, 'nonce')
      checkBytes(sealed, undefined, 'sealed')
      if (ad !== undefined) checkBytes(ad, undefined, 'ad')
      if (sealed.length < AEAD_TAG_SIZE) return undefined
      try {
        return raw.open(key, nonce, sealed, ad ?? EMPTY)
      } catch {
        // Arguments were checked above: a throw here is the library's authentication failure.
        return undefined
      }
    },
    x25519Generate(): X25519KeyPair {
      return raw.x25519Generate()
    },
    x25519PublicKey(privateKey: Uint8Array): Uint8Array {
      checkBytes(privateKey, X25519_KEY_SIZE, 'privateKey')
      return raw.x25519PublicKey(privateKey)
    },
    x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
      checkBytes(privateKey, X25519_KEY_SIZE, 'privateKey')
      checkBytes(publicKey, X25519_KEY_SIZE, 'publicKey')
      let shared: Uint8Array | undefined
      try {
        shared = raw.x25519(privateKey, publicKey)
      } catch {
        // Lengths were checked: libraries throw only for the low-order (zero result) case.
        return undefined
      }
      return shared === undefined || isAllZero(shared) ? undefined : shared
    },
    ed25519PublicKey(seed: Uint8Array): Uint8Array {
      checkBytes(seed, ED25519_SEED_SIZE, 'seed')
      return raw.ed25519PublicKey(seed)
    },
    ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
      checkBytes(seed, ED25519_SEED_SIZE, 'seed')
      checkBytes(message, undefined, 'message')
      return raw.ed25519Sign(seed, message)
    },
    ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
        return false
      }
      if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_SIZE) {
        return false
      }
      if (!(message instanceof Uint8Array)) return false
      if (!isCanonicalEncoding(publicKey) || isSmallOrderEncoding(publicKey)) return false
      if (isSmallOrderEncoding(signature.subarray(0, 32))) return false
      try {
        return raw.ed25519Verify(publicKey, message, signature) === true
      } catch {
        return false
      }
    },
    blake2b(data: Uint8Array, outLen = BLAKE2B_MAX_SIZE, key?: Uint8Array): Uint8Array {
      checkBytes(data, undefined, 'data')
      checkLength(outLen, 1, BLAKE2B_MAX_SIZE, 'outLen')
      if (key !== undefined) {
        checkBytes(key, undefined, 'key')
        if (key.length > BLAKE2B_MAX_SIZE) {
          throw new RangeError(`key must be at most ${BLAKE2B_MAX_SIZE} bytes, got ${key.length}`)
        }
      }
      return raw.blake2b(data, outLen, key !== undefined && key.length > 0 ? key : undefined)
    },
    hmacBlake2b(key: Uint8Array, data: Uint8Array): Uint8Array {
      checkBytes(key, undefined, 'key')
      checkBytes(data, undefined, 'data')
      return raw.hmacBlake2b(key, data)
    },
    sha256(data: Uint8Array): Uint8Array {
      checkBytes(data, undefined, 'data')
      return raw.sha256(data)
    },
    sha512(data: Uint8Array): Uint8Array {
      checkBytes(data, undefined, 'data')
      return raw.sha512(data)
    },
    sha3_256(data: Uint8Array): Uint8Array {
      checkBytes(data, undefined, 'data')
      return raw.sha3_256(data)
    },
    shake256(data: Uint8Array, outLen = 32): Uint8Array {
      checkBytes(data, undefined, 'data')
      checkLength(outLen, 0, 0x7fff_ffff, 'outLen')
      return raw.shake256(data, outLen)
    },
  })
}

/** Throws TypeError unless `x` is a Uint8Array, RangeError unless it has `len` bytes (when given). */
export function checkBytes(x: unknown, len: number | undefined, name: string): void {
  if (!(x instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (len !== undefined && x.length !== len) {
    throw new RangeError(`${name} must be ${len} bytes, got ${x.length}`)
  }
}

/** Throws unless `n` is an integer in [min, max]. */
export function checkLength(n: unknown, min: number, max: number, name: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new TypeError(`${name} must be an integer`)
  }
  if (n < min || n > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${n}`)
}

function isAllZero(b: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < b.length; i++) acc |= b[i]!
  return acc === 0
}
