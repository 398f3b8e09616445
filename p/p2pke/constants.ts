/**
 * P2PKE v1 protocol constants, named as go-p2p names them (`p/p2pke/p2pke.go`), with the
 * WireGuard names where P2PKE borrows the idea. Times are milliseconds.
 *
 * The wire values (counters, purposes, sizes, limits) are fixed by the protocol: a TypeScript
 * node and a Go node must agree on them. The timing values are the defaults of `Channel` and
 * can be overridden there; changing them does not change the wire format.
 */

/** The protocol version carried in InitHello (field 1). */
export const PROTOCOL_VERSION = 1

/** Length of the big-endian counter that starts every P2PKE message. */
export const HEADER_SIZE = 4

/** Counter of InitHello, the initiator's first message (go-p2p `nonceInitHello`). */
export const NONCE_INIT_HELLO = 0
/** Counter of RespHello, the responder's answer (go-p2p `nonceRespHello`). */
export const NONCE_RESP_HELLO = 1
/** Counter of InitDone, the initiator's signature over the final handshake hash (`nonceInitDone`). */
export const NONCE_INIT_DONE = 2
/** Counter of RespDone, the responder's empty acknowledgement (`nonceRespDone`). */
export const NONCE_RESP_DONE = 3
/** First counter of application data in a session; 4–15 are unused (`noncePostHandshake`). */
export const NONCE_POST_HANDSHAKE = 16

/**
 * Counters at or above this are never sent nor accepted (go-p2p `MaxNonce` = 2^32 − 2). A
 * session therefore carries at most `MAX_NONCE − NONCE_POST_HANDSHAKE` data messages each way.
 */
export const MAX_NONCE = 0xffff_ffff - 1
/** The message limit of a session (WireGuard's name for `MAX_NONCE`). */
export const REJECT_AFTER_MESSAGES = MAX_NONCE
/** A sender starts a new handshake after this many messages on one session (go-p2p `RekeyAfterMessages`). */
export const REKEY_AFTER_MESSAGES = Math.floor(MAX_NONCE / 2)

/** Authentication tag added by ChaCha20-Poly1305 to every sealed message. */
export const TAG_SIZE = 16
/** Per-message overhead of a data message: header and tag (go-p2p `Overhead`). */
export const OVERHEAD = HEADER_SIZE + TAG_SIZE
/** Largest Noise message (flynn/noise `MaxMsgLen`). */
export const NOISE_MAX_MSG_LEN = 65535
/** Largest plaintext a data message can carry (go-p2p `MaxMessageLen`). */
export const MAX_MESSAGE_LEN = NOISE_MAX_MSG_LEN - OVERHEAD
/** Largest P2PKE message accepted from the network: a header and a Noise message. */
export const MAX_WIRE_LEN = HEADER_SIZE + NOISE_MAX_MSG_LEN

/** Purpose of the InitHello signature over its TAI64N timestamp (go-p2p `purposeTimestamp`). */
export const PURPOSE_TIMESTAMP = 'p2pke/timestamp'
/** Purpose of the signatures over the Noise handshake hash (go-p2p `purposeChannelBinding`). */
export const PURPOSE_CHANNEL_BINDING = 'p2pke/channel-binding'

/** The initiator of the current session starts a new handshake once it is this old (`RekeyAfterTime`). */
export const REKEY_AFTER_TIME_MS = 120_000
/** A session neither sends nor accepts anything once it is this old (`RejectAfterTime`). */
export const REJECT_AFTER_TIME_MS = 180_000
/**
 * Either side rekeys a session this old, whoever initiated it, so that a responder with traffic
 * never runs into `REJECT_AFTER_TIME_MS` (WireGuard: reject − keepalive − rekey timeout).
 */
export const REKEY_AFTER_TIME_RECEIVING_MS = REJECT_AFTER_TIME_MS - 30_000
/** A session from which nothing was received for this long is considered dead (`KeepAliveTimeout`). */
export const KEEP_ALIVE_TIMEOUT_MS = 15_000
/**
 * A side that receives data but has sent nothing for this long answers with a keepalive (an
 * empty data message), so a one-way flow keeps the sender's session alive (WireGuard's
 * `KEEPALIVE_TIMEOUT`; go-p2p has no keepalives). Shorter than `KEEP_ALIVE_TIMEOUT_MS`.
 */
export const KEEPALIVE_INTERVAL_MS = 10_000
/** First wait before a handshake message is sent again (go-p2p `HandshakeBackoff`). */
export const HANDSHAKE_BACKOFF_MS = 250
/**
 * Cap of the handshake retransmission backoff, which doubles from `HANDSHAKE_BACKOFF_MS`
 * (250, 500, 1000, 2000, 4000, 5000, 5000, ... ms; WireGuard's `REKEY_TIMEOUT`). go-p2p resends
 * every 250 ms without backing off.
 */
export const HANDSHAKE_BACKOFF_MAX_MS = 5_000
/**
 * An attempt of ours this old whose InitDone is still unanswered is replaced by a fresh one (a
 * new ephemeral key and timestamp): the responder most likely lost its state half-way. An
 * unanswered InitHello is never replaced, only resent (see `Channel`).
 */
export const HANDSHAKE_ATTEMPT_MS = 10_000
/**
 * A channel that cannot complete any handshake for this long gives up: waiting sends fail with a
 * `HandshakeError` and retransmissions stop until the next send (WireGuard's `REKEY_ATTEMPT_TIME`).
 */
export const HANDSHAKE_TIMEOUT_MS = 90_000

/** Width of the replay window in counters: (128 − 1) blocks of 64 bits, as WireGuard. */
export const REPLAY_WINDOW_SIZE = (128 - 1) * 64
