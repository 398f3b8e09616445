/**
 * What a `P2PKESwarm` can be told: its options, their defaults, and their validation.
 *
 * Every limit is checked once, in `resolveLimits`, when the swarm is made: a bad option is a
 * bug of the caller and throws a `RangeError` naming it; nothing later re-checks.
 */
import type { Addr, Clock, PeerID } from '../../core/index.js'
import type { CryptoBackend } from '../../crypto/index.js'
import type { PrivateKey, PublicKey, SigningRegistry } from '../../f/x509/index.js'
import type { ChannelOptions, RateLimiterOptions } from '../../p/p2pke/index.js'

/** How long a tell or lookup waits for a handshake by default. */
export const DEFAULT_HANDSHAKE_WAIT_MS = 10_000
/** Default most channels at once. */
export const DEFAULT_MAX_CHANNELS = 1024
/** Default most half-open channels created by remote InitHellos. */
export const DEFAULT_MAX_HALF_OPEN = 256
/** Default most channels sharing one inner address (one per PeerID). */
export const DEFAULT_MAX_CHANNELS_PER_ADDR = 4
/** Default lifetime of a channel whose first handshake has not completed. */
export const DEFAULT_HALF_OPEN_TIMEOUT_MS = 10_000
/** Default lifetime of an established channel without traffic either way. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
/** Default most tells waiting for a handshake, over all channels. */
export const DEFAULT_MAX_WAITING_TELLS = 1024
/** Default most bytes of tells waiting for a handshake, over all channels. */
export const DEFAULT_MAX_WAITING_BYTES = 4 << 20
/**
 * Default most sources the handshake rate limiter tracks (RateLimiter's own default is 4096).
 * While a spoofed flood keeps more sources than this busy, InitHellos from new sources are
 * refused until it ends; established channels are not affected.
 */
export const DEFAULT_RATE_LIMIT_ENTRIES = 16384
/** Default number of accepted InitHellos remembered to recognise replays from other addresses. */
export const DEFAULT_MAX_REMEMBERED_HELLOS = 4096
/** Default time an accepted InitHello is remembered. */
export const DEFAULT_REMEMBER_HELLOS_MS = 60_000

/**
 * Who may connect: a function of the peer's id and key, or a collection of PeerIDs (objects or
 * their text). Applies to both directions.
 */
export type AllowList = ((id: PeerID, key: PublicKey) => boolean) | Iterable<PeerID | string>

/** Channel timings and queue limits a swarm passes to every `Channel` it makes. */
export type ChannelTuning = Omit<
  ChannelOptions,
  'privateKey' | 'send' | 'allowKey' | 'registry' | 'backend' | 'clock' | 'wallClock'
>

/** Options of a `P2PKESwarm`. Every limit must be a positive number. */
export interface P2PKESwarmOptions<A extends Addr = Addr> {
  /** This node's long-lived signing key (Ed25519 by default: `{ algorithm: ED25519_OID, data: seed }`). */
  privateKey: PrivateKey
  /** Who may connect (default: anyone). */
  allow?: AllowList
  /** PeerID of a key (default: `fingerprintPublicKey`, SHAKE256-256 of the SPKI, as go-p2p). */
  fingerprint?: (key: PublicKey) => PeerID
  /** How long a tell or `lookupPublicKey` waits for a handshake (default 10 s). */
  handshakeWaitMs?: number
  /** Most channels at once (default 1024). */
  maxChannels?: number
  /** Most half-open channels created by remote InitHellos (default 256, at most `maxChannels`). */
  maxHalfOpen?: number
  /** Most channels for one inner address (default 4). */
  maxChannelsPerAddr?: number
  /** A channel whose first handshake has not completed is closed after this long (default 10 s). */
  halfOpenTimeoutMs?: number
  /** An established channel without traffic either way is closed after this long (default 60 s). */
  idleTimeoutMs?: number
  /** Most tells waiting for a handshake (default 1024). */
  maxWaitingTells?: number
  /** Most bytes of tells waiting for a handshake (default 4 MiB). */
  maxWaitingBytes?: number
  /**
   * Handshake rate limits (defaults: WireGuard's 20/s and burst 5 per source; 1000/s and burst
   * 100 over all sources; 16384 sources tracked). InitHellos to established channels have a
   * bucket per channel with the same per-source rate, outside the global one.
   */
  rateLimit?: Omit<RateLimiterOptions, 'clock'>
  /** The rate limiter's key for a source (default: `defaultRateLimitKey`). */
  rateLimitKey?: (src: A) => string
  /** Accepted InitHellos remembered to spot replays from other addresses (default 4096). */
  maxRememberedHellos?: number
  /** How long an accepted InitHello is remembered (default 60 s). */
  rememberHellosMs?: number
  /** Most received tells waiting for `receive` (default 1024). */
  inboxItems?: number
  /** Most bytes of received tells waiting for `receive` (default 16 MiB). */
  inboxBytes?: number
  /** Timings and queue limits of every channel (defaults: P2PKE's, see `p/p2pke`). */
  channel?: ChannelTuning
  /** Time and timers (default: the system clock). */
  clock?: Clock
  /** Wall clock for InitHello timestamps, ms since the Unix epoch (default `Date.now`). */
  wallClock?: () => number
  /** Crypto backend (default: `defaultBackend()`). */
  backend?: CryptoBackend
  /** Signing algorithms (default: Ed25519 over `backend`). */
  registry?: SigningRegistry
  /** Called for unexpected events (a throwing allow function, a failing inner receive). Default: silent. */
  log?: (event: string, detail: Record<string, unknown>) => void
}

/** The numeric limits of a swarm, validated and with defaults applied (see `resolveLimits`). */
export interface Limits {
  /** `handshakeWaitMs`. */
  readonly handshakeWait: number
  /** `maxChannels`. */
  readonly maxChannels: number
  /** `maxHalfOpen`, at most `maxChannels`. */
  readonly maxHalfOpen: number
  /** `maxChannelsPerAddr`. */
  readonly maxPerAddr: number
  /** `halfOpenTimeoutMs`. */
  readonly halfOpenTimeout: number
  /** `idleTimeoutMs`. */
  readonly idleTimeout: number
  /** `maxWaitingTells`. */
  readonly maxWaitingTells: number
  /** `maxWaitingBytes`. */
  readonly maxWaitingBytes: number
  /** `maxRememberedHellos`. */
  readonly maxRemembered: number
  /** `rememberHellosMs`. */
  readonly rememberMs: number
}

/**
 * The limits of `opts` with their defaults. Throws `RangeError` naming the first option that
 * is not a positive integer (counts) or a positive finite number (times and bytes).
 */
export function resolveLimits<A extends Addr>(opts: P2PKESwarmOptions<A>): Limits {
  const maxChannels = int(opts.maxChannels ?? DEFAULT_MAX_CHANNELS, 'maxChannels')
  return {
    handshakeWait: pos(opts.handshakeWaitMs ?? DEFAULT_HANDSHAKE_WAIT_MS, 'handshakeWaitMs'),
    maxChannels,
    maxHalfOpen: Math.min(
      maxChannels,
      int(opts.maxHalfOpen ?? Math.min(DEFAULT_MAX_HALF_OPEN, maxChannels), 'maxHalfOpen'),
    ),
    maxPerAddr: int(opts.maxChannelsPerAddr ?? DEFAULT_MAX_CHANNELS_PER_ADDR, 'maxChannelsPerAddr'),
    halfOpenTimeout: pos(
      opts.halfOpenTimeoutMs ?? DEFAULT_HALF_OPEN_TIMEOUT_MS,
      'halfOpenTimeoutMs',
    ),
    idleTimeout: pos(opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 'idleTimeoutMs'),
    maxWaitingTells: int(opts.maxWaitingTells ?? DEFAULT_MAX_WAITING_TELLS, 'maxWaitingTells'),
    maxWaitingBytes: pos(opts.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES, 'maxWaitingBytes'),
    maxRemembered: int(
      opts.maxRememberedHellos ?? DEFAULT_MAX_REMEMBERED_HELLOS,
      'maxRememberedHellos',
    ),
    rememberMs: pos(opts.rememberHellosMs ?? DEFAULT_REMEMBER_HELLOS_MS, 'rememberHellosMs'),
  }
}

function int(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${n}`)
  }
  return n
}

function pos(n: number, name: string): number {
  if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n)) {
    throw new RangeError(`${name} must be a positive number, got ${n}`)
  }
  return n
}
