/**
 * MemSwarm: a node of an in-process `Realm`. A Swarm and an Asker; `SecureMemSwarm` adds
 * per-node public keys so a realm can stand in for a secure swarm in tests.
 */
import {
  CloseOnce,
  ClosedError,
  MTUExceededError,
  PublicKeyNotFoundError,
  UnreachableError,
  checkCall,
  newAskInbox,
  newMessageInbox,
  payloadSize,
  receiveOne,
  serveOne,
} from '../../core/index.js'
import type {
  AskHandler,
  AskSwarm,
  CallOptions,
  HasStats,
  IncomingAsk,
  Inbox,
  InboxStats,
  Message,
  Payload,
  SecureAskSwarm,
} from '../../core/index.js'
import { MemAddr, parseMemAddr } from './addr.js'
import type { MemAsk } from './ask.js'
import type { Realm } from './realm.js'

/** Per-node limits. */
export interface MemSwarmOptions {
  /** Most received tells held while nobody receives (default 1024). */
  inboxItems?: number
  /** Most bytes of received tells held (default 16 MiB). */
  inboxBytes?: number
  /** Most incoming asks waiting for `serveAsk` (default 256); past it an ask fails as busy. */
  askInboxItems?: number
}

/** Counters of one node. */
export interface MemSwarmStats {
  [name: string]: number | InboxStats
  tellsSent: number
  asksSent: number
  asksServed: number
  inbox: InboxStats
  askInbox: InboxStats
}

/** A node in a `Realm`. Create with `realm.newSwarm()`. */
export class MemSwarm implements AskSwarm<MemAddr>, HasStats {
  readonly #realm: Realm
  readonly #addr: MemAddr
  readonly #closer = new CloseOnce()
  readonly #inbox: Inbox<Message<MemAddr>>
  readonly #asks: Inbox<IncomingAsk<MemAddr>>
  readonly #pending = new Set<() => void>()
  readonly #counts = { tellsSent: 0, asksSent: 0, asksServed: 0 }

  /** @internal Use `realm.newSwarm()`. */
  constructor(realm: Realm, addr: MemAddr, opts: MemSwarmOptions = {}) {
    this.#realm = realm
    this.#addr = addr
    this.#inbox = newMessageInbox({ maxItems: opts.inboxItems, maxBytes: opts.inboxBytes })
    this.#asks = newAskInbox({ maxItems: opts.askInboxItems ?? 256 })
  }

  /** This node's address. */
  get addr(): MemAddr {
    return this.#addr
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closer.closed
  }

  async tell(dst: MemAddr, data: Payload, opts?: CallOptions): Promise<void> {
    checkCall(this.#closer, opts)
    this.#checkSize(dst, data)
    this.#counts.tellsSent++
    this.#realm.routeTell(this.#addr, dst, data)
  }

  receive(fn: (msg: Message<MemAddr>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    return receiveOne(this.#inbox, fn, opts)
  }

  async ask(dst: MemAddr, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    checkCall(this.#closer, opts)
    this.#checkSize(dst, req)
    this.#counts.asksSent++
    return this.#realm.routeAsk(this, dst, req, opts?.signal)
  }

  async serveAsk(handler: AskHandler<MemAddr>, opts?: CallOptions): Promise<void> {
    await serveOne(this.#asks, handler, opts)
    this.#counts.asksServed++
  }

  localAddrs(): MemAddr[] {
    return [this.#addr]
  }

  mtu(_dst: MemAddr): number {
    return this.#realm.mtu
  }

  maxIncomingSize(): number {
    return this.#realm.mtu
  }

  parseAddr(text: string): MemAddr {
    return parseMemAddr(text)
  }

  close(): Promise<void> {
    return this.#closer.close(async () => {
      const err = new ClosedError()
      // Asks first: an ask this node holds fails as unreachable, not as a closed inbox.
      for (const ask of [...this.outgoingAsks]) ask.cancel(err)
      for (const ask of [...this.incomingAsks]) ask.cancel(new UnreachableError(String(this.#addr)))
      this.#inbox.close(err)
      this.#asks.close(err)
      for (const cancel of this.#pending) cancel()
      this.#pending.clear()
      this.#realm.leave(this)
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  stats(): MemSwarmStats {
    return { ...this.#counts, inbox: this.#inbox.stats(), askInbox: this.#asks.stats() }
  }

  /** @internal Asks this node waits for. */
  readonly outgoingAsks = new Set<MemAsk>()
  /** @internal Asks this node holds for serving (queued or being handled). */
  readonly incomingAsks = new Set<MemAsk>()

  /** @internal Called by the realm: a tell arrives. Returns false when dropped. */
  deliverTell(msg: Message<MemAddr>): boolean {
    return this.#inbox.put(msg)
  }

  /** @internal Called by the realm: an ask arrives. */
  deliverAsk(ask: MemAsk): void {
    if (this.closed) ask.cancel(new UnreachableError(String(this.#addr)))
    else this.#asks.put(ask)
  }

  /** @internal Called by the realm: a delayed delivery to this node; cancelled on close. */
  schedule(ms: number, fn: () => void): void {
    if (this.closed) return
    const cancel = this.#realm.clock.setTimeout(() => {
      this.#pending.delete(cancel)
      fn()
    }, ms)
    this.#pending.add(cancel)
  }

  #checkSize(dst: MemAddr, data: Payload): void {
    if (!(dst instanceof MemAddr)) throw new TypeError('dst must be a MemAddr')
    const size = payloadSize(data)
    const mtu = this.mtu(dst)
    if (size > mtu) throw new MTUExceededError(size, mtu)
  }
}

/** A node with a public key: a Swarm, an Asker and Secure. Create with `realm.newSecureSwarm(key)`. */
export class SecureMemSwarm<Pub> extends MemSwarm implements SecureAskSwarm<MemAddr, Pub> {
  readonly #key: Pub
  readonly #lookup: (addr: MemAddr) => Pub | undefined

  /** @internal Use `realm.newSecureSwarm()`. */
  constructor(
    realm: Realm,
    addr: MemAddr,
    key: Pub,
    lookup: (addr: MemAddr) => Pub | undefined,
    opts?: MemSwarmOptions,
  ) {
    super(realm, addr, opts)
    this.#key = key
    this.#lookup = lookup
  }

  publicKey(): Pub {
    return this.#key
  }

  /** The key the realm registered for `addr`; answers from memory, never waits. */
  async lookupPublicKey(addr: MemAddr, opts?: CallOptions): Promise<Pub> {
    opts?.signal?.throwIfAborted()
    if (this.closed) throw new ClosedError()
    const key = this.#lookup(addr)
    if (key === undefined) throw new PublicKeyNotFoundError(String(addr))
    return key
  }
}
