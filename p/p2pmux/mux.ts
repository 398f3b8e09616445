/**
 * p2pmux: many logical swarms (channels) over one swarm. See `wire.ts` for the headers.
 */
import {
  type Addr,
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
  isClosedError,
  isMTUExceededError,
  isSecure,
  newAskInbox,
  newMessageInbox,
  payloadSize,
  prepend,
  receiveOne,
  type AskRoute,
  forwardAsks,
  serveOne,
} from '../../core/index.js'
import {
  type ChannelCodec,
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

/** The address type of a swarm type. */
export type AddrOf<S> = S extends Swarm<infer A> ? A : never

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
 * - Owns the inner swarm: `close()` closes every channel and the inner swarm. If the inner
 *   swarm closes underneath, the mux closes itself and every channel.
 */
export class Mux<S extends Swarm<Addr>, Id> implements HasStats {
  readonly #inner: Swarm<AddrOf<S>>
  readonly #codec: ChannelCodec<Id>
  readonly #opts: MuxOptions
  readonly #closer = new CloseOnce()
  readonly #channels = new Map<Id, MuxChannel<AddrOf<S>, Id>>()
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
    this.#loops.push(this.#demuxTells())
    if (this.#asks) {
      this.#loops.push(
        forwardAsks(inner as unknown as Asker<AddrOf<S>>, (req) => this.#routeAsk(req), {
          maxInFlight: opts.maxAsksInFlight ?? 256,
          signal: this.#closer.signal,
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
        if (this.#channels.get(id) === ch) this.#channels.delete(id)
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

  /** Closes every channel and the inner swarm, and stops the loops. Idempotent. */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      const channels = [...this.#channels.values()]
      this.#channels.clear()
      await Promise.all(channels.map((c) => c.close()))
      try {
        await this.#inner.close()
      } finally {
        await Promise.all(this.#loops)
      }
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #demuxTells(): Promise<void> {
    const signal = this.#closer.signal
    const deliver = (m: Message<AddrOf<S>>) => {
      const d = this.#codec.decode(m.payload)
      if (!d.ok) {
        if (d.reason === 'malformed') this.#counts.tellsMalformed++
        else this.#counts.tellsUnknownChannel++
        return
      }
      const ch = this.#channels.get(d.id)
      if (ch === undefined) {
        this.#counts.tellsUnknownChannel++
        return
      }
      this.#counts.tellsIn++
      ch.deliverTell({ src: m.src, dst: m.dst, payload: m.payload.subarray(d.bodyOffset) })
    }
    while (!signal.aborted) {
      try {
        await this.#inner.receive(deliver, { signal })
      } catch (err) {
        if (signal.aborted) return
        // The inner swarm closed underneath, or failed: nothing more will arrive, so the mux
        // and its channels close too (pending calls reject with ClosedError).
        if (!isClosedError(err)) this.#log('inner receive failed', { err })
        this.close().catch((e: unknown) => this.#log('close failed', { err: e }))
        return
      }
    }
  }

  /** Picks the channel of an incoming ask; throws (an error response) when there is none. */
  #routeAsk(req: Message<AddrOf<S>>): AskRoute<AddrOf<S>> {
    const d = this.#codec.decode(req.payload)
    if (!d.ok && d.reason === 'malformed') {
      this.#counts.asksMalformed++
      throw new BadMessageError(`p2pmux: malformed ${this.#codec.kind} channel header`)
    }
    const ch = d.ok ? this.#channels.get(d.id) : undefined
    if (!d.ok || ch === undefined || ch.askInbox === undefined) {
      this.#counts.asksUnknownChannel++
      throw new BadMessageError(
        `p2pmux: no channel ${d.ok ? this.#codec.format(d.id) : '(unrepresentable id)'}`,
      )
    }
    this.#counts.asksIn++
    return {
      inbox: ch.askInbox,
      req: { src: req.src, dst: req.dst, payload: req.payload.subarray(d.bodyOffset) },
    }
  }
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
 * channel (pending calls reject with `ClosedError`) and frees its id; the inner swarm stays open.
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
  }

  /** Tells `data` on this channel. Rejects `MTUExceededError` past `mtu(dst)`. */
  async tell(dst: A, data: Payload, opts?: CallOptions): Promise<void> {
    checkCall(this.closer, opts)
    const size = payloadSize(data)
    const mtu = this.mtu(dst)
    if (size > mtu) throw new MTUExceededError(size, mtu)
    await this.core.inner.tell(dst, prepend(this.core.header, data), opts)
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

  /** @internal The ask of the asking variants. */
  protected async askInner(dst: A, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    checkCall(this.closer, opts)
    const inner = this.core.inner as Swarm<A> & Asker<A>
    try {
      return await inner.ask(dst, prepend(this.core.header, req), opts)
    } catch (err) {
      // Report sizes as this channel sees them (without the header).
      if (isMTUExceededError(err)) {
        throw new MTUExceededError(payloadSize(req), Math.max(0, err.mtu - this.core.header.length))
      }
      throw err
    }
  }

  /** @internal The serveAsk of the asking variants. */
  protected serveChannel(handler: AskHandler<A>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    // Responses carry no header, but a channel keeps one size limit for both directions
    // (its mtu), so that every channel of a mux behaves like a swarm of that mtu.
    const limited: AskHandler<A> = async (req, ctx) => {
      const res = await handler(req, ctx)
      const limit = this.mtu(req.src)
      const size = payloadSize(res)
      if (size > limit) throw new ResponseTooLargeError(size, limit)
      return res
    }
    return serveOne(this.askInbox!, limited, opts)
  }

  /** @internal The lookupPublicKey of the secure variants. */
  protected lookupInner<Pub>(addr: A, opts?: CallOptions): Promise<Pub> {
    try {
      checkCall(this.closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return (this.core.inner as Swarm<A> & Secure<A, Pub>).lookupPublicKey(addr, opts)
  }
}

/** A channel over an inner swarm that asks. */
export class AskMuxChannel<A extends Addr, Id> extends MuxChannel<A, Id> implements Asker<A> {
  /** Asks on this channel: the request carries the header, the response is raw. */
  ask(dst: A, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    return this.askInner(dst, req, opts)
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
