/**
 * Signing algorithms by OID (go-p2p `x509.Registry`): what P2PKE and the signed cells use to
 * sign with a `PrivateKey` and verify with a `PublicKey` whatever their algorithm.
 */
import { BadMessageError } from '../../core/index.js'
import {
  type CryptoBackend,
  defaultBackend,
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
} from '../../crypto/index.js'
import { ED25519_OID, type PrivateKey, type PublicKey } from './x509.js'

/** One signing algorithm. */
export interface SigningAlgorithm {
  /** The OID of its keys, dotted. */
  readonly oid: string
  /** A short name for messages (`Ed25519`). */
  readonly name: string
  /** A new private key from a secure random source. */
  generate(): PrivateKey
  /** The public key of `key`. Throws `BadMessageError` when `key` is malformed for this algorithm. */
  publicKeyFromPrivate(key: PrivateKey): PublicKey
  /** The signature of `message`. Throws `BadMessageError` when `key` is malformed. */
  sign(key: PrivateKey, message: Uint8Array): Uint8Array
  /** True when `signature` verifies; false (never a throw) for any malformed key or signature. */
  verify(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean
  /** Throws `BadMessageError` unless `data` is a well-formed public key of this algorithm. */
  checkPublicKey(data: Uint8Array): void
}

/**
 * Ed25519 (RFC 8032) with go-p2p's key data: 32-byte public keys and 32-byte seeds as private
 * keys (go-p2p `sig_ed25519` marshals the seed). Verification follows the backend policy
 * (`CryptoBackend.ed25519Verify`).
 */
export function ed25519Algorithm(backend: CryptoBackend = defaultBackend()): SigningAlgorithm {
  const seedOf = (key: PrivateKey): Uint8Array => {
    if (key.algorithm !== ED25519_OID) {
      throw new BadMessageError(`not an Ed25519 private key: algorithm ${key.algorithm}`)
    }
    if (key.data.length !== ED25519_SEED_SIZE) {
      throw new BadMessageError(
        `Ed25519 private key must be ${ED25519_SEED_SIZE} bytes, got ${key.data.length}`,
      )
    }
    return key.data
  }
  return Object.freeze({
    oid: ED25519_OID,
    name: 'Ed25519',
    generate: (): PrivateKey => ({ algorithm: ED25519_OID, data: backend.randomBytes(32) }),
    publicKeyFromPrivate: (key: PrivateKey): PublicKey => ({
      algorithm: ED25519_OID,
      data: backend.ed25519PublicKey(seedOf(key)),
    }),
    sign: (key: PrivateKey, message: Uint8Array): Uint8Array =>
      backend.ed25519Sign(seedOf(key), message),
    verify: (key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean =>
      key.algorithm === ED25519_OID && backend.ed25519Verify(key.data, message, signature),
    checkPublicKey(data: Uint8Array): void {
      if (data.length !== ED25519_PUBLIC_KEY_SIZE) {
        throw new BadMessageError(
          `Ed25519 public key must be ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${data.length}`,
        )
      }
    },
  })
}

/** Signing algorithms by OID. Immutable once built. */
export class SigningRegistry {
  readonly #algorithms: ReadonlyMap<string, SigningAlgorithm>

  /** A registry of `algorithms`; throws `TypeError` when two share an OID. */
  constructor(algorithms: readonly SigningAlgorithm[]) {
    const map = new Map<string, SigningAlgorithm>()
    for (const a of algorithms) {
      if (map.has(a.oid)) throw new TypeError(`two signing algorithms for OID ${a.oid}`)
      map.set(a.oid, a)
    }
    this.#algorithms = map
  }

  /** The registered OIDs. */
  oids(): string[] {
    return [...this.#algorithms.keys()]
  }

  /** The algorithm for `oid`, or undefined. */
  get(oid: string): SigningAlgorithm | undefined {
    return this.#algorithms.get(oid)
  }

  /** The algorithm for `oid`; throws `BadMessageError` when none is registered. */
  lookup(oid: string): SigningAlgorithm {
    const a = this.#algorithms.get(oid)
    if (a === undefined) throw new BadMessageError(`unsupported signing algorithm ${oid}`)
    return a
  }

  /** A new private key for the algorithm `oid`. Throws `BadMessageError` for an unknown OID. */
  generate(oid: string = ED25519_OID): PrivateKey {
    return this.lookup(oid).generate()
  }

  /** The public key of `key`. Throws `BadMessageError` for an unknown algorithm or bad key. */
  publicKeyFromPrivate(key: PrivateKey): PublicKey {
    return this.lookup(key.algorithm).publicKeyFromPrivate(key)
  }

  /** Signs `message` with `key`. Throws `BadMessageError` for an unknown algorithm or bad key. */
  sign(key: PrivateKey, message: Uint8Array): Uint8Array {
    return this.lookup(key.algorithm).sign(key, message)
  }

  /**
   * True when `signature` is `key`'s valid signature of `message`. False, never a throw, for an
   * unknown algorithm or malformed key or signature: these usually come from the network.
   */
  verify(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
    const a = this.#algorithms.get(key.algorithm)
    return a?.verify(key, message, signature) === true
  }

  /**
   * Throws `BadMessageError` unless `key` has a registered algorithm and well-formed data.
   * Use after `parsePublicKey` on a key from the network.
   */
  checkPublicKey(key: PublicKey): void {
    this.lookup(key.algorithm).checkPublicKey(key.data)
  }
}

/** A registry with Ed25519 (go-p2p `DefaultRegistry`), computing with `backend`. */
export function defaultRegistry(backend: CryptoBackend = defaultBackend()): SigningRegistry {
  return new SigningRegistry([ed25519Algorithm(backend)])
}
