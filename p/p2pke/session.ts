/**
 * One P2PKE session: a single handshake and the transport keys it yields, as a pure state
 * machine (go-p2p `p/p2pke/session.go`). No timers, no I/O, no clock: the caller passes every
 * received message with the time `now` (milliseconds on its own monotonic clock) and gets back
 * what to send and what to deliver. `Channel` adds timers, retransmission and rekeying.
 *
 * Handshake (the counters are the 4-byte big-endian header; see README.md for the bytes):
 *
 *     initiator                                      responder
 *     InitHello  (0)  e, {version, TAI64N, key, sig(timestamp)} ‖ len  ->
 *                <-   RespHello (1)  e, ee, AEAD{key, sig(h after InitHello)}
 *     InitDone   (2)  AEAD_i2r(n=2){sig(final h)}                      ->   responder ready
 *                <-   RespDone  (3)  AEAD_r2i(n=3){}
 *     initiator ready (on RespDone, or on the first data from the responder)
 *
 * Guarantees:
 * - Every received message is checked completely (parsing, Noise, signatures, key policy)
 *   before anything changes. A message that fails any check is dropped with a reason and leaves
 *   the session exactly as it was, so a forged or corrupted packet cannot spoil a handshake.
 * - A handshake message that arrives again (byte for byte) gets the same answer, the very bytes
 *   sent the first time: retransmissions never start a new handshake or re-sign anything.
 * - Data is accepted only once the session can receive (responder: after InitDone; initiator:
 *   after sending InitDone), only once per counter (replay window, updated only after the
 *   AEAD tag verified), and only before the session expires.
 * - A session expires `rejectAfterTimeMs` (180 s) after it was created, or once it has sent
 *   its last counter (`MAX_NONCE` − 1); it then neither sends nor accepts anything.
 * - The InitHello timestamp is checked for its signature only, never against our clock (go-p2p
 *   compares it with the local time and locks out peers whose clock is behind). Ordering
 *   InitHellos of one peer is the `Channel`'s job.
 */
import { bytesEqual } from '../../core/index.js'
import {
  type CryptoBackend,
  defaultBackend,
  presig,
  type X25519KeyPair,
} from '../../crypto/index.js'
import {
  defaultRegistry,
  marshalPublicKey,
  type PrivateKey,
  type PublicKey,
  parsePublicKey,
  type SigningRegistry,
} from '../../f/x509/index.js'
import {
  HEADER_SIZE,
  MAX_MESSAGE_LEN,
  MAX_NONCE,
  NONCE_INIT_DONE,
  NONCE_INIT_HELLO,
  NONCE_POST_HANDSHAKE,
  NONCE_RESP_DONE,
  NONCE_RESP_HELLO,
  PROTOCOL_VERSION,
  PURPOSE_CHANNEL_BINDING,
  PURPOSE_TIMESTAMP,
  REJECT_AFTER_TIME_MS,
  TAG_SIZE,
} from './constants.js'
import {
  decodeInitDone,
  decodeRespHello,
  decodeTai64n,
  encodeHeader,
  encodeInitDone,
  encodeInitHelloPayload,
  encodeRespHello,
  encodeTai64n,
  parseInitHelloMessage,
  parseMessage,
  type Tai64n,
  tai64nFromUnixMs,
} from './messages.js'
import { type CipherState, NOISE_DH_LEN, NoiseNN } from './noise.js'
import { ReplayWindow } from './replay.js'

/** Where a session is in its handshake. */
export type SessionState =
  /** Responder, nothing accepted yet. */
  | 'awaiting-init-hello'
  /** Initiator: InitHello written, waiting for RespHello. */
  | 'init-hello-sent'
  /** Responder: RespHello written, waiting for InitDone. */
  | 'resp-hello-sent'
  /** Initiator: InitDone written, waiting for RespDone (data from the responder also completes it). */
  | 'init-done-sent'
  /** Both directions usable. */
  | 'ready'

/** Why a session dropped a message. */
export type DropReason =
  /** Not a P2PKE message, or a message whose encoding is wrong. */
  | 'malformed'
  /** The session is past its age or message limit. */
  | 'expired'
  /** A message this session does not expect in its role and state (e.g. another handshake's). */
  | 'unexpected'
  /** Data before the session can receive. */
  | 'early-data'
  /** A handshake message that fails Noise, a signature, or a protocol check. */
  | 'bad-handshake'
  /** The remote key was refused by `acceptKey`. */
  | 'key-rejected'
  /** A data counter seen before, below the window, or at or above the limit. */
  | 'replayed'
  /** Data whose AEAD tag does not verify. */
  | 'unauthenticated'

/** What `Session.deliver` made of a message. */
export type SessionOutput =
  | {
      /** A handshake message was accepted (or was a retransmission of one). */
      readonly type: 'handshake'
      /** The message to send back, if any (fresh, owned by the caller). */
      readonly reply: Uint8Array | undefined
      /** True when this message made the session ready. */
      readonly becameReady: boolean
      /** True when the message repeats one already processed; `reply` repeats the first answer. */
      readonly repeat: boolean
    }
  | {
      /** Application data (an empty plaintext is a keepalive). */
      readonly type: 'data'
      readonly plaintext: Uint8Array
      /** True when this message made the session ready (an initiator waiting for RespDone). */
      readonly becameReady: boolean
    }
  | { readonly type: 'drop'; readonly reason: DropReason }

/** Options of a `Session`. */
export interface SessionOptions {
  /** True for the side that sends InitHello. */
  initiator: boolean
  /** This side's long-lived signing key (go-p2p `x509.PrivateKey`; Ed25519 by default). */
  privateKey: PrivateKey
  /** The caller's clock reading (ms) at creation: the session's age counts from here. */
  now: number
  /**
   * Initiator: the TAI64N timestamp to put in InitHello. Default: the wall clock
   * (`Date.now()`). A `Channel` passes strictly increasing timestamps.
   */
  timestamp?: Tai64n
  /**
   * Called with the remote key before it is accepted (responder: from InitHello; initiator:
   * from RespHello). Return false to refuse the handshake; the message is dropped as
   * `key-rejected` and the session is unchanged. Default: accept any key that verifies.
   */
  acceptKey?: (key: PublicKey) => boolean
  /** Signing algorithms (default: Ed25519 over `backend`). */
  registry?: SigningRegistry
  /** Crypto backend (default: `defaultBackend()`). */
  backend?: CryptoBackend
  /** Age at which the session expires (default `REJECT_AFTER_TIME_MS`, 180 s). */
  rejectAfterTimeMs?: number
  /**
   * Counter limit: counters at or above it are neither sent nor accepted (default and maximum
   * `MAX_NONCE` = 2^32 − 2; at least `NONCE_POST_HANDSHAKE`). Lower only to test expiry.
   */
  rejectAfterMessages?: number
  /**
   * This side's ephemeral X25519 key pair. Default: a fresh one. Only for known-answer tests:
   * reusing an ephemeral key across sessions breaks forward secrecy.
   */
  ephemeral?: X25519KeyPair
}

const EMPTY = new Uint8Array(0)

/** A P2PKE session: the pure state machine of one handshake and its transport. */
export class Session {
  /** True for the side that sent InitHello. */
  readonly initiator: boolean
  /** The caller's clock reading at creation (ms). */
  readonly createdAt: number
  /** From this time on (caller's clock, ms) the session neither sends nor accepts anything. */
  readonly expiresAt: number
  /** Counters at or above this are neither sent nor accepted. */
  readonly messageLimit: number

  readonly #registry: SigningRegistry
  readonly #backend: CryptoBackend
  readonly #privateKey: PrivateKey
  readonly #localKeyX509: Uint8Array
  readonly #acceptKey: (key: PublicKey) => boolean
  readonly #ephemeral: X25519KeyPair | undefined
  readonly #window: ReplayWindow

  #state: SessionState
  // The four handshake messages as sent or received, for answering retransmissions.
  readonly #msgs: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined]
  // Initiator: the InitHello payload, to replay message 1 when trying a RespHello.
  #initHelloPayload: Uint8Array | undefined
  #id: Uint8Array | undefined
  #timestamp: Tai64n | undefined
  #remoteKey: PublicKey | undefined
  #handshakeHash: Uint8Array | undefined
  #sendCipher: CipherState | undefined
  #recvCipher: CipherState | undefined
  #nextNonce = NONCE_POST_HANDSHAKE

  /**
   * A new session. An initiator writes its InitHello at once (`handshakeMessage()`); a
   * responder waits for one (`deliver`). Throws `TypeError`/`RangeError` for bad options and
   * `BadMessageError` for a private key the registry cannot use.
   */
  constructor(opts: SessionOptions) {
    if (typeof opts.initiator !== 'boolean') throw new TypeError('initiator must be a boolean')
    checkTime(opts.now, 'now')
    const rejectAfterTime = opts.rejectAfterTimeMs ?? REJECT_AFTER_TIME_MS
    if (!(rejectAfterTime > 0)) throw new RangeError('rejectAfterTimeMs must be positive')
    const limit = opts.rejectAfterMessages ?? MAX_NONCE
    if (!Number.isInteger(limit) || limit < NONCE_POST_HANDSHAKE || limit > MAX_NONCE) {
      throw new RangeError(
        `rejectAfterMessages must be an integer in [${NONCE_POST_HANDSHAKE}, ${MAX_NONCE}]`,
      )
    }
    this.initiator = opts.initiator
    this.createdAt = opts.now
    this.expiresAt = opts.now + rejectAfterTime
    this.messageLimit = limit
    this.#backend = opts.backend ?? defaultBackend()
    this.#registry = opts.registry ?? defaultRegistry(this.#backend)
    this.#privateKey = opts.privateKey
    this.#localKeyX509 = marshalPublicKey(this.#registry.publicKeyFromPrivate(opts.privateKey))
    this.#acceptKey = opts.acceptKey ?? (() => true)
    this.#window = new ReplayWindow(limit)
    this.#ephemeral = opts.ephemeral

    if (!this.initiator) {
      this.#state = 'awaiting-init-hello'
      return
    }
    this.#state = 'init-hello-sent'
    this.#ephemeral ??= this.#backend.x25519Generate()
    const timestamp = opts.timestamp ?? tai64nFromUnixMs(Date.now())
    const tsBytes = encodeTai64n(timestamp)
    this.#timestamp = timestamp
    this.#initHelloPayload = encodeInitHelloPayload({
      version: PROTOCOL_VERSION,
      timestampTai64n: tsBytes,
      keyX509: this.#localKeyX509,
      sig: this.#sign(PURPOSE_TIMESTAMP, tsBytes),
    })
    const noise = new NoiseNN({
      initiator: true,
      ephemeral: this.#ephemeral,
      backend: this.#backend,
    })
    const initHello = concat(
      encodeHeader(NONCE_INIT_HELLO),
      noise.writeMessage1(this.#initHelloPayload),
    )
    this.#msgs[0] = initHello
    this.#id = sessionId(this.#backend, initHello)
  }

  /** Where the handshake is. */
  get state(): SessionState {
    return this.#state
  }

  /** True once the handshake is complete in both directions. */
  get ready(): boolean {
    return this.#state === 'ready'
  }

  /** How many data messages this session has sent. */
  get messagesSent(): number {
    return this.#nextNonce - NONCE_POST_HANDSHAKE
  }

  /**
   * The session id: BLAKE2b-256 of the InitHello message, header included (go-p2p uses it to
   * tell sessions apart and to break ties). Initiator: from creation; responder: once it accepted
   * an InitHello.
   */
  get id(): Uint8Array | undefined {
    return this.#id?.slice()
  }

  /** The InitHello's timestamp (ours as initiator, the peer's as responder), once known. */
  get timestamp(): Tai64n | undefined {
    return this.#timestamp
  }

  /** The remote party's long-lived public key, once the session is ready. */
  remoteKey(): PublicKey | undefined {
    if (!this.ready || this.#remoteKey === undefined) return undefined
    return { algorithm: this.#remoteKey.algorithm, data: this.#remoteKey.data.slice() }
  }

  /** The final Noise handshake hash (both sides sign it: the channel binding), once ready. */
  handshakeHash(): Uint8Array | undefined {
    return this.ready ? this.#handshakeHash?.slice() : undefined
  }

  /**
   * The handshake message this side is waiting on an answer to, to send (again) now: InitHello
   * or InitDone for an initiator, RespHello for a responder; undefined when this side has
   * nothing to (re)send. Always the same bytes for one step. A fresh copy.
   */
  handshakeMessage(): Uint8Array | undefined {
    switch (this.#state) {
      case 'init-hello-sent':
        return this.#msgs[0]?.slice()
      case 'resp-hello-sent':
        return this.#msgs[1]?.slice()
      case 'init-done-sent':
        return this.#msgs[2]?.slice()
      default:
        return undefined
    }
  }

  /** The RespDone this responder sent, once ready (to send again); a fresh copy. */
  respDoneMessage(): Uint8Array | undefined {
    return this.initiator ? undefined : this.#msgs[3]?.slice()
  }

  /** True from `expiresAt` on, and once the last counter has been sent. */
  isExpired(now: number): boolean {
    return now >= this.expiresAt || this.#nextNonce >= this.messageLimit
  }

  /** True when `send(…, now)` would succeed: ready, not expired, counters left. */
  canSend(now: number): boolean {
    return this.ready && !this.isExpired(now)
  }

  /**
   * Seals `plaintext` (at most `MAX_MESSAGE_LEN` bytes; empty is a keepalive) as the next data
   * message: header(counter) ‖ ChaCha20-Poly1305(key for this direction, nonce = counter,
   * ad = header). Throws `Error` unless `canSend(now)` (a bug in the caller), `RangeError` when
   * the plaintext is too long. Does not keep `plaintext`.
   */
  send(plaintext: Uint8Array, now: number): Uint8Array {
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array')
    if (plaintext.length > MAX_MESSAGE_LEN) {
      throw new RangeError(`plaintext of ${plaintext.length} bytes exceeds ${MAX_MESSAGE_LEN}`)
    }
    if (!this.canSend(now)) {
      throw new Error(
        this.ready ? 'p2pke: session expired' : 'p2pke: send before the handshake completed',
      )
    }
    const n = this.#nextNonce++
    const header = encodeHeader(n)
    return concat(header, this.#sendCipher!.encrypt(n, plaintext, header))
  }

  /**
   * Gives the session a received message. Never throws on the message's content: what cannot
   * be used is dropped with a reason, and a dropped message changes nothing. `message` is not
   * kept (copies are made of what must be remembered).
   */
  deliver(message: Uint8Array, now: number): SessionOutput {
    checkTime(now, 'now')
    const msg = parseMessage(message)
    if (msg === undefined) return drop('malformed')
    if (this.isExpired(now)) return drop('expired')
    switch (msg.counter) {
      case NONCE_INIT_HELLO:
        return this.#onInitHello(message)
      case NONCE_RESP_HELLO:
        return this.#onRespHello(message, msg.body)
      case NONCE_INIT_DONE:
        return this.#onInitDone(message, msg.header, msg.body)
      case NONCE_RESP_DONE:
        return this.#onRespDone(message, msg.header, msg.body)
      default:
        if (msg.counter < NONCE_POST_HANDSHAKE) return drop('unexpected')
        return this.#onData(msg.counter, msg.header, msg.body)
    }
  }

  #onInitHello(message: Uint8Array): SessionOutput {
    if (this.initiator) return drop('unexpected')
    if (this.#state !== 'awaiting-init-hello') return this.#repeat(0, message, 1)

    const checked = inspectInitHello(message, this.#registry, this.#acceptKey)
    if (!checked.ok) return drop(checked.reason)
    const { key, timestamp } = checked

    const noise = new NoiseNN({
      initiator: false,
      ephemeral: this.#ephemeral,
      backend: this.#backend,
    })
    const body = message.subarray(HEADER_SIZE)
    if (noise.readMessage1(body) === undefined) return drop('bad-handshake')
    const channelBinding = noise.handshakeHash()
    const respHello = concat(
      encodeHeader(NONCE_RESP_HELLO),
      noise.writeMessage2(
        encodeRespHello({
          keyX509: this.#localKeyX509,
          sig: this.#sign(PURPOSE_CHANNEL_BINDING, channelBinding),
        }),
      ),
    )
    const transport = noise.split()

    this.#msgs[0] = message.slice()
    this.#msgs[1] = respHello
    this.#id = sessionId(this.#backend, message)
    this.#timestamp = timestamp
    this.#remoteKey = key
    this.#sendCipher = transport.send
    this.#recvCipher = transport.receive
    this.#handshakeHash = transport.handshakeHash
    this.#state = 'resp-hello-sent'
    return handshake(respHello, false, false)
  }

  #onRespHello(message: Uint8Array, body: Uint8Array): SessionOutput {
    if (!this.initiator) return drop('unexpected')
    if (this.#state !== 'init-hello-sent') return this.#repeat(1, message, 2)
    if (body.length < NOISE_DH_LEN + TAG_SIZE) return drop('malformed')

    // Try the message on a copy of the handshake (replaying message 1 with the same ephemeral
    // key gives the same state), so that a RespHello which passes Noise but fails a later
    // check leaves this session waiting for the real one.
    const noise = new NoiseNN({
      initiator: true,
      ephemeral: this.#ephemeral,
      backend: this.#backend,
    })
    noise.writeMessage1(this.#initHelloPayload!)
    const channelBinding = noise.handshakeHash()
    const payload = noise.readMessage2(body)
    if (payload === undefined) return drop('bad-handshake')
    let key: PublicKey
    let sig: Uint8Array
    try {
      const resp = decodeRespHello(payload)
      key = this.#parseKey(resp.keyX509)
      sig = resp.sig
    } catch {
      return drop('bad-handshake')
    }
    if (!this.#acceptKey(key)) return drop('key-rejected')
    if (!this.#verify(key, PURPOSE_CHANNEL_BINDING, channelBinding, sig)) {
      return drop('bad-handshake')
    }
    const transport = noise.split()
    const header = encodeHeader(NONCE_INIT_DONE)
    const initDone = concat(
      header,
      transport.send.encrypt(
        NONCE_INIT_DONE,
        encodeInitDone({ sig: this.#sign(PURPOSE_CHANNEL_BINDING, transport.handshakeHash) }),
        header,
      ),
    )

    this.#msgs[1] = message.slice()
    this.#msgs[2] = initDone
    this.#remoteKey = key
    this.#sendCipher = transport.send
    this.#recvCipher = transport.receive
    this.#handshakeHash = transport.handshakeHash
    this.#state = 'init-done-sent'
    return handshake(initDone, false, false)
  }

  #onInitDone(message: Uint8Array, header: Uint8Array, body: Uint8Array): SessionOutput {
    if (this.initiator || this.#state === 'awaiting-init-hello') return drop('unexpected')
    if (this.#state !== 'resp-hello-sent') return this.#repeat(2, message, 3)
    if (body.length < TAG_SIZE) return drop('malformed')
    const plaintext = this.#recvCipher!.decrypt(NONCE_INIT_DONE, body, header)
    if (plaintext === undefined) return drop('bad-handshake')
    let sig: Uint8Array
    try {
      sig = decodeInitDone(plaintext).sig
    } catch {
      return drop('bad-handshake')
    }
    if (!this.#verify(this.#remoteKey!, PURPOSE_CHANNEL_BINDING, this.#handshakeHash!, sig)) {
      return drop('bad-handshake')
    }
    const doneHeader = encodeHeader(NONCE_RESP_DONE)
    const respDone = concat(
      doneHeader,
      this.#sendCipher!.encrypt(NONCE_RESP_DONE, EMPTY, doneHeader),
    )
    this.#msgs[2] = message.slice()
    this.#msgs[3] = respDone
    this.#state = 'ready'
    return handshake(respDone, true, false)
  }

  #onRespDone(message: Uint8Array, header: Uint8Array, body: Uint8Array): SessionOutput {
    if (!this.initiator || this.#state === 'init-hello-sent') return drop('unexpected')
    if (this.#msgs[3] !== undefined) return this.#repeat(3, message, undefined)
    // go-p2p sends RespDone with an empty payload: exactly one tag.
    if (body.length !== TAG_SIZE) return drop('malformed')
    if (this.#recvCipher!.decrypt(NONCE_RESP_DONE, body, header) === undefined) {
      return drop('bad-handshake')
    }
    this.#msgs[3] = message.slice()
    const becameReady = this.#state !== 'ready'
    this.#state = 'ready'
    return handshake(undefined, becameReady, false)
  }

  #onData(counter: number, header: Uint8Array, body: Uint8Array): SessionOutput {
    const canReceive =
      this.#state === 'ready' || (this.initiator && this.#state === 'init-done-sent')
    if (!canReceive) return drop('early-data')
    if (body.length < TAG_SIZE) return drop('malformed')
    // Cheap pre-check; the window itself moves only after the tag verified.
    if (!this.#window.check(counter)) return drop('replayed')
    const plaintext = this.#recvCipher!.decrypt(counter, body, header)
    if (plaintext === undefined) return drop('unauthenticated')
    this.#window.accept(counter)
    // Data from the responder proves it verified InitDone: as good as RespDone (go-p2p too).
    const becameReady = this.#state !== 'ready'
    this.#state = 'ready'
    return { type: 'data', plaintext, becameReady }
  }

  /**
   * A handshake message for a step already taken: the same bytes get the same answer
   * (`answer`: index of the cached reply, or undefined for none); anything else is not ours.
   */
  #repeat(index: number, message: Uint8Array, answer: number | undefined): SessionOutput {
    const seen = this.#msgs[index]
    if (seen === undefined || !bytesEqual(seen, message)) return drop('unexpected')
    const reply = answer === undefined ? undefined : this.#msgs[answer]?.slice()
    return handshake(reply, false, true)
  }

  #parseKey(keyX509: Uint8Array): PublicKey {
    const key = parsePublicKey(keyX509)
    this.#registry.checkPublicKey(key)
    return key
  }

  #sign(purpose: string, message: Uint8Array): Uint8Array {
    return this.#registry.sign(this.#privateKey, presig(purpose, message))
  }

  #verify(key: PublicKey, purpose: string, message: Uint8Array, sig: Uint8Array): boolean {
    return this.#registry.verify(key, presig(purpose, message), sig)
  }
}

/** An InitHello whose encoding and signature check out (see `verifyInitHello`). */
export interface VerifiedInitHello {
  /** The initiator's long-lived public key. */
  readonly key: PublicKey
  /** The signed TAI64N timestamp. */
  readonly timestamp: Tai64n
  /** The session id the message would start (BLAKE2b-256 of the message). */
  readonly id: Uint8Array
}

/**
 * Checks an InitHello on its own, without any session: header, canonical encoding, version,
 * timestamp, key, and the signature over the timestamp (purpose `p2pke/timestamp`). Returns
 * undefined for anything that fails; never throws on the message's content. It does not run the
 * key exchange (so a low-order ephemeral key is only refused later, by the session), and a valid
 * result proves only that the key's owner made this InitHello at some time: it may be a replay.
 *
 * For a swarm that creates per-peer state only once an InitHello verifies. It costs a signature
 * verification: rate-limit the calls (see `ratelimiter.ts`).
 */
export function verifyInitHello(
  message: Uint8Array,
  opts: { registry?: SigningRegistry; backend?: CryptoBackend } = {},
): VerifiedInitHello | undefined {
  const backend = opts.backend ?? defaultBackend()
  const registry = opts.registry ?? defaultRegistry(backend)
  const checked = inspectInitHello(message, registry, () => true)
  if (!checked.ok) return undefined
  return { key: checked.key, timestamp: checked.timestamp, id: sessionId(backend, message) }
}

/** Everything about an InitHello that needs no key exchange, cheapest checks first. */
function inspectInitHello(
  message: Uint8Array,
  registry: SigningRegistry,
  acceptKey: (key: PublicKey) => boolean,
): { ok: true; key: PublicKey; timestamp: Tai64n } | { ok: false; reason: DropReason } {
  if (!(message instanceof Uint8Array)) return { ok: false, reason: 'malformed' }
  let hello: ReturnType<typeof parseInitHelloMessage>['hello']
  try {
    hello = parseInitHelloMessage(message).hello
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  if (hello.version !== PROTOCOL_VERSION) return { ok: false, reason: 'bad-handshake' }
  let timestamp: Tai64n
  let key: PublicKey
  try {
    timestamp = decodeTai64n(hello.timestampTai64n)
    key = parsePublicKey(hello.keyX509)
    registry.checkPublicKey(key)
  } catch {
    return { ok: false, reason: 'bad-handshake' }
  }
  if (!acceptKey(key)) return { ok: false, reason: 'key-rejected' }
  if (!registry.verify(key, presig(PURPOSE_TIMESTAMP, hello.timestampTai64n), hello.sig)) {
    return { ok: false, reason: 'bad-handshake' }
  }
  return { ok: true, key, timestamp }
}

/** BLAKE2b-256 of an InitHello message (go-p2p's session id, `blake2b.Sum256`). */
export function sessionId(backend: CryptoBackend, initHello: Uint8Array): Uint8Array {
  return backend.blake2b(initHello, 32)
}

function drop(reason: DropReason): SessionOutput {
  return { type: 'drop', reason }
}

function handshake(
  reply: Uint8Array | undefined,
  becameReady: boolean,
  repeat: boolean,
): SessionOutput {
  return { type: 'handshake', reply: reply?.slice(), becameReady, repeat }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function checkTime(t: number, name: string): void {
  if (typeof t !== 'number' || !Number.isFinite(t)) {
    throw new TypeError(`${name} must be a finite number of milliseconds`)
  }
}
