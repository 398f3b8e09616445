/**
 * multiswarm: one address space over several named swarms (`scheme://inner`).
 */
import { setMaxListeners } from 'node:events'
import { isDeepStrictEqual } from 'node:util'
import {
  type Addr,
  type AskHandler,
  type Asker,
  BadAddrError,
  type CallOptions,
  CloseOnce,
  ClosedError,
  type HasStats,
  type Inbox,
  type IncomingAsk,
  type Message,
  type Payload,
  type Secure,
  type Stats,
  type Swarm,
  checkCall,
  errorReason,
  hasStats,
  isAsker,
  isBadAddrError,
  isSecure,
  newAskInbox,
  newMessageInbox,
  pumpMessages,
  receiveOne,
  forwardAsks,
  serveOne,
} from '../../core/index.js'
import { type MultiAddr, isValidScheme, splitMultiAddr, trustedMultiAddr } from './addr.js'

/** Options of a multiswarm. */
export interface MultiSwarmOptions<Pub = unknown> {
  /** Most received tells waiting for `receive`, from all children together (default 1024). */
  inboxItems?: number
  /** Most bytes of received tells waiting (default 16 MiB). */
  inboxBytes?: number
  /** Most incoming asks waiting for `serveAsk` (default 256); past it an ask fails as busy. */
  askInboxItems?: number
  /**
   * Most asks taken from each child and not yet answered (default 64): a slow `serveAsk`
   * holds at most this many of a child's asks; the rest wait in the child (or fail as busy).
   */
  asksPerChild?: number
  /**
   * Equality of public keys, used to check that every secure child has the same key.
   * Default: `a.equals(b)` when `a` has an `equals` method (KeyObject, PeerID), else deep
   * strict equality (`node:util` `isDeepStrictEqual`; byte arrays compare by content).
   */
  keyEquals?: (a: Pub, b: Pub) => boolean
  /**
   * `false`: never expose `Secure`, even when every child is secure (then children with
   * different keys are allowed). Default: `Secure` when every child is.
   */
  secure?: boolean
  /** Called when a child's receive or serve loop fails unexpectedly (default: silent). */
  log?: (event: string, detail: Record<string, unknown>) => void
}

/** Counters of a multiswarm. */
export interface MultiSwarmStats extends Stats {
  /** Received tells waiting for `receive` (`droppedFull`: nobody received in time). */
  readonly inbox: Stats
  /** Incoming asks waiting for `serveAsk` (present when the multiswarm asks). */
  readonly askInbox: Stats
  /**
   * Children closed underneath (or whose receive failed): nothing more is received from them.
   * When every child has, the multiswarm closes itself.
   */
  readonly childrenClosed: number
  /** Each child's own counters, by scheme. */
  readonly children: Stats
}

/** The children of a multiswarm, by scheme. */
export type Children = Readonly<Record<string, Swarm<Addr>>>

/**
 * A swarm over several named swarms. Addresses are `MultiAddr`s (`scheme://inner`).
 *
 * - `tell`, `mtu` and (when asking) `ask` go to the child named by the scheme; an unknown
 *   scheme throws/rejects `BadAddrError` (`ERR_BAD_ADDR`).
 * - `receive` takes from one bounded inbox fed by one loop per child; the loops stop on
 *   `close()`. A child closed underneath stops only its own loop and is counted
 *   (`stats().childrenClosed`); the others keep running, and calls routed to that child reject
 *   as the child does (`ClosedError`). Once every child is gone, the multiswarm closes itself.
 * - `localAddrs()` lists every child's addresses, children in the order given.
 * - `maxIncomingSize()` is the largest of the children's.
 * - Owns every child: `close()` closes them all.
 *
 * This class is the Swarm part; `newMultiSwarm` adds `Asker` exactly when every child asks
 * and `Secure` exactly when every child is secure with one shared key.
 */
export class MultiSwarm implements Swarm<MultiAddr>, HasStats {
  readonly #children: ReadonlyMap<string, Swarm<Addr>>
  readonly #closer = new CloseOnce()
  readonly #inbox: Inbox<Message<MultiAddr>>
  readonly #asks: Inbox<IncomingAsk<MultiAddr>> | undefined
  readonly #loops: Promise<void>[] = []
  /** Stops forwarding asks; aborted once the children are closed (see `close`). */
  readonly #forwarding = new AbortController()
  readonly #log: (event: string, detail: Record<string, unknown>) => void
  #childrenClosed = 0

  /**
   * Takes ownership of `children`. Throws `TypeError` when there are none, a scheme is not
   * valid (see `SCHEME_PATTERN`) or a value is not a swarm.
   */
  constructor(children: Children, opts: MultiSwarmOptions = {}) {
    if (typeof children !== 'object' || children === null) {
      throw new TypeError('children must be an object of swarms by scheme')
    }
    const map = new Map<string, Swarm<Addr>>()
    for (const [scheme, child] of Object.entries(children)) {
      if (!isValidScheme(scheme)) {
        throw new TypeError(`children: invalid scheme ${JSON.stringify(scheme)}`)
      }
      if (!isSwarm(child)) throw new TypeError(`children.${scheme} is not a swarm`)
      map.set(scheme, child)
    }
    if (map.size === 0) throw new TypeError('children must name at least one swarm')
    this.#children = map
    this.#log = opts.log ?? (() => {})
    this.#inbox = newMessageInbox({ maxItems: opts.inboxItems, maxBytes: opts.inboxBytes })
    // Asks are served only by the variants that have `serveAsk` (`isAsker(this)`), so a plain
    // MultiSwarm never takes asks from its children that nobody would answer.
    if (isAsker(this)) {
      for (const [scheme, child] of map) {
        if (!isAsker(child)) throw new TypeError(`children.${scheme} does not ask`)
      }
      this.#asks = newAskInbox({ maxItems: opts.askInboxItems ?? 256 })
    }
    const perChild = opts.asksPerChild ?? 64
    if (!Number.isInteger(perChild) || perChild < 1) {
      throw new RangeError(`asksPerChild must be a positive integer, got ${perChild}`)
    }
    // One waiting serveAsk per child listens on the forwarding signal.
    setMaxListeners(0, this.#forwarding.signal)
    for (const [scheme, child] of map) {
      this.#loops.push(this.#pumpTells(scheme, child))
      const asks = this.#asks
      if (asks !== undefined) {
        const route = (req: Message<Addr>) => ({
          inbox: asks,
          req: {
            src: trustedMultiAddr(scheme, req.src),
            dst: trustedMultiAddr(scheme, req.dst),
            payload: req.payload,
          },
        })
        this.#loops.push(
          forwardAsks(child as Swarm<Addr> & Asker<Addr>, route, {
            maxInFlight: perChild,
            signal: this.#forwarding.signal,
            log: (event, detail) => this.#log(event, { scheme, ...detail }),
          }),
        )
      }
    }
  }

  /** The schemes, in the order given. */
  schemes(): string[] {
    return [...this.#children.keys()]
  }

  /** The child named `scheme`, or undefined. */
  child(scheme: string): Swarm<Addr> | undefined {
    return this.#children.get(scheme)
  }

  /** Tells through the child named by `dst.scheme`. */
  async tell(dst: MultiAddr, data: Payload, opts?: CallOptions): Promise<void> {
    checkCall(this.#closer, opts)
    await this.#route(dst).tell(dst.inner, data, opts)
  }

  /** Takes one tell received by any child; `src`/`dst` carry the child's scheme. */
  receive(
    fn: (msg: Message<MultiAddr>) => void | Promise<void>,
    opts?: CallOptions,
  ): Promise<void> {
    try {
      checkCall(this.#closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return receiveOne(this.#inbox, fn, opts)
  }

  /** Every child's addresses, wrapped in their scheme. */
  localAddrs(): MultiAddr[] {
    const out: MultiAddr[] = []
    for (const [scheme, child] of this.#children) {
      for (const a of child.localAddrs()) out.push(trustedMultiAddr(scheme, a))
    }
    return out
  }

  /** The mtu of the child named by `dst.scheme`. Throws `BadAddrError` for an unknown scheme. */
  mtu(dst: MultiAddr): number {
    return this.#route(dst).mtu(dst.inner)
  }

  /** The largest `maxIncomingSize()` of the children. */
  maxIncomingSize(): number {
    let max = 0
    for (const child of this.#children.values()) max = Math.max(max, child.maxIncomingSize())
    return max
  }

  /**
   * Parses `scheme://inner` with the named child's parser. Throws `BadAddrError` on a missing
   * `://`, an unknown scheme, or inner text the child rejects.
   */
  parseAddr(text: string): MultiAddr {
    const { scheme, rest } = splitMultiAddr(text)
    const child = this.#children.get(scheme)
    if (child === undefined) {
      throw new BadAddrError(`unknown multiswarm scheme ${JSON.stringify(scheme)}`)
    }
    try {
      return trustedMultiAddr(scheme, child.parseAddr(rest))
    } catch (err) {
      if (isBadAddrError(err)) throw err
      throw new BadAddrError(`bad ${scheme} address: ${errorReason(err)}`)
    }
  }

  /** Counters; see `MultiSwarmStats`. */
  stats(): MultiSwarmStats {
    const children: Record<string, Stats> = {}
    for (const [scheme, child] of this.#children) {
      children[scheme] = hasStats(child) ? child.stats() : {}
    }
    return {
      inbox: this.#inbox.stats(),
      askInbox: this.#asks?.stats() ?? {},
      childrenClosed: this.#childrenClosed,
      children,
    }
  }

  /**
   * Closes every child, stops every loop and rejects pending calls with `ClosedError`.
   * Resolves once all children are closed; rejects with the first child's close error, if any.
   *
   * The children close first, while this swarm still holds the asks they forwarded: a child
   * then answers those as its own close dictates (unreachable), instead of relaying a
   * "closed" handler failure (`AskError`) that an at-most-once child would even cache.
   */
  close(): Promise<void> {
    return this.#closer.close(async () => {
      const closed = await Promise.allSettled([...this.#children.values()].map((c) => c.close()))
      const err = new ClosedError()
      this.#forwarding.abort(err)
      this.#inbox.close(err)
      this.#asks?.close(err)
      await Promise.all(this.#loops)
      const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** @internal The ask of `AskMultiSwarm`. */
  protected askChild(dst: MultiAddr, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    checkCall(this.#closer, opts)
    const child = this.#route(dst)
    return (child as Swarm<Addr> & Asker<Addr>).ask(dst.inner, req, opts)
  }

  /** @internal The serveAsk of `AskMultiSwarm`. */
  protected serveFromChildren(handler: AskHandler<MultiAddr>, opts?: CallOptions): Promise<void> {
    try {
      checkCall(this.#closer, opts)
    } catch (err) {
      return Promise.reject(err)
    }
    return serveOne(this.#asks!, handler, opts)
  }

  /** @internal The lookupPublicKey of the secure variants. */
  protected lookupInChild<Pub>(addr: MultiAddr, opts?: CallOptions): Promise<Pub> {
    checkCall(this.#closer, opts)
    const child = this.#route(addr)
    return (child as Swarm<Addr> & Secure<Addr, Pub>).lookupPublicKey(addr.inner, opts)
  }

  #route(dst: MultiAddr): Swarm<Addr> {
    const scheme = (dst as Partial<MultiAddr>)?.scheme
    const child = typeof scheme === 'string' ? this.#children.get(scheme) : undefined
    if (child === undefined) {
      throw new BadAddrError(`no multiswarm child for address ${String(dst)}`)
    }
    return child
  }

  /**
   * Receives from one child until it closes. `dst` is nearly always one of the child's own
   * addresses, so its wrapper is kept for the next message.
   */
  async #pumpTells(scheme: string, child: Swarm<Addr>): Promise<void> {
    let innerDst: Addr | undefined
    let dst: MultiAddr | undefined
    const err = await pumpMessages(child, (m) => {
      if (m.dst !== innerDst) {
        innerDst = m.dst
        dst = trustedMultiAddr(scheme, m.dst)
      }
      this.#inbox.put({ src: trustedMultiAddr(scheme, m.src), dst: dst!, payload: m.payload })
    })
    if (this.#closer.closed) return
    // The child closed underneath (or failed): the others keep running; with none left,
    // nothing can arrive any more and the whole swarm closes (not awaited: close awaits this).
    if (err !== undefined) this.#log('child receive failed', { scheme, err })
    this.#childrenClosed++
    if (this.#childrenClosed === this.#children.size) {
      this.close().catch((e: unknown) => this.#log('close failed', { err: e }))
    }
  }
}

/** A multiswarm whose children all ask. */
export class AskMultiSwarm extends MultiSwarm implements Asker<MultiAddr> {
  /** Asks through the child named by `dst.scheme`; rejects `BadAddrError` for an unknown one. */
  ask(dst: MultiAddr, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    try {
      return this.askChild(dst, req, opts)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Serves one ask that arrived through any child. */
  serveAsk(handler: AskHandler<MultiAddr>, opts?: CallOptions): Promise<void> {
    return this.serveFromChildren(handler, opts)
  }
}

/** A multiswarm whose children are all secure with one key. */
export class SecureMultiSwarm<Pub> extends MultiSwarm implements Secure<MultiAddr, Pub> {
  readonly #key: Pub
  /**
   * As `MultiSwarm`'s constructor; also throws `TypeError` unless every child is secure and
   * all keys are equal under `opts.keyEquals`.
   */
  constructor(children: Children, opts?: MultiSwarmOptions<Pub>) {
    super(checkSharedKey(children, opts?.keyEquals), opts as MultiSwarmOptions)
    this.#key = (Object.values(children)[0] as unknown as Secure<Addr, Pub>).publicKey()
  }
  /** The key every child shares. */
  publicKey(): Pub {
    return this.#key
  }
  /** The named child's answer for the inner address. */
  lookupPublicKey(addr: MultiAddr, opts?: CallOptions): Promise<Pub> {
    try {
      return this.lookupInChild<Pub>(addr, opts)
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

/** A multiswarm whose children all ask and are all secure with one key. */
export class SecureAskMultiSwarm<Pub> extends AskMultiSwarm implements Secure<MultiAddr, Pub> {
  readonly #key: Pub
  /**
   * As `MultiSwarm`'s constructor; also throws `TypeError` unless every child is secure and
   * all keys are equal under `opts.keyEquals`.
   */
  constructor(children: Children, opts?: MultiSwarmOptions<Pub>) {
    super(checkSharedKey(children, opts?.keyEquals), opts as MultiSwarmOptions)
    this.#key = (Object.values(children)[0] as unknown as Secure<Addr, Pub>).publicKey()
  }
  /** The key every child shares. */
  publicKey(): Pub {
    return this.#key
  }
  /** The named child's answer for the inner address. */
  lookupPublicKey(addr: MultiAddr, opts?: CallOptions): Promise<Pub> {
    try {
      return this.lookupInChild<Pub>(addr, opts)
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

type Union<C extends Children> = C[keyof C]

/** The key type the children share, when all are secure (else `unknown`). */
export type PubOf<C extends Children> = [Union<C>] extends [Secure<Addr, infer Pub>] ? Pub : unknown

/** The multiswarm type over children `C` with options `O`: capabilities every child has. */
export type MultiSwarmOf<C extends Children, O = unknown> = [Union<C>] extends [Asker<Addr>]
  ? [Union<C>] extends [Secure<Addr, infer Pub>]
    ? O extends { secure: false }
      ? AskMultiSwarm
      : SecureAskMultiSwarm<Pub>
    : AskMultiSwarm
  : [Union<C>] extends [Secure<Addr, infer Pub>]
    ? O extends { secure: false }
      ? MultiSwarm
      : SecureMultiSwarm<Pub>
    : MultiSwarm

/**
 * A multiswarm over `children` (swarms by scheme), which it owns.
 *
 * - `Asker` exactly when every child asks (checked with `isAsker`).
 * - `Secure` exactly when every child is secure (`isSecure`) and `opts.secure !== false`.
 *   Then every child's `publicKey()` must be equal under `opts.keyEquals` (see
 *   `MultiSwarmOptions`), else this throws `TypeError`: one node has one identity.
 *
 * Throws `TypeError` as the `MultiSwarm` constructor does.
 */
export function newMultiSwarm<
  C extends Children,
  O extends MultiSwarmOptions<PubOf<C>> = MultiSwarmOptions<PubOf<C>>,
>(children: C, opts?: O): MultiSwarmOf<C, O> {
  const list = Object.values(children ?? {})
  const allAsk = list.length > 0 && list.every((c) => isAsker(c))
  const allSecure = opts?.secure !== false && list.length > 0 && list.every((c) => isSecure(c))
  const ms = allSecure
    ? allAsk
      ? new SecureAskMultiSwarm(children, opts as MultiSwarmOptions)
      : new SecureMultiSwarm(children, opts as MultiSwarmOptions)
    : allAsk
      ? new AskMultiSwarm(children, opts as MultiSwarmOptions)
      : new MultiSwarm(children, opts as MultiSwarmOptions)
  return ms as unknown as MultiSwarmOf<C, O>
}

/**
 * Returns `children` after checking that each is secure and all share one key; throws
 * `TypeError` otherwise.
 */
function checkSharedKey<Pub>(
  children: Children,
  keyEquals?: (a: Pub, b: Pub) => boolean,
): Children {
  const equals = (keyEquals as ((a: unknown, b: unknown) => boolean) | undefined) ?? keysEqual
  const entries = Object.entries(children ?? {})
  let first: [string, unknown] | undefined
  for (const [scheme, child] of entries) {
    if (!isSecure(child)) throw new TypeError(`children.${scheme} is not secure`)
    const key = child.publicKey()
    if (first === undefined) first = [scheme, key]
    else if (!equals(first[1], key)) {
      throw new TypeError(
        `children ${first[0]} and ${scheme} have different public keys; a multiswarm is one node with one key (pass secure: false to drop Secure, or keyEquals to compare keys differently)`,
      )
    }
  }
  return children
}

/** Default key equality: `a.equals(b)` when available, else deep strict equality. */
function keysEqual(a: unknown, b: unknown): boolean {
  const eq = (a as { equals?: unknown } | null)?.equals
  if (typeof eq === 'function') return eq.call(a, b) === true
  return isDeepStrictEqual(a, b)
}

function isSwarm(x: unknown): x is Swarm<Addr> {
  const s = x as Partial<Swarm<Addr>> | null
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.tell === 'function' &&
    typeof s.receive === 'function' &&
    typeof s.localAddrs === 'function' &&
    typeof s.mtu === 'function' &&
    typeof s.parseAddr === 'function' &&
    typeof s.close === 'function'
  )
}
