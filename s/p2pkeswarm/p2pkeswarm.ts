/**
 * p2pkeswarm: secures any swarm with P2PKE (go-p2p `s/p2pkeswarm`), wire-compatible with go-p2p.
 *
 * The inner swarm plus one idea: a P2PKE `Channel` per remote (PeerID, inner address). Each
 * datagram of the inner swarm is one P2PKE message; a tell is one data message, so the mtu is
 * the inner mtu − 20 bytes (4-byte counter, 16-byte tag). Addresses are `<PeerID>@<inner>`
 * (`P2PKEAddr`); a PeerID is the fingerprint of a key (`fingerprintPublicKey`).
 *
 * A packet flows one way: inner swarm → `#onPacket` (classify by counter) → `Admission` (an
 * InitHello from a new source: may it create a channel?) → `ChannelTable` (find or create the
 * channel, within the caps) → the channel (the P2PKE state machine) → the inbox → `receive`.
 * A tell flows back: `tell` → the table's channel for `dst` → its session → `#sendPacket`
 * (the anti-amplification budget) → the inner swarm.
 *
 * Channels are keyed by the remote address text `<PeerID>@<inner>`. (go-p2p keys channels by the
 * inner address alone, so a new key at a known address is locked out until the old channel is
 * forgotten; here a second PeerID at the same address gets its own channel, and neither can
 * displace the other.) A channel only ever accepts the key whose fingerprint is its PeerID (and
 * which the allow-list admits), so the PeerID in a tell's `dst` is exactly the key the handshake
 * proves: a peer at that address with another key never completes the handshake, and the tell
 * fails. A non-handshake packet from an inner address with several channels is offered to each
 * in turn, most recently heard first; only the session holding its keys accepts it.
 *
 * Where the limits live: why an InitHello is dropped, `admission.ts`; why a channel is evicted
 * or expires, and the anti-amplification budget, `table.ts`; the options and their defaults,
 * `options.ts`. Here: tells waiting for a handshake are capped in number and bytes for the whole
 * swarm (and by each channel's queue); past that `tell` rejects with `BusyError`.
 */
import {
  type Addr,
  BadAddrError,
  BusyError,
  type CallOptions,
  type Clock,
  CloseOnce,
  ClosedError,
  type HasStats,
  type Inbox,
  type Message,
  NotAllowedError,
  MTUExceededError,
  type Payload,
  PeerID,
  PublicKeyNotFoundError,
  type SecureSwarm,
  type Swarm,
  TimeoutError,
  bytesEqual,
  checkCall,
  hasStats,
  linkedAbort,
  newMessageInbox,
  payloadCopy,
  payloadSize,
  pumpMessages,
  receiveOne,
  systemClock,
  wallClockMs,
} from '../../core/index.js'
import { type CryptoBackend, defaultBackend } from '../../crypto/index.js'
import {
  type PrivateKey,
  type PublicKey,
  type SigningRegistry,
  defaultRegistry,
} from '../../f/x509/index.js'
import {
  Channel,
  type ChannelOptions,
  HEADER_SIZE,
  MAX_MESSAGE_LEN,
  NONCE_INIT_HELLO,
  NONCE_POST_HANDSHAKE,
  OVERHEAD,
} from '../../p/p2pke/index.js'
import { P2PKEAddr, parseP2PKEAddr } from './addr.js'
import { Admission } from './admission.js'
import { AllowPolicy } from './allow.js'
import { fingerprintPublicKey } from './fingerprint.js'
import {
  type ChannelTuning,
  type Limits,
  type P2PKESwarmOptions,
  resolveLimits,
} from './options.js'
import { ChannelTotals, type P2PKESwarmStats, channelDropTotal } from './stats.js'
import { type ChannelEntry, ChannelTable } from './table.js'

type Entry<A extends Addr> = ChannelEntry<A, Channel>

/** Drops decided here, before admission or a channel (admission counts its own). */
type SwarmDropReason = 'malformed' | 'badCounter' | 'unknown' | 'channelsFull'

/**
 * A SecureSwarm over any swarm, speaking P2PKE (see the module comment for channels, and
 * `admission.ts` and `table.ts` for the limits).
 *
 * - `tell(dst)` sends at once when the channel to `dst` has a usable session; otherwise it starts
 *   (or joins) a handshake, waits for it at most `handshakeWaitMs`, then sends. It resolves once
 *   the message is encrypted and handed to the inner swarm (no promise of delivery), and rejects
 *   with `TimeoutError` when no session was ready in time (an unreachable peer, or one whose key
 *   does not match `dst`'s PeerID or the allow-list), `NotAllowedError` for a PeerID an
 *   allow-list set excludes, `BusyError` when too many tells wait, `MTUExceededError`, the
 *   signal's reason, or `ClosedError`. When the message goes out at once, errors of the inner
 *   tell are passed on. An **empty payload is refused** (`RangeError`): on the P2PKE wire an empty
 *   data message is a keepalive, which neither go-p2p nor swarmwire delivers.
 * - `receive` delivers only data that authenticated on a session with a key the allow-list
 *   admits; `msg.src` is `<PeerID of that key>@<inner source>`.
 * - `lookupPublicKey(addr)` answers from memory for the `src` of a delivered message and for
 *   every established channel; for a peer without one it performs a handshake (bounded like a
 *   tell, and by the caller's signal) and rejects with `PublicKeyNotFoundError` when none
 *   completes in time.
 * - A tell to this node's own address is delivered locally, without cryptography.
 * - Owns the inner swarm: `close()` closes it, every channel and timer; waiting tells and
 *   lookups reject with `ClosedError`. If the inner swarm closes underneath, this swarm closes.
 */
export class P2PKESwarm<A extends Addr> implements SecureSwarm<P2PKEAddr<A>, PublicKey>, HasStats {
  readonly #inner: Swarm<A>
  readonly #privateKey: PrivateKey
  readonly #publicKey: PublicKey
  readonly #localID: PeerID
  readonly #backend: CryptoBackend
  readonly #registry: SigningRegistry
  readonly #fingerprint: (key: PublicKey) => PeerID
  readonly #allow: AllowPolicy
  readonly #clock: Clock
  readonly #wallClock: () => number
  readonly #channelTuning: ChannelTuning
  readonly #limits: Limits
  readonly #admission: Admission<A>
  readonly #table: ChannelTable<A, Channel>
  readonly #log: (event: string, detail: Record<string, unknown>) => void
  readonly #closer = new CloseOnce()
  readonly #inbox: Inbox<Message<P2PKEAddr<A>>>
  readonly #loop: Promise<void>

  /** The key behind each `msg.src` object this swarm delivered (read by `lookupPublicKey`). */
  readonly #srcKeys = new WeakMap<object, PublicKey>()
  /** `msg.dst` objects, by inner address text (a handful: our local addresses). */
  readonly #dsts = new Map<string, P2PKEAddr<A>>()
  /** Send promises of the channel being driven by a tell, to pass inner errors on. */
  #capture: Promise<void>[] | undefined
  #cancelSweep: (() => void) | undefined
  #waitingTells = 0
  #waitingBytes = 0

  readonly #drops: Record<SwarmDropReason, number> = {
    malformed: 0,
    badCounter: 0,
    unknown: 0,
    channelsFull: 0,
  }
  readonly #counts = {
    responded: 0,
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    errors: 0,
  }
  /** Counters of closed channels, so totals survive them. */
  readonly #retired = new ChannelTotals()

  /**
   * Wraps `inner`, which it then owns. Throws `TypeError`/`RangeError` for bad options and
   * `BadMessageError` for a private key the registry cannot use.
   */
  constructor(inner: Swarm<A>, opts: P2PKESwarmOptions<A>) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('options are required')
    this.#inner = inner
    this.#log = opts.log ?? (() => {})
    this.#backend = opts.backend ?? defaultBackend()
    this.#registry = opts.registry ?? defaultRegistry(this.#backend)
    this.#privateKey = opts.privateKey
    this.#publicKey = this.#registry.publicKeyFromPrivate(opts.privateKey)
    const fp = opts.fingerprint
    if (fp !== undefined && typeof fp !== 'function') {
      throw new TypeError('fingerprint must be a function')
    }
    this.#fingerprint = fp ?? ((key) => fingerprintPublicKey(key, this.#backend))
    this.#localID = this.#fingerprint(this.#publicKey)
    if (!(this.#localID instanceof PeerID)) throw new TypeError('fingerprint must return a PeerID')
    this.#allow = new AllowPolicy(opts.allow, this.#log)
    this.#clock = opts.clock ?? systemClock
    this.#wallClock = opts.wallClock ?? wallClockMs
    this.#channelTuning = { ...opts.channel }
    this.#limits = resolveLimits(opts)
    this.#admission = new Admission<A>({
      fingerprint: this.#fingerprint,
      allow: this.#allow,
      registry: this.#registry,
      backend: this.#backend,
      rateLimit: opts.rateLimit,
      rateLimitKey: opts.rateLimitKey,
      maxChannels: this.#limits.maxChannels,
      maxRememberedHellos: this.#limits.maxRemembered,
      rememberHellosMs: this.#limits.rememberMs,
    })
    this.#table = new ChannelTable<A, Channel>(this.#limits, {
      open: (entry) =>
        new Channel(
          this.#channelOptions(
            (key) => this.#fingerprint(key).equals(entry.id) && this.#allow.admits(entry.id, key),
            (bytes) => this.#sendPacket(entry, bytes),
          ),
        ),
      closed: (entry) => this.#retired.add(entry.channel.stats()),
    })
    this.#inbox = newMessageInbox({ maxItems: opts.inboxItems, maxBytes: opts.inboxBytes })
    // Fails early for a channel option out of range.
    new Channel(
      this.#channelOptions(
        () => true,
        () => {},
      ),
    ).close()
    this.#loop = pumpMessages(inner, this.#onPacket).then((err) => {
      if (err !== undefined) this.#log('inner receive failed', { err })
      void this.close()
    })
  }

  /** This node's PeerID (the fingerprint of its public key). */
  get peerID(): PeerID {
    return this.#localID
  }

  /** Sends `data` to `dst` over its channel. See the class comment for waiting and errors. */
  async tell(dst: P2PKEAddr<A>, data: Payload, opts?: CallOptions): Promise<void> {
    checkCall(this.#closer, opts)
    checkAddr(dst, 'dst')
    const size = payloadSize(data)
    const mtu = this.mtu(dst)
    if (size > mtu) throw new MTUExceededError(size, mtu)
    if (size === 0) {
      throw new RangeError(
        'p2pkeswarm: cannot tell an empty payload (on the P2PKE wire it is a keepalive, never delivered)',
      )
    }
    if (this.#isSelf(dst)) {
      this.#counts.messagesOut++
      this.#counts.messagesIn++
      this.#inbox.put({ src: dst, dst, payload: payloadCopy(data) })
      return
    }
    if (this.#allow.excludes(dst.peerID)) {
      throw new NotAllowedError(`p2pkeswarm: ${dst.peerID} is not on the allow-list`)
    }
    const entry = this.#outboundEntry(dst)
    entry.lastUsed = this.#clock.now()
    const channel = entry.channel
    if (channel.ready) {
      const captured: Promise<void>[] = []
      this.#capture = captured
      let sent: Promise<void>
      try {
        sent = channel.send(data)
      } finally {
        this.#capture = undefined
      }
      await sent
      this.#counts.messagesOut++
      await Promise.all(captured)
      return
    }
    const l = this.#limits
    if (this.#waitingTells >= l.maxWaitingTells || this.#waitingBytes + size > l.maxWaitingBytes) {
      throw new BusyError('p2pkeswarm: too many tells are waiting for handshakes')
    }
    this.#waitingTells++
    this.#waitingBytes += size
    try {
      await this.#waitOn(entry, dst, opts, (signal) => channel.send(data, { signal }))
      this.#counts.messagesOut++
    } finally {
      this.#waitingTells--
      this.#waitingBytes -= size
    }
  }

  /** Takes one received tell. */
  receive(
    fn: (msg: Message<P2PKEAddr<A>>) => void | Promise<void>,
    opts?: CallOptions,
  ): Promise<void> {
    try {
      checkCall(this.#closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return receiveOne(this.#inbox, fn, opts)
  }

  /** The inner swarm's addresses with this node's PeerID. */
  localAddrs(): P2PKEAddr<A>[] {
    return this.#inner.localAddrs().map((a) => new P2PKEAddr(this.#localID, a))
  }

  /** The inner mtu to `dst` minus 20 bytes, at most `MAX_MESSAGE_LEN` (65515). */
  mtu(dst: P2PKEAddr<A>): number {
    checkAddr(dst, 'dst')
    return Math.max(0, Math.min(this.#inner.mtu(dst.inner) - OVERHEAD, MAX_MESSAGE_LEN))
  }

  /** The inner limit minus 20 bytes, at most `MAX_MESSAGE_LEN`. */
  maxIncomingSize(): number {
    return Math.max(0, Math.min(this.#inner.maxIncomingSize() - OVERHEAD, MAX_MESSAGE_LEN))
  }

  /** Parses `<PeerID>@<inner>` strictly (`BadAddrError`). */
  parseAddr(text: string): P2PKEAddr<A> {
    return parseP2PKEAddr(text, (t) => this.#inner.parseAddr(t))
  }

  /** This node's public key (a copy). */
  publicKey(): PublicKey {
    return copyKey(this.#publicKey)
  }

  /**
   * The key of the peer at `addr` (a copy). From memory for the `src` of a delivered message, for
   * an established channel to `addr` or to its PeerID at another address, and for this node;
   * otherwise after a handshake with `addr` (bounded by `handshakeWaitMs` and the signal).
   * Rejects with `PublicKeyNotFoundError` when no handshake completes in time (or an allow-list
   * set excludes the PeerID), `BusyError` when every channel is in use, with the signal's reason,
   * or `ClosedError`.
   */
  lookupPublicKey(addr: P2PKEAddr<A>, opts?: CallOptions): Promise<PublicKey> {
    try {
      checkCall(this.#closer, opts)
      checkAddr(addr, 'addr')
    } catch (err) {
      return Promise.reject(err)
    }
    const known = this.#knownKey(addr)
    if (known !== undefined) return Promise.resolve(copyKey(known))
    return this.#lookupByHandshake(addr, opts)
  }

  /** Counters; see `P2PKESwarmStats`. */
  stats(): P2PKESwarmStats {
    const channels = this.#retired.plus(mapIter(this.#table.values(), (e) => e.channel.stats()))
    const { sendsWithheld, ...table } = this.#table.stats()
    const adm = this.#admission.stats()
    const c = this.#counts
    const d = this.#drops
    return {
      handshakes: {
        started: channels.get('handshakesInitiated') + c.responded,
        initiated: channels.get('handshakesInitiated'),
        responded: c.responded,
        completed: channels.get('handshakesCompleted'),
        failed: channels.get('handshakesFailed') + table.halfOpenExpired,
        retransmits: channels.get('handshakeRetransmits'),
        rekeys: channels.get('rekeys'),
      },
      verifications: adm.verifications,
      dropped: {
        malformed: d.malformed + adm.dropped.malformed,
        badCounter: d.badCounter,
        unknown: d.unknown,
        notAllowed: adm.dropped.notAllowed,
        rateLimited: adm.dropped.rateLimited,
        replay: adm.dropped.replay,
        authFailed: adm.dropped.authFailed,
        channelsFull: d.channelsFull,
      },
      channelDropped: channels.dropped,
      channels: table,
      sendsWithheld,
      sendErrors: channels.get('sendErrors'),
      packetsIn: c.packetsIn,
      bytesIn: c.bytesIn,
      packetsOut: c.packetsOut,
      bytesOut: c.bytesOut,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      waitingTells: this.#waitingTells,
      rememberedHellos: adm.rememberedHellos,
      errors: c.errors,
      rateLimiter: adm.rateLimiter,
      peerRateLimiter: adm.peerRateLimiter,
      inbox: this.#inbox.stats(),
      inner: hasStats(this.#inner) ? this.#inner.stats() : {},
    }
  }

  /**
   * Closes every channel (waiting tells and lookups reject with `ClosedError`), stops the sweep
   * timer and the receive loop, and closes the inner swarm. Idempotent.
   */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      this.#inbox.close(new ClosedError())
      this.#cancelSweep?.()
      this.#cancelSweep = undefined
      this.#table.closeAll()
      this.#admission.clear()
      try {
        await this.#inner.close()
      } finally {
        await this.#loop
      }
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  // -------------------------------------------------------------------------------------------
  // Receiving: inner swarm → admission → table → channel → inbox

  readonly #onPacket = (m: Message<A>): void => {
    if (this.#closer.closed) return
    try {
      this.#handlePacket(m)
    } catch (err) {
      // Network input never throws by design; a throw here is a bug, kept loud but not fatal.
      this.#counts.errors++
      this.#log('packet handling failed', { err, src: String(m.src) })
    }
  }

  #handlePacket(m: Message<A>): void {
    const payload = m.payload
    this.#counts.packetsIn++
    this.#counts.bytesIn += payload.length
    if (payload.length < HEADER_SIZE) return this.#drop('malformed')
    const counter =
      ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0
    if (counter === NONCE_INIT_HELLO) return this.#onInitHello(m)
    if (counter > 3 && counter < NONCE_POST_HANDSHAKE) return this.#drop('badCounter')
    const entries = this.#table.received(m.src.toString(), payload.length)
    if (entries === undefined) return this.#drop('unknown')
    if (entries.length === 1) {
      this.#feed(entries[0]!, m)
      return
    }
    // Several PeerIDs at one address: only the session holding the keys accepts the packet, and
    // a channel that does not hold them counts it as dropped and is otherwise unchanged.
    const order = [...entries].sort((a, b) => b.channel.lastReceived - a.channel.lastReceived)
    for (const e of order) {
      const before = channelDropTotal(e.channel.stats())
      if (this.#feed(e, m)) return
      if (e.closed || channelDropTotal(e.channel.stats()) === before) return
    }
  }

  #onInitHello(m: Message<A>): void {
    const srcText = m.src.toString()
    const now = this.#clock.now()
    const verdict = this.#admission.admit(m, now, (id) =>
      this.#table.get(`${id.toString()}@${srcText}`),
    )
    if (verdict.action !== 'create') {
      if (verdict.channel !== undefined) this.#table.credit(verdict.channel, m.payload.length)
      if (verdict.action === 'deliver') this.#feedInitHello(verdict.channel, m)
      return
    }
    const entry = this.#table.create(verdict.id, m.src, true, now)
    if (entry === undefined) return this.#drop('channelsFull')
    this.#armSweep()
    this.#table.credit(entry, m.payload.length)
    this.#feedInitHello(entry, m)
    // A session that refused the InitHello (e.g. a low-order ephemeral key) leaves nothing to
    // wait for: free the slot at once.
    if (!entry.closed && !entry.established && entry.channel.sessions().next === undefined) {
      this.#table.close(entry, 'halfOpenExpired')
    }
  }

  /** Gives an InitHello to a channel, counting the responder handshakes it starts. */
  #feedInitHello(e: Entry<A>, m: Message<A>): void {
    const before = e.channel.sessions().next?.id
    this.#feed(e, m)
    const after = e.channel.sessions().next
    if (
      after !== undefined &&
      !after.initiator &&
      after.id !== undefined &&
      (before === undefined || !bytesEqual(before, after.id))
    ) {
      this.#counts.responded++
    }
  }

  /**
   * Gives a packet to a channel. Returns true when it carried application data (then delivered
   * to the inbox).
   */
  #feed(e: Entry<A>, m: Message<A>): boolean {
    const data = e.channel.deliver(m.payload)
    if (!e.established) this.#checkEstablished(e)
    if (data === undefined) return false
    this.#counts.messagesIn++
    this.#inbox.put({ src: e.addr, dst: this.#dstFor(m.dst), payload: data })
    return true
  }

  #drop(reason: SwarmDropReason): void {
    this.#drops[reason]++
  }

  #checkEstablished(e: Entry<A>): void {
    const key = e.channel.remoteKey()
    if (key === undefined) return
    this.#table.established(e, key)
    this.#srcKeys.set(e.addr, key)
  }

  #dstFor(inner: A): P2PKEAddr<A> {
    const text = inner.toString()
    let d = this.#dsts.get(text)
    if (d === undefined) {
      d = new P2PKEAddr(this.#localID, inner)
      if (this.#dsts.size < 64) this.#dsts.set(text, d)
    }
    return d
  }

  // -------------------------------------------------------------------------------------------
  // Channels: made by the table through these, sending through the inner swarm

  #channelOptions(
    allowKey: (key: PublicKey) => boolean,
    send: (bytes: Uint8Array) => void | Promise<void>,
  ): ChannelOptions {
    return {
      ...this.#channelTuning,
      privateKey: this.#privateKey,
      registry: this.#registry,
      backend: this.#backend,
      clock: this.#clock,
      wallClock: this.#wallClock,
      allowKey,
      send,
    }
  }

  /** The channel for a local tell or lookup to `dst`; `BusyError` when there is no room. */
  #outboundEntry(dst: P2PKEAddr<A>): Entry<A> {
    const e = this.#table.outbound(dst, this.#clock.now())
    if (e === undefined) throw new BusyError('p2pkeswarm: every channel is in use')
    this.#armSweep()
    return e
  }

  /** The channel's way out: the anti-amplification budget, then the inner swarm. */
  #sendPacket(e: Entry<A>, bytes: Uint8Array): Promise<void> | undefined {
    if (e.closed || this.#closer.closed) return undefined
    if (!e.established) this.#checkEstablished(e)
    if (!this.#table.spend(e, bytes.length)) return undefined
    this.#counts.packetsOut++
    this.#counts.bytesOut += bytes.length
    const p = this.#inner.tell(e.addr.inner, bytes)
    this.#capture?.push(p)
    return p
  }

  /** Keeps one sweep timer on the clock while any channel exists. */
  #armSweep(): void {
    if (this.#cancelSweep !== undefined || this.#closer.closed || this.#table.size === 0) return
    this.#cancelSweep = this.#clock.setTimeout(() => {
      this.#cancelSweep = undefined
      const now = this.#clock.now()
      this.#table.sweep(now)
      this.#admission.gc(now)
      this.#armSweep()
    }, this.#table.sweepEveryMs)
  }

  // -------------------------------------------------------------------------------------------
  // Waiting for handshakes

  /**
   * Runs `op` (a channel call that waits for a session) with a signal that aborts on the
   * caller's signal or after `handshakeWaitMs` (`TimeoutError`). The channel is kept (not
   * expired) while anyone waits on it.
   */
  async #waitOn<T>(
    entry: Entry<A>,
    dst: P2PKEAddr<A>,
    opts: CallOptions | undefined,
    op: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { controller, dispose } = linkedAbort(opts?.signal)
    const ms = this.#limits.handshakeWait
    const cancel = this.#clock.setTimeout(
      () =>
        controller.abort(new TimeoutError(`p2pkeswarm: no session with ${dst} within ${ms} ms`)),
      ms,
    )
    entry.waiting++
    try {
      return await op(controller.signal)
    } finally {
      entry.waiting--
      entry.lastUsed = this.#clock.now()
      cancel()
      dispose()
    }
  }

  #knownKey(addr: P2PKEAddr<A>): PublicKey | undefined {
    const fromMsg = this.#srcKeys.get(addr)
    if (fromMsg !== undefined) return fromMsg
    if (addr.peerID.equals(this.#localID)) return this.#publicKey
    const e = this.#table.get(addr.toString())
    if (e?.remoteKey !== undefined) return e.remoteKey
    // The key behind a PeerID is the same at every address.
    for (const other of this.#table.values()) {
      if (other.remoteKey !== undefined && other.id.equals(addr.peerID)) return other.remoteKey
    }
    return undefined
  }

  async #lookupByHandshake(addr: P2PKEAddr<A>, opts?: CallOptions): Promise<PublicKey> {
    if (this.#allow.excludes(addr.peerID)) throw new PublicKeyNotFoundError(addr.toString())
    const entry = this.#outboundEntry(addr)
    entry.lastUsed = this.#clock.now()
    try {
      await this.#waitOn(entry, addr, opts, (signal) => entry.channel.waitReady({ signal }))
    } catch (err) {
      if (opts?.signal?.aborted && err === opts.signal.reason) throw err
      if (this.#closer.closed) throw new ClosedError()
      throw new PublicKeyNotFoundError(addr.toString())
    }
    this.#checkEstablished(entry)
    const key = entry.remoteKey ?? entry.channel.remoteKey()
    if (key === undefined) throw new PublicKeyNotFoundError(addr.toString())
    return copyKey(key)
  }

  #isSelf(dst: P2PKEAddr<A>): boolean {
    if (!dst.peerID.equals(this.#localID)) return false
    const text = dst.inner.toString()
    return this.#inner.localAddrs().some((a) => a.toString() === text)
  }
}

/**
 * A `P2PKESwarm` over `inner` (which it then owns). See `P2PKESwarmOptions` and the class
 * comment. It is a SecureSwarm; wrap it in an askswarm for asks
 * (`newAskSwarm(newP2PKESwarm(udp, opts))` is a SecureAskSwarm).
 */
export function newP2PKESwarm<A extends Addr>(
  inner: Swarm<A>,
  opts: P2PKESwarmOptions<A>,
): P2PKESwarm<A> {
  return new P2PKESwarm(inner, opts)
}

function checkAddr(a: unknown, name: string): void {
  if (!(a instanceof P2PKEAddr)) {
    throw new BadAddrError(`${name} must be a p2pkeswarm address (<PeerID>@<addr>)`)
  }
}

function copyKey(k: PublicKey): PublicKey {
  return { algorithm: k.algorithm, data: k.data.slice() }
}

function* mapIter<T, U>(it: Iterable<T>, fn: (t: T) => U): Iterable<U> {
  for (const t of it) yield fn(t)
}
