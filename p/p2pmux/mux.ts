/**
 * p2pmux: many logical swarms (channels) over one swarm. See `wire.ts` for the headers.
 */
import { setMaxListeners } from 'node:events'
import {
  type Addr,
  type AddrOf,
  type AskHandler,
  type Asker,
  BadMessageError,
  type CallOptions,
  CloseOnce,
  ClosedError,
  type HasStats,
  type Inbox,
  type IncomingAsk,
  InUseError,
  MTUExceededError,
  type Message,
  type Payload,
  ResponseTooLargeError,
  type Secure,
  type Stats,
  type Swarm,
  checkCall,
  hasStats,
  isAsker,
  isMTUExceededError,
  isSecure,
  linkedAbort,
  newAskInbox,
  newMessageInbox,
  payloadSize,
  prepend,
  pumpMessages,
  receiveOne,
  type AskRoute,
  forwardAsks,
  serveOne,
} from '../../core/index.js'
import {
  type ChannelCodec,
  type Decoded,
  stringCodec,
  uint16Codec,
  uint32Codec,
  uint64Codec,
  varintCodec,
} from './wire.js'

/** Options of a mux. The inbox limits apply to each channel. */
export interface MuxOptions {
  /** Most received tells waiting in one channel (default 1024); past it they are dropped. */
  inboxItems?: number
  /** Most bytes of received tells waiting in one channel (default 16 MiB). */
  inboxBytes?: number
  /** Most asks waiting for one channel's `serveAsk` (default 64); past it an ask fails as busy. */
  askInboxItems?: number
  /** Most asks taken from the inner swarm and not yet answered, all channels together (default 256). */
  maxAsksInFlight?: number
  /**
   * Largest ask, request or response, the inner swarm carries (bytes). A channel's asks carry
   * this minus its header, both ways (`channel.maxAskSize(dst)`). Default: the inner swarm's
   * own `maxAskSize` when it has one (askswarm: a number; a mux channel: a method), else its
   * `mtu(dst)` (memswarm holds asks to its mtu). Set it for an inner swarm whose asks have
   * another limit that it does not expose.
   */
  innerMaxAskSize?: number
  /** Called when the inner swarm's receive fails unexpectedly (default: silent). */
  log?: (event: string, detail: Record<string, unknown>) => void
}

/** Counters of a mux. Each channel counts its own inbox drops in `channel.stats()`. */
export interface MuxStats extends Stats {
  /** Channels open now. */
  readonly channels: number
  /** Tells handed to a channel's inbox. */
  readonly tellsIn: number
  /** Tells dropped: the header did not parse. */
  readonly tellsMalformed: number
  /** Tells dropped: no channel is open with that id. */
  readonly tellsUnknownChannel: number
  /** Asks handed to a channel. */
  readonly asksIn: number
  /** Asks refused (error response): the header did not parse. */
  readonly asksMalformed: number
  /** Asks refused (error response): no channel is open with that id. */
  readonly asksUnknownChannel: number
  /** The inner swarm's counters. */
  readonly inner: Stats
}

/** Counters of one channel. */
export interface ChannelStats extends Stats {
  readonly inbox: Stats
  readonly askInbox: Stats
}

/**
 * The channel type over an inner swarm of type `S`: a Swarm, plus `Asker` exactly when `S`
 * asks and `Secure` exactly when `S` is secure.
 */
export type ChannelOf<S extends Swarm<Addr>, Id> =
  S extends Asker<Addr>
    ? S extends Secure<Addr, infer Pub>
      ? SecureAskMuxChannel<AddrOf<S>, Id, Pub>
      : AskMuxChannel<AddrOf<S>, Id>
    : S extends Secure<Addr, infer Pub>
      ? SecureMuxChannel<AddrOf<S>, Id, Pub>
      : MuxChannel<AddrOf<S>, Id>

/**
 * A multiplexer over `inner`: `open(id)` gives a channel, a swarm of its own whose messages
 * carry the channel's header on the inner swarm.
 *
 * - One loop receives from the inner swarm and hands each tell to its channel's own bounded
 *   inbox without waiting, so a slow channel never stalls the others (a full channel drops and
 *   counts, in that channel's stats). A tell for a channel nobody opened, or whose header does
 *   not parse, is dropped and counted here.
 * - When the inner swarm asks, asks are multiplexed too: the request carries the header, the
 *   response is raw (as go-p2p). Incoming asks go to the channel's bounded ask inbox; an ask
 *   for an unknown channel or with a bad header gets an error response. At most
 *   `maxAsksInFlight` asks are taken from the inner swarm at once.
 * - Owns the inner swarm: `close()` closes the inner swarm and then every channel. If the
 *   inner swarm closes underneath (or its receive fails), the mux closes itself and every
 *   channel.
 */
export class Mux<S extends Swarm<Addr>, Id> implements HasStats {
  readonly #inner: Swarm<AddrOf<S>>
  readonly #codec: ChannelCodec<Id>
  readonly #opts: MuxOptions
  readonly #closer = new CloseOnce()
  readonly #channels = new Map<Id, MuxChannel<AddrOf<S>, Id>>()
  /** The open channels by header bytes: the receive path's lookup (see `HeaderTable`). */
  readonly #byHeader = new HeaderTable<MuxChannel<AddrOf<S>, Id>>()
  /** Stops forwarding asks; aborted once the inner swarm is closed (see `close`). */
  readonly #forwarding = new AbortController()
  /** Where the body of the payload `#find` looked at last starts. */
  #bodyOffset = 0
  readonly #asks: boolean
  readonly #secure: boolean
  readonly #loops: Promise<void>[] = []
  readonly #log: (event: string, detail: Record<string, unknown>) => void
  readonly #counts = {
    tellsIn: 0,
    tellsMalformed: 0,
    tellsUnknownChannel: 0,
    asksIn: 0,
    asksMalformed: 0,
    asksUnknownChannel: 0,
  }

  /** Takes ownership of `inner`. Throws `RangeError` on a bad option. */
  constructor(inner: S, codec: ChannelCodec<Id>, opts: MuxOptions = {}) {
    this.#inner = inner as unknown as Swarm<AddrOf<S>>
    this.#codec = codec
    this.#opts = { ...opts }
    this.#log = opts.log ?? (() => {})
    this.#asks = isAsker(inner)
    this.#secure = isSecure(inner)
    // Fail on bad inbox limits now rather than at the first open().
    newMessageInbox({ maxItems: opts.inboxItems, maxBytes: opts.inboxBytes })
    newAskInbox({ maxItems: opts.askInboxItems ?? 64 })
    const innerMax = opts.innerMaxAskSize
    if (innerMax !== undefined && (!Number.isSafeInteger(innerMax) || innerMax < 0)) {
      throw new RangeError(`innerMaxAskSize must be a non-negative integer, got ${innerMax}`)
    }
    this.#loops.push(
      pumpMessages(this.#inner, this.#demuxTell).then((err) => {
        // Nothing more will arrive: the mux and its channels close too (pending calls reject
        // with ClosedError). Not awaited: close awaits this loop.
        if (err !== undefined) this.#log('inner receive failed', { err })
        this.close().catch((e: unknown) => this.#log('close failed', { err: e }))
      }),
    )
    if (this.#asks) {
      this.#loops.push(
        forwardAsks(inner as unknown as Asker<AddrOf<S>>, (req) => this.#routeAsk(req), {
          maxInFlight: opts.maxAsksInFlight ?? 256,
          signal: this.#forwarding.signal,
          log: this.#log,
        }),
      )
    }
  }

  /** The mux kind (`string`, `uint16`, `uint32`, `uint64`, `varint`). */
  get kind(): string {
    return this.#codec.kind
  }

  /**
   * Opens channel `id`. Throws `InUseError` when it is open already (closing a channel frees
   * its id), `ClosedError` after `close()`, and `TypeError`/`RangeError` on an invalid id or
   * one whose header leaves no room for data.
   */
  open(id: Id): ChannelOf<S, Id> {
    this.#closer.throwIfClosed()
    this.#codec.check(id)
    if (this.#channels.has(id)) {
      throw new InUseError(`p2pmux: channel ${this.#codec.format(id)} is already open`)
    }
    const header = this.#codec.encode(id)
    if (header.length >= this.#inner.maxIncomingSize()) {
      throw new RangeError(
        `channel ${this.#codec.format(id)}: a ${header.length}-byte header leaves no room in the inner swarm`,
      )
    }
    const core: ChannelCore<AddrOf<S>, Id> = {
      inner: this.#inner,
      id,
      header,
      opts: this.#opts,
      release: (ch) => {
        if (this.#channels.get(id) === ch) {
          this.#channels.delete(id)
          this.#byHeader.delete(header, ch)
        }
      },
    }
    const ch = this.#asks
      ? this.#secure
        ? new SecureAskMuxChannel(core)
        : new AskMuxChannel(core)
      : this.#secure
        ? new SecureMuxChannel(core)
        : new MuxChannel(core)
    this.#channels.set(id, ch)
    this.#byHeader.add(header, ch)
    return ch as unknown as ChannelOf<S, Id>
  }

  /** The ids of the open channels. */
  openChannels(): Id[] {
    return [...this.#channels.keys()]
  }

  /** Counters; see `MuxStats`. */
  stats(): MuxStats {
    return {
      channels: this.#channels.size,
      ...this.#counts,
      inner: hasStats(this.#inner) ? this.#inner.stats() : {},
    }
  }

  /**
   * Closes the inner swarm, then every channel, and stops the loops. Idempotent.
   *
   * The inner swarm closes first, while the channels still hold the asks it forwarded: it then
   * answers those as its own close dictates (unreachable), instead of relaying a "closed"
   * handler failure (`AskError`) that an at-most-once inner swarm (askswarm) would even cache.
   */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      try {
        await this.#inner.close()
      } finally {
        this.#forwarding.abort(new ClosedError())
        const channels = [...this.#channels.values()]
        this.#channels.clear()
        this.#byHeader.clear()
        await Promise.all(channels.map((c) => c.close()))
        await Promise.all(this.#loops)
      }
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** The receive loop's callback: hands a tell to its channel, or counts the drop. */
  readonly #demuxTell = (m: Message<AddrOf<S>>): void => {
    const ch = this.#find(m.payload)
    if (ch === undefined) {
      this.#countMiss(m.payload, 'tells')
      return
    }
    this.#counts.tellsIn++
    ch.deliverTell({ src: m.src, dst: m.dst, payload: m.payload.subarray(this.#bodyOffset) })
  }

  /**
   * The open channel a payload's header names; sets `#bodyOffset` to where its body starts.
   * With a codec that has `headerLength`, the header bytes are compared with the open
   * channels' headers: no id is decoded (no UTF-8 decoding of string names) and nothing is
   * allocated.
   */
  #find(buf: Uint8Array): MuxChannel<AddrOf<S>, Id> | undefined {
    const codec = this.#codec
    if (codec.headerLength !== undefined) {
      const n = codec.headerLength(buf)
      this.#bodyOffset = n
      return n > 0 ? this.#byHeader.find(buf, n) : undefined
    }
    const d = codec.decode(buf)
    if (!d.ok) return undefined
    this.#bodyOffset = d.bodyOffset
    return this.#channels.get(d.id)
  }

  /** Counts a payload that names no open channel, as malformed or unknown; returns the decoding. */
  #countMiss(buf: Uint8Array, kind: 'tells' | 'asks'): Decoded<Id> {
    const d = this.#codec.decode(buf)
    const malformed = !d.ok && d.reason === 'malformed'
    if (kind === 'tells') {
      if (malformed) this.#counts.tellsMalformed++
      else this.#counts.tellsUnknownChannel++
    } else if (malformed) this.#counts.asksMalformed++
    else this.#counts.asksUnknownChannel++
    return d
  }

  /** Picks the channel of an incoming ask; throws (an error response) when there is none. */
  #routeAsk(req: Message<AddrOf<S>>): AskRoute<AddrOf<S>> {
    const ch = this.#find(req.payload)
    const inbox = ch?.askInbox
    if (ch === undefined || inbox === undefined) {
      const d = this.#countMiss(req.payload, 'asks')
      if (!d.ok && d.reason === 'malformed') {
        throw new BadMessageError(`p2pmux: malformed ${this.#codec.kind} channel header`)
      }
      throw new BadMessageError(
        `p2pmux: no channel ${d.ok ? this.#codec.format(d.id) : '(unrepresentable id)'}`,
      )
    }
    this.#counts.asksIn++
    return {
      inbox,
      req: { src: req.src, dst: req.dst, payload: req.payload.subarray(this.#bodyOffset) },
    }
  }
}

/**
 * Channels by the bytes of their header. A lookup hashes the header (FNV-1a) and compares
 * bytes with the few channels in its bucket: no string is built and nothing is allocated.
 */
class HeaderTable<C> {
  readonly #buckets = new Map<number, { header: Uint8Array; value: C }[]>()

  add(header: Uint8Array, value: C): void {
    const h = hashBytes(header, header.length)
    const bucket = this.#buckets.get(h)
    if (bucket === undefined) this.#buckets.set(h, [{ header, value }])
    else bucket.push({ header, value })
  }

  delete(header: Uint8Array, value: C): void {
    const h = hashBytes(header, header.length)
    const bucket = this.#buckets.get(h)
    if (bucket === undefined) return
    const i = bucket.findIndex((e) => e.value === value)
    if (i >= 0) bucket.splice(i, 1)
    if (bucket.length === 0) this.#buckets.delete(h)
  }

  /** The value whose header is exactly `buf[0, n)`. */
  find(buf: Uint8Array, n: number): C | undefined {
    const bucket = this.#buckets.get(hashBytes(buf, n))
    if (bucket === undefined) return undefined
    for (const e of bucket) if (prefixEquals(e.header, buf, n)) return e.value
    return undefined
  }

  clear(): void {
    this.#buckets.clear()
  }
}

/** FNV-1a (32 bits) of `buf[0, n)`. */
function hashBytes(buf: Uint8Array, n: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < n; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
  return h >>> 0
}

/** True when `header` is exactly `buf[0, n)`. */
function prefixEquals(header: Uint8Array, buf: Uint8Array, n: number): boolean {
  if (header.length !== n) return false
  for (let i = 0; i < n; i++) if (header[i] !== buf[i]) return false
  return true
}

/** What a channel needs from its mux. */
interface ChannelCore<A extends Addr, Id> {
  readonly inner: Swarm<A>
  readonly id: Id
  readonly header: Uint8Array
  readonly opts: MuxOptions
  release(ch: MuxChannel<A, Id>): void
}

/**
 * One channel of a mux: a Swarm with the inner swarm's addresses. `mtu` and
 * `maxIncomingSize` are the inner ones minus this channel's header. `close()` closes only the
 * channel (pending calls, asks included, reject with `ClosedError`) and frees its id; the inner
 * swarm stays open.
 */
export class MuxChannel<A extends Addr, Id> implements Swarm<A>, HasStats {
  /** The channel id. */
  readonly id: Id
  /** @internal */
  protected readonly core: ChannelCore<A, Id>
  /** @internal */
  protected readonly closer = new CloseOnce()
  readonly #inbox: Inbox<Message<A>>
  /** @internal The ask inbox (only on channels that ask). */
  readonly askInbox: Inbox<IncomingAsk<A>> | undefined

  /** @internal Use `mux.open(id)`. */
  constructor(core: ChannelCore<A, Id>) {
    this.core = core
    this.id = core.id
    this.#inbox = newMessageInbox({
      maxItems: core.opts.inboxItems,
      maxBytes: core.opts.inboxBytes,
    })
    this.askInbox = isAsker(this)
      ? newAskInbox({ maxItems: core.opts.askInboxItems ?? 64 })
      : undefined
    // Each pending ask or lookup listens on the close signal until it settles.
    setMaxListeners(0, this.closer.signal)
  }

  /** Tells `data` on this channel. Rejects `MTUExceededError` past `mtu(dst)`. */
  tell(dst: A, data: Payload, opts?: CallOptions): Promise<void> {
    // Not async: the inner tell's promise is returned as it is (one promise less per tell).
    try {
      checkCall(this.closer, opts)
      const size = payloadSize(data)
      const mtu = this.mtu(dst)
      if (size > mtu) throw new MTUExceededError(size, mtu)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.core.inner.tell(dst, prepend(this.core.header, data), opts)
  }

  /** Takes one tell received on this channel. */
  receive(fn: (msg: Message<A>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return receiveOne(this.#inbox, fn, opts)
  }

  /** The inner swarm's addresses. */
  localAddrs(): A[] {
    return this.core.inner.localAddrs()
  }

  /** The inner mtu minus this channel's header. */
  mtu(dst: A): number {
    return Math.max(0, this.core.inner.mtu(dst) - this.core.header.length)
  }

  /** The inner `maxIncomingSize` minus this channel's header. */
  maxIncomingSize(): number {
    return this.core.inner.maxIncomingSize() - this.core.header.length
  }

  /** The inner swarm's parser. */
  parseAddr(text: string): A {
    return this.core.inner.parseAddr(text)
  }

  /** This channel's inbox counters. */
  stats(): ChannelStats {
    return { inbox: this.#inbox.stats(), askInbox: this.askInbox?.stats() ?? {} }
  }

  /** Closes this channel and frees its id; the inner swarm stays open. Idempotent. */
  close(): Promise<void> {
    // Aborting the close signal (first thing `CloseOnce` does) ends this channel's pending
    // asks and lookups; the inboxes end pending receives and serveAsks.
    return this.closer.close(async () => {
      const err = new ClosedError()
      this.#inbox.close(err)
      this.askInbox?.close(err)
      this.core.release(this)
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** @internal Called by the mux's receive loop; never blocks. */
  deliverTell(msg: Message<A>): void {
    this.#inbox.put(msg)
  }

  /** @internal The maxAskSize of the asking variants. */
  protected askLimit(dst: A): number {
    return Math.max(0, innerMaxAskSize(this.core, dst) - this.core.header.length)
  }

  /** @internal The ask of the asking variants. */
  protected async askInner(dst: A, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    checkCall(this.closer, opts)
    const size = payloadSize(req)
    const limit = this.askLimit(dst)
    if (size > limit)
      throw new MTUExceededError(size, limit, "larger than the channel's maxAskSize")
    const inner = this.core.inner as Swarm<A> & Asker<A>
    // The inner ask stops when the caller aborts or this channel closes. One listener on each
    // signal, removed when the ask settles.
    const { controller, dispose } = linkedAbort(this.closer.signal, opts?.signal)
    let res: Uint8Array
    try {
      res = await inner.ask(dst, prepend(this.core.header, req), {
        ...opts,
        signal: controller.signal,
      })
    } catch (err) {
      // Closing this channel aborts the inner ask: that is a ClosedError, whatever the inner
      // swarm made of the abort.
      if (this.closer.closed && !opts?.signal?.aborted) throw new ClosedError()
      // Report sizes as this channel sees them (without the header).
      if (isMTUExceededError(err)) {
        throw new MTUExceededError(size, Math.max(0, err.mtu - this.core.header.length))
      }
      throw err
    } finally {
      dispose()
    }
    // Responses carry no header, so the inner swarm lets them be a header longer than requests;
    // the channel holds both to one limit (what swarmtest checks of any Asker).
    if (res.length > limit) throw new ResponseTooLargeError(res.length, limit)
    return res
  }

  /** @internal The serveAsk of the asking variants. */
  protected serveChannel(handler: AskHandler<A>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    // Responses go back raw; their size is the inner swarm's and the asker's to enforce.
    return serveOne(this.askInbox!, handler, opts)
  }

  /** @internal The lookupPublicKey of the secure variants. */
  protected async lookupInner<Pub>(addr: A, opts?: CallOptions): Promise<Pub> {
    checkCall(this.closer, opts)
    const inner = this.core.inner as Swarm<A> & Secure<A, Pub>
    const { controller, dispose } = linkedAbort(this.closer.signal, opts?.signal)
    try {
      return await inner.lookupPublicKey(addr, { ...opts, signal: controller.signal })
    } catch (err) {
      if (this.closer.closed && !opts?.signal?.aborted) throw new ClosedError()
      throw err
    } finally {
      dispose()
    }
  }
}

/**
 * The largest ask the inner swarm carries to `dst`: the option, else the inner swarm's own
 * `maxAskSize` (a number, as askswarm's, or a method, as a mux channel's), else its mtu.
 */
function innerMaxAskSize<A extends Addr>(core: ChannelCore<A, unknown>, dst: A): number {
  if (core.opts.innerMaxAskSize !== undefined) return core.opts.innerMaxAskSize
  const own = (core.inner as { maxAskSize?: unknown }).maxAskSize
  if (typeof own === 'number') return own
  if (typeof own === 'function') return (own as (dst: A) => number).call(core.inner, dst)
  return core.inner.mtu(dst)
}

/** A channel over an inner swarm that asks. */
export class AskMuxChannel<A extends Addr, Id> extends MuxChannel<A, Id> implements Asker<A> {
  /**
   * Asks on this channel: the request carries the header, the response is raw. Rejects
   * `MTUExceededError` for a request over `maxAskSize(dst)`, `ResponseTooLargeError` for a
   * response over it, `ClosedError` when this channel (or the mux) closes meanwhile, and as
   * the inner swarm's ask otherwise.
   */
  ask(dst: A, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    return this.askInner(dst, req, opts)
  }
  /**
   * Largest request and response of an ask to `dst` on this channel: the inner swarm's ask
   * limit (see `MuxOptions.innerMaxAskSize`) minus this channel's header. It may exceed `mtu`.
   */
  maxAskSize(dst: A): number {
    return this.askLimit(dst)
  }
  /** Serves one ask that arrived on this channel. */
  serveAsk(handler: AskHandler<A>, opts?: CallOptions): Promise<void> {
    return this.serveChannel(handler, opts)
  }
}

/** A channel over a secure inner swarm. */
export class SecureMuxChannel<A extends Addr, Id, Pub>
  extends MuxChannel<A, Id>
  implements Secure<A, Pub>
{
  /** The inner swarm's key. */
  publicKey(): Pub {
    return (this.core.inner as Swarm<A> & Secure<A, Pub>).publicKey()
  }
  /** The inner swarm's answer. */
  lookupPublicKey(addr: A, opts?: CallOptions): Promise<Pub> {
    return this.lookupInner<Pub>(addr, opts)
  }
}

/** A channel over a secure inner swarm that asks. */
export class SecureAskMuxChannel<A extends Addr, Id, Pub>
  extends AskMuxChannel<A, Id>
  implements Secure<A, Pub>
{
  /** The inner swarm's key. */
  publicKey(): Pub {
    return (this.core.inner as Swarm<A> & Secure<A, Pub>).publicKey()
  }
  /** The inner swarm's answer. */
  lookupPublicKey(addr: A, opts?: CallOptions): Promise<Pub> {
    return this.lookupInner<Pub>(addr, opts)
  }
}

/** A mux over `inner` with any channel codec. */
export function newMux<S extends Swarm<Addr>, Id>(
  inner: S,
  codec: ChannelCodec<Id>,
  opts?: MuxOptions,
): Mux<S, Id> {
  return new Mux(inner, codec, opts)
}

/** A mux with string channel names (`uvarint(len) name`). */
export function newStringMux<S extends Swarm<Addr>>(inner: S, opts?: MuxOptions): Mux<S, string> {
  return new Mux(inner, stringCodec, opts)
}

/** A mux with uint16 channel ids (2 bytes big-endian). */
export function newUint16Mux<S extends Swarm<Addr>>(inner: S, opts?: MuxOptions): Mux<S, number> {
  return new Mux(inner, uint16Codec, opts)
}

/** A mux with uint32 channel ids (4 bytes big-endian). */
export function newUint32Mux<S extends Swarm<Addr>>(inner: S, opts?: MuxOptions): Mux<S, number> {
  return new Mux(inner, uint32Codec, opts)
}

/** A mux with uint64 channel ids as bigint (8 bytes big-endian). */
export function newUint64Mux<S extends Swarm<Addr>>(inner: S, opts?: MuxOptions): Mux<S, bigint> {
  return new Mux(inner, uint64Codec, opts)
}

/** A mux with varint channel ids (`uvarint(id)`, ids below 2^53). */
export function newVarintMux<S extends Swarm<Addr>>(inner: S, opts?: MuxOptions): Mux<S, number> {
  return new Mux(inner, varintCodec, opts)
}
