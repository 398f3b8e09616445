/**
 * Admission: whether an InitHello may reach a channel, or create one. Every InitHello a swarm
 * receives passes here first; this is where one is dropped, and why.
 *
 * For an InitHello from a (PeerID, source) without a channel nothing is stored before it
 * verifies, and the checks run cheapest first (each drop is counted under its reason):
 * 1. parse the message and its key (strict, no signature check) → `malformed`;
 * 2. the allow-list, on the PeerID and the key → `notAllowed`;
 * 3. the same (PeerID, timestamp) accepted recently from *another* source → `replay`. A captured
 *    InitHello replayed from elsewhere, also with another ephemeral key (which the signature
 *    does not cover), costs no signature check;
 * 4. the handshake `RateLimiter` (a bucket per source, keyed by `defaultRateLimitKey` or the
 *    `rateLimitKey` option, and one for all sources) → `rateLimited`;
 * 5. `verifyInitHello` (one signature check, counted in `verifications`) → `authFailed`;
 * and then it is remembered (for step 3) and may create a channel.
 *
 * For an InitHello to an existing channel only the rate applies (the channel checks order, key
 * and signature itself): a half-open channel's through the same limiter as a new source, an
 * established channel's through its own bucket in a second limiter without a global bucket. An
 * established channel refuses cheaply everything an attacker can make cheaply (another key, an
 * old timestamp), so floods do not hold up the rekeys of known peers.
 *
 * Pure: no I/O, no timers; the caller passes the time.
 */
import {
  type Addr,
  type Message,
  type PeerID,
  extractIP,
  isLoopbackIP,
  mappedIPv4,
} from '../../core/index.js'
import type { CryptoBackend } from '../../crypto/index.js'
import { type PublicKey, type SigningRegistry, parsePublicKey } from '../../f/x509/index.js'
import {
  RateLimiter,
  type RateLimiterOptions,
  type RateLimiterStats,
  parseInitHelloMessage,
  verifyInitHello,
} from '../../p/p2pke/index.js'
import type { AllowPolicy } from './allow.js'
import { DEFAULT_RATE_LIMIT_ENTRIES } from './options.js'

/**
 * The default rate-limiter key of a source, as WireGuard's: its IP (an IPv6 address by its /64),
 * so that varying the port buys nothing. Loopback sources are keyed by the whole address (each
 * local process gets its own bucket; nobody off the host can send from loopback). Addresses that
 * carry no IP (memswarm) are keyed by their text.
 */
export function defaultRateLimitKey(src: Addr): string {
  const ip = extractIP(src)
  if (ip === undefined || isLoopbackIP(ip)) return src.toString()
  if (ip.includes(':') && mappedIPv4(ip) === undefined) return ipv6Prefix64(ip)
  return mappedIPv4(ip) ?? ip
}

/**
 * The /64 of an IPv6 address text, as `a:b:c:d::/64` (groups without leading zeros, zone
 * dropped). Expects a valid address (as `extractIP` gives).
 */
export function ipv6Prefix64(ip: string): string {
  const bare = ip.split('%')[0]!.toLowerCase()
  const halves = bare.split('::')
  const head = halves[0] ? halves[0].split(':') : []
  let groups = head
  if (halves.length === 2) {
    const tail = halves[1] ? halves[1].split(':') : []
    groups = [
      ...head,
      ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'),
      ...tail,
    ]
  }
  while (groups.length < 4) groups.push('0')
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/**
 * The InitHellos accepted recently: (PeerID, timestamp) → the source it came from. At most
 * `max` are kept, each for `ttlMs`; when full, the oldest is forgotten. Remembering an entry
 * again moves it to the end (entries stay in order of time).
 */
export class RecentHellos {
  readonly #max: number
  readonly #ttlMs: number
  /** `<PeerID>:<timestamp hex>` → source address text and time, oldest first. */
  readonly #map = new Map<string, { src: string; at: number }>()

  /** `max` entries (a positive integer), each kept `ttlMs` (positive); not checked here. */
  constructor(max: number, ttlMs: number) {
    this.#max = max
    this.#ttlMs = ttlMs
  }

  /** The source `key` was accepted from within `ttlMs` before `now`, else undefined. */
  recall(key: string, now: number): string | undefined {
    const h = this.#map.get(key)
    if (h === undefined) return undefined
    if (now - h.at > this.#ttlMs) {
      this.#map.delete(key)
      return undefined
    }
    return h.src
  }

  /** Remembers `key` from `src` at `now`, forgetting the expired and, when full, the oldest. */
  remember(key: string, src: string, now: number): void {
    for (const [k, h] of this.#map) {
      if (now - h.at <= this.#ttlMs && this.#map.size < this.#max) break
      this.#map.delete(k)
    }
    this.#map.delete(key)
    this.#map.set(key, { src, at: now })
  }

  /** Forgets every entry older than `ttlMs` at `now`. */
  forgetExpired(now: number): void {
    for (const [k, h] of this.#map) {
      if (now - h.at <= this.#ttlMs) break
      this.#map.delete(k)
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear()
  }

  /** Entries remembered now. */
  get size(): number {
    return this.#map.size
  }
}

/** The part of an existing channel admission looks at. */
export interface KnownChannel {
  /** The channel's key (its remote address text): the bucket of an established channel. */
  readonly key: string
  /** Whether its first handshake has completed. */
  readonly established: boolean
}

/** Why admission dropped an InitHello (counted in `AdmissionStats.dropped`). */
export type AdmissionDropReason =
  | 'malformed'
  | 'notAllowed'
  | 'rateLimited'
  | 'replay'
  | 'authFailed'

/** What to do with an InitHello. */
export type Verdict<C extends KnownChannel> =
  /** Give it to `channel`, the existing channel for its (PeerID, source); the channel checks it. */
  | { readonly action: 'deliver'; readonly channel: C }
  /** It verified and comes from a (PeerID, source) without a channel: one may be created. */
  | { readonly action: 'create'; readonly id: PeerID; readonly key: PublicKey }
  /** Drop it (counted under `reason`); `channel` is the existing channel it was for, if any. */
  | { readonly action: 'drop'; readonly reason: AdmissionDropReason; readonly channel?: C }

/** Options of an `Admission`; see `P2PKESwarmOptions` for their meaning. */
export interface AdmissionOptions<A extends Addr> {
  /** PeerID of a key. */
  readonly fingerprint: (key: PublicKey) => PeerID
  /** The swarm's allow-list. */
  readonly allow: AllowPolicy
  /** Signing algorithms (checks keys and signatures). */
  readonly registry: SigningRegistry
  /** Crypto backend for `verifyInitHello`. */
  readonly backend: CryptoBackend
  /** Handshake rate limits (the limiter's defaults, with 16384 sources tracked). */
  readonly rateLimit?: Omit<RateLimiterOptions, 'clock'>
  /** The rate limiter's key for a source (default `defaultRateLimitKey`). */
  readonly rateLimitKey?: (src: A) => string
  /** Most established channels (the size of the per-channel limiter). */
  readonly maxChannels: number
  /** Accepted InitHellos remembered. */
  readonly maxRememberedHellos: number
  /** How long an accepted InitHello is remembered, ms. */
  readonly rememberHellosMs: number
}

/** Counters of an `Admission`. */
export interface AdmissionStats {
  /** Signature checks (`verifyInitHello`). */
  readonly verifications: number
  /** InitHellos dropped, by reason. */
  readonly dropped: { readonly [R in AdmissionDropReason]: number }
  /** Accepted InitHellos remembered now. */
  readonly rememberedHellos: number
  /** The limiter of InitHellos from new sources and to half-open channels. */
  readonly rateLimiter: RateLimiterStats
  /** The per-channel limiter of InitHellos to established channels. */
  readonly peerRateLimiter: RateLimiterStats
}

/** Decides InitHellos as the module comment says. */
export class Admission<A extends Addr> {
  readonly #fingerprint: (key: PublicKey) => PeerID
  readonly #allow: AllowPolicy
  readonly #registry: SigningRegistry
  readonly #backend: CryptoBackend
  readonly #rateKey: (src: A) => string
  readonly #limiter: RateLimiter
  /** Per-channel buckets for InitHellos to established channels. */
  readonly #peerLimiter: RateLimiter
  readonly #hellos: RecentHellos
  #verifications = 0
  readonly #dropped = { malformed: 0, notAllowed: 0, rateLimited: 0, replay: 0, authFailed: 0 }

  /** Throws `RangeError` naming a `rateLimit` option out of range. */
  constructor(opts: AdmissionOptions<A>) {
    this.#fingerprint = opts.fingerprint
    this.#allow = opts.allow
    this.#registry = opts.registry
    this.#backend = opts.backend
    this.#rateKey = opts.rateLimitKey ?? defaultRateLimitKey
    // Both limiters are always given the time, so their clocks are never read.
    this.#limiter = new RateLimiter({ maxEntries: DEFAULT_RATE_LIMIT_ENTRIES, ...opts.rateLimit })
    this.#peerLimiter = new RateLimiter({
      packetsPerSecond: opts.rateLimit?.packetsPerSecond,
      burst: opts.rateLimit?.burst,
      globalPacketsPerSecond: Number.POSITIVE_INFINITY,
      maxEntries: opts.maxChannels,
    })
    this.#hellos = new RecentHellos(opts.maxRememberedHellos, opts.rememberHellosMs)
  }

  /**
   * Decides the InitHello `msg` (its payload has counter 0) at time `now`. `find(id)` returns the
   * existing channel for PeerID `id` at `msg.src`, if any. Charges the rate limiters and
   * remembers the InitHello as the verdict requires; never throws on the message's content.
   */
  admit<C extends KnownChannel>(
    msg: Message<A>,
    now: number,
    find: (id: PeerID) => C | undefined,
  ): Verdict<C> {
    const payload = msg.payload
    let key: PublicKey
    let tsHex: string
    try {
      const hello = parseInitHelloMessage(payload).hello
      key = parsePublicKey(hello.keyX509)
      this.#registry.checkPublicKey(key)
      tsHex = toHex(hello.timestampTai64n)
    } catch {
      return this.#drop('malformed')
    }
    const id = this.#fingerprint(key)
    const channel = find(id)
    if (channel !== undefined) {
      const allowed = channel.established
        ? this.#peerLimiter.allow(channel.key, now)
        : this.#limiter.allow(this.#rateKey(msg.src), now)
      if (!allowed) return this.#drop('rateLimited', channel)
      return { action: 'deliver', channel }
    }
    if (!this.#allow.admits(id, key)) return this.#drop('notAllowed')
    const srcText = msg.src.toString()
    const helloKey = `${id.toString()}:${tsHex}`
    const seen = this.#hellos.recall(helloKey, now)
    if (seen !== undefined && seen !== srcText) return this.#drop('replay')
    if (!this.#limiter.allow(this.#rateKey(msg.src), now)) return this.#drop('rateLimited')
    this.#verifications++
    const verified = verifyInitHello(payload, { registry: this.#registry, backend: this.#backend })
    if (verified === undefined) return this.#drop('authFailed')
    this.#hellos.remember(helloKey, srcText, now)
    return { action: 'create', id, key }
  }

  /** Forgets expired InitHellos and idle rate-limiter entries at `now`. */
  gc(now: number): void {
    this.#hellos.forgetExpired(now)
    this.#limiter.gc(now)
    this.#peerLimiter.gc(now)
  }

  /** Forgets every InitHello and every rate-limiter entry (on close). Counters are kept. */
  clear(): void {
    this.#hellos.clear()
    this.#limiter.clear()
    this.#peerLimiter.clear()
  }

  /** A snapshot of the counters. */
  stats(): AdmissionStats {
    return {
      verifications: this.#verifications,
      dropped: { ...this.#dropped },
      rememberedHellos: this.#hellos.size,
      rateLimiter: this.#limiter.stats(),
      peerRateLimiter: this.#peerLimiter.stats(),
    }
  }

  #drop<C extends KnownChannel>(reason: AdmissionDropReason, channel?: C): Verdict<C> {
    this.#dropped[reason]++
    return channel === undefined ? { action: 'drop', reason } : { action: 'drop', reason, channel }
  }
}

function toHex(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}
