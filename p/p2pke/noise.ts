/**
 * The Noise handshake P2PKE runs: `Noise_NN_25519_ChaChaPoly_BLAKE2b` (Noise Protocol
 * Framework, revision 34), as pure classes: no I/O, no timers, no clocks.
 *
 * Two things differ from a stock Noise library, both because P2PKE needs them:
 * - Transport `CipherState`s take the nonce from the caller (Noise's `SetNonce`, §5.1) instead
 *   of counting: P2PKE carries a counter on the wire and uses it as `n`, and packets may arrive
 *   out of order. The 12-byte ChaChaPoly nonce is 4 zero bytes then `n` as 64-bit
 *   little-endian (§12.3). Replay protection is the caller's job (P2PKE's replay window).
 * - The handshake hash `h` is readable after every message: P2PKE's responder signs `h` after
 *   message 1 (the "channel binding") and the initiator signs the final `h`.
 *
 * Reading never throws on network input: a message that is malformed, does not authenticate,
 * or carries a low-order ephemeral key makes `read…` return `undefined` and leaves the state
 * exactly as it was, so a forged packet cannot spoil a handshake in progress. Calling a step out
 * of order or from the wrong role is a bug in the caller and throws `Error`.
 */
import {
  AEAD_NONCE_SIZE,
  AEAD_TAG_SIZE,
  type CryptoBackend,
  defaultBackend,
  hkdfBlake2b,
  X25519_KEY_SIZE,
  type X25519KeyPair,
} from '../../crypto/index.js'

/** The protocol name P2PKE v1 uses. */
export const NOISE_PROTOCOL_NAME = 'Noise_NN_25519_ChaChaPoly_BLAKE2b'
/** HASHLEN for BLAKE2b: the length of `h` and of the chaining key. */
export const NOISE_HASH_LEN = 64
/** DHLEN for Curve25519: the length of an ephemeral public key on the wire. */
export const NOISE_DH_LEN = X25519_KEY_SIZE
/** Length of a ChaChaPoly key. */
export const NOISE_KEY_LEN = 32
/** Length of the authentication tag added to every encrypted payload. */
export const NOISE_TAG_LEN = AEAD_TAG_SIZE
/** Largest Noise message (§3): 65535 bytes. */
export const NOISE_MAX_MESSAGE_LEN = 65535

const EMPTY = new Uint8Array(0)
const encoder = new TextEncoder()

/**
 * The 12-byte ChaChaPoly nonce for Noise nonce `n` (§12.3): 4 zero bytes, then `n` as 64-bit
 * little-endian. `n` is a non-negative safe integer (P2PKE counters are 32-bit).
 */
export function noiseNonce(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`nonce must be a non-negative safe integer, got ${n}`)
  }
  const out = new Uint8Array(AEAD_NONCE_SIZE)
  const v = new DataView(out.buffer)
  v.setUint32(4, n % 0x1_0000_0000, true)
  v.setUint32(8, Math.floor(n / 0x1_0000_0000), true)
  return out
}

/**
 * A transport key with caller-chosen nonces (the CipherStates that `split()` returns).
 * Never reuse a nonce with one key for two different messages: the caller (P2PKE's counter)
 * guarantees it.
 */
export class CipherState {
  readonly #key: Uint8Array
  readonly #backend: CryptoBackend

  /** A CipherState for a 32-byte key (copied). */
  constructor(key: Uint8Array, backend: CryptoBackend = defaultBackend()) {
    if (!(key instanceof Uint8Array) || key.length !== NOISE_KEY_LEN) {
      throw new RangeError(`key must be ${NOISE_KEY_LEN} bytes`)
    }
    this.#key = key.slice()
    this.#backend = backend
  }

  /** A copy of the key. Secret: for tests and key export only. */
  key(): Uint8Array {
    return this.#key.slice()
  }

  /** Noise `EncryptWithAd(ad, plaintext)` with nonce `n`: ciphertext ‖ 16-byte tag. */
  encrypt(n: number, plaintext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    return this.#backend.seal(this.#key, noiseNonce(n), plaintext, ad)
  }

  /**
   * Noise `DecryptWithAd(ad, ciphertext)` with nonce `n`: the plaintext, or `undefined` when
   * the ciphertext does not authenticate under this key, `n` and `ad`. Never throws on the
   * content of `ciphertext` or `ad`.
   */
  decrypt(n: number, ciphertext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array | undefined {
    return this.#backend.open(this.#key, noiseNonce(n), ciphertext, ad)
  }
}

/** The values a SymmetricState holds (§5.2): chaining key, hash, and the optional key with its counter. */
interface SymmetricValues {
  ck: Uint8Array
  h: Uint8Array
  k: Uint8Array | undefined
  n: number
}

/**
 * Noise SymmetricState (§5.2) for BLAKE2b and ChaChaPoly. Methods that read network input work
 * on a copy (`fork`) that the caller commits with `adopt` once the whole message checks out.
 */
export class SymmetricState {
  readonly #backend: CryptoBackend
  #v: SymmetricValues

  /** `InitializeSymmetric(protocolName)`. */
  constructor(
    protocolName: string = NOISE_PROTOCOL_NAME,
    backend: CryptoBackend = defaultBackend(),
  ) {
    this.#backend = backend
    const name = encoder.encode(protocolName)
    let h: Uint8Array
    if (name.length <= NOISE_HASH_LEN) {
      h = new Uint8Array(NOISE_HASH_LEN)
      h.set(name)
    } else {
      h = backend.blake2b(name)
    }
    this.#v = { ck: h.slice(), h, k: undefined, n: 0 }
  }

  /** A copy of the handshake hash `h`. */
  handshakeHash(): Uint8Array {
    return this.#v.h.slice()
  }

  /** True once `mixKey` has set a key. */
  hasKey(): boolean {
    return this.#v.k !== undefined
  }

  /** An independent copy of this state. */
  fork(): SymmetricState {
    // The protocol name is irrelevant: every value is overwritten.
    const copy = new SymmetricState('', this.#backend)
    copy.#v = { ...this.#v }
    return copy
  }

  /** Replaces this state's values with `other`'s (a fork that succeeded). */
  adopt(other: SymmetricState): void {
    this.#v = { ...other.#v }
  }

  /** `MixHash(data)`: h = HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    const buf = new Uint8Array(this.#v.h.length + data.length)
    buf.set(this.#v.h)
    buf.set(data, this.#v.h.length)
    this.#v.h = this.#backend.blake2b(buf)
  }

  /** `MixKey(ikm)`: ck, k = HKDF(ck, ikm, 2), k truncated to 32 bytes, n = 0. */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf2(this.#backend, this.#v.ck, ikm)
    this.#v.ck = ck
    this.#v.k = k.slice(0, NOISE_KEY_LEN)
    this.#v.n = 0
  }

  /** `EncryptAndHash(plaintext)`: encrypts with the current key when there is one, then mixes. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    let out = plaintext
    if (this.#v.k !== undefined) {
      out = this.#backend.seal(this.#v.k, noiseNonce(this.#v.n), plaintext, this.#v.h)
      this.#v.n++
    }
    this.mixHash(out)
    return out
  }

  /**
   * `DecryptAndHash(ciphertext)`: the plaintext, or `undefined` when it does not authenticate
   * (in which case this state may have been partly updated: call it on a fork).
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    let out: Uint8Array | undefined = ciphertext
    if (this.#v.k !== undefined) {
      out = this.#backend.open(this.#v.k, noiseNonce(this.#v.n), ciphertext, this.#v.h)
      if (out === undefined) return undefined
      this.#v.n++
    } else {
      out = ciphertext.slice()
    }
    this.mixHash(ciphertext)
    return out
  }

  /**
   * `Split()`: the two transport keys, initiator→responder first. They are HKDF(ck, empty, 2)
   * truncated to 32 bytes.
   */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf2(this.#backend, this.#v.ck, EMPTY)
    return [
      new CipherState(k1.subarray(0, NOISE_KEY_LEN), this.#backend),
      new CipherState(k2.subarray(0, NOISE_KEY_LEN), this.#backend),
    ]
  }
}

/** Noise HKDF (§4.3) with two outputs, over HMAC-BLAKE2b. */
function hkdf2(
  backend: CryptoBackend,
  chainingKey: Uint8Array,
  ikm: Uint8Array,
): [Uint8Array, Uint8Array] {
  const [out1, out2] = hkdfBlake2b(chainingKey, ikm, 2, backend)
  return [out1!, out2!]
}

/** Options of a `NoiseNN` handshake. */
export interface NoiseNNOptions {
  /** True for the side that writes message 1. */
  initiator: boolean
  /** Bytes both sides must agree on before the handshake (§6); P2PKE uses none. Default empty. */
  prologue?: Uint8Array
  /**
   * This side's ephemeral key pair. Default: a fresh one from the backend. Give one only in
   * tests (known-answer vectors); reusing an ephemeral key across handshakes breaks security.
   */
  ephemeral?: X25519KeyPair
  /** The crypto backend. Default: `defaultBackend()`. */
  backend?: CryptoBackend
}

/** The result of a completed handshake: transport keys for this side and the final `h`. */
export interface NoiseTransport {
  /** Encrypts what this side sends. */
  readonly send: CipherState
  /** Decrypts what this side receives. */
  readonly receive: CipherState
  /** The final handshake hash (the value P2PKE's initiator signs). */
  readonly handshakeHash: Uint8Array
}

/**
 * A `Noise_NN_25519_ChaChaPoly_BLAKE2b` handshake (`-> e` then `<- e, ee`), one side of it.
 *
 * Initiator: `writeMessage1(payload)`, then `readMessage2(msg)`, then `split()`.
 * Responder: `readMessage1(msg)`, then `writeMessage2(payload)`, then `split()`.
 * `handshakeHash()` is `h` after the last message processed. The payload of message 1 is sent
 * in clear (NN has no key yet); the payload of message 2 is encrypted and authenticated.
 */
export class NoiseNN {
  /** True for the side that writes message 1. */
  readonly initiator: boolean
  readonly #backend: CryptoBackend
  readonly #ss: SymmetricState
  readonly #e: X25519KeyPair
  #re: Uint8Array | undefined
  // The responder's DH(e, re), computed when message 1 is read so a low-order key is refused
  // there; mixed into the state in message 2, in the order the pattern gives.
  #ee: Uint8Array | undefined
  #messages = 0

  constructor(opts: NoiseNNOptions) {
    this.initiator = opts.initiator === true
    this.#backend = opts.backend ?? defaultBackend()
    this.#ss = new SymmetricState(NOISE_PROTOCOL_NAME, this.#backend)
    this.#ss.mixHash(opts.prologue ?? EMPTY)
    const e = opts.ephemeral
    if (e === undefined) {
      // Not copied: the backend may have cached a key object for this very array.
      this.#e = this.#backend.x25519Generate()
    } else {
      if (e.privateKey.length !== X25519_KEY_SIZE || e.publicKey.length !== X25519_KEY_SIZE) {
        throw new RangeError(`ephemeral keys must be ${X25519_KEY_SIZE} bytes`)
      }
      this.#e = { privateKey: e.privateKey.slice(), publicKey: e.publicKey.slice() }
    }
  }

  /** How many handshake messages this side has written or read: 0, 1 or 2 (complete). */
  get messages(): number {
    return this.#messages
  }

  /** True once both messages are done and `split()` may be called. */
  get complete(): boolean {
    return this.#messages === 2
  }

  /** A copy of the handshake hash `h` after the last message processed. */
  handshakeHash(): Uint8Array {
    return this.#ss.handshakeHash()
  }

  /** This side's ephemeral public key. */
  localEphemeral(): Uint8Array {
    return this.#e.publicKey.slice()
  }

  /** The remote ephemeral public key, once received. */
  remoteEphemeral(): Uint8Array | undefined {
    return this.#re?.slice()
  }

  /** Initiator, step 1: `-> e` with `payload` in clear. Returns the message. */
  writeMessage1(payload: Uint8Array = EMPTY): Uint8Array {
    this.#expect(true, 0, 'writeMessage1')
    checkPayload(payload, NOISE_DH_LEN)
    this.#ss.mixHash(this.#e.publicKey)
    const body = this.#ss.encryptAndHash(payload)
    this.#messages = 1
    return concat(this.#e.publicKey, body)
  }

  /**
   * Responder, step 1: reads `-> e`. Returns the payload, or `undefined` (state unchanged)
   * when the message is shorter than a key, longer than a Noise message, or carries a
   * low-order ephemeral key.
   */
  readMessage1(message: Uint8Array): Uint8Array | undefined {
    this.#expect(false, 0, 'readMessage1')
    if (!(message instanceof Uint8Array)) return undefined
    if (message.length < NOISE_DH_LEN || message.length > NOISE_MAX_MESSAGE_LEN) return undefined
    const re = message.slice(0, NOISE_DH_LEN)
    const ee = this.#backend.x25519(this.#e.privateKey, re)
    if (ee === undefined) return undefined
    const ss = this.#ss.fork()
    ss.mixHash(re)
    const payload = ss.decryptAndHash(message.subarray(NOISE_DH_LEN))
    if (payload === undefined) return undefined
    this.#ss.adopt(ss)
    this.#re = re
    this.#ee = ee
    this.#messages = 1
    return payload
  }

  /** Responder, step 2: `<- e, ee` with `payload` encrypted. Returns the message. */
  writeMessage2(payload: Uint8Array = EMPTY): Uint8Array {
    this.#expect(false, 1, 'writeMessage2')
    checkPayload(payload, NOISE_DH_LEN + NOISE_TAG_LEN)
    this.#ss.mixHash(this.#e.publicKey)
    this.#ss.mixKey(this.#ee!)
    this.#ee!.fill(0)
    this.#ee = undefined
    const body = this.#ss.encryptAndHash(payload)
    this.#messages = 2
    return concat(this.#e.publicKey, body)
  }

  /**
   * Initiator, step 2: reads `<- e, ee`. Returns the payload, or `undefined` (state unchanged)
   * when the message is malformed, carries a low-order key, or does not authenticate.
   */
  readMessage2(message: Uint8Array): Uint8Array | undefined {
    this.#expect(true, 1, 'readMessage2')
    if (!(message instanceof Uint8Array)) return undefined
    if (message.length < NOISE_DH_LEN + NOISE_TAG_LEN || message.length > NOISE_MAX_MESSAGE_LEN) {
      return undefined
    }
    const re = message.slice(0, NOISE_DH_LEN)
    const ee = this.#backend.x25519(this.#e.privateKey, re)
    if (ee === undefined) return undefined
    const ss = this.#ss.fork()
    ss.mixHash(re)
    ss.mixKey(ee)
    ee.fill(0)
    const payload = ss.decryptAndHash(message.subarray(NOISE_DH_LEN))
    if (payload === undefined) return undefined
    this.#ss.adopt(ss)
    this.#re = re
    this.#messages = 2
    return payload
  }

  /**
   * `Split()` after the handshake: this side's send and receive CipherStates (for the
   * initiator, send is initiator→responder; for the responder, the other way round) and the
   * final handshake hash. Throws before the handshake is complete.
   */
  split(): NoiseTransport {
    if (!this.complete) throw new Error('noise: split() before the handshake is complete')
    const [i2r, r2i] = this.#ss.split()
    return {
      send: this.initiator ? i2r : r2i,
      receive: this.initiator ? r2i : i2r,
      handshakeHash: this.#ss.handshakeHash(),
    }
  }

  #expect(initiator: boolean, messages: number, step: string): void {
    if (this.initiator !== initiator) {
      throw new Error(`noise: ${step} is the ${initiator ? 'initiator' : 'responder'}'s step`)
    }
    if (this.#messages !== messages) {
      throw new Error(`noise: ${step} after ${this.#messages} messages, expected ${messages}`)
    }
  }
}

function checkPayload(payload: Uint8Array, overhead: number): void {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array')
  if (payload.length + overhead > NOISE_MAX_MESSAGE_LEN) {
    throw new RangeError(
      `payload of ${payload.length} bytes makes a message over ${NOISE_MAX_MESSAGE_LEN} bytes`,
    )
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
