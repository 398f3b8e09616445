/**
 * Realm: a set of in-process swarms that can reach each other, with optional fault injection
 * (a user transform, seeded loss / duplication / reordering / latency) and a traffic log.
 * Asks are native and reliable: they see latency but never loss.
 */
import {
  AskError,
  ClosedError,
  ResponseTooLargeError,
  UnreachableError,
  errorReason,
  payloadCopy,
  payloadSize,
  systemClock,
} from '../../core/index.js'
import type { Clock, IncomingAsk, Message, Payload } from '../../core/index.js'
import { MemAddr } from './addr.js'
import { type FaultOptions, FaultSchedule } from './faults.js'
import { MemAsk } from './ask.js'
import { MemSwarm, type MemSwarmOptions, SecureMemSwarm } from './memswarm.js'

/** Rewrites or drops a tell in flight: return the message (possibly altered) or undefined to drop it. */
export type TellTransform = (msg: Message<MemAddr>) => Message<MemAddr> | undefined

/** One event of the traffic log. */
export interface TrafficEvent {
  kind: 'tell' | 'ask' | 'response'
  src: MemAddr
  dst: MemAddr
  size: number
  /** What happened to it. */
  fate: 'sent' | 'delivered' | 'lost' | 'transformed-away' | 'no-such-node' | 'inbox-full'
}

/** Settings of a `Realm`. */
export interface RealmOptions extends FaultOptions, MemSwarmOptions {
  /** Largest payload of a tell, an ask or a response (default 64 KiB). */
  mtu?: number
  /** Applied to every tell before faults; see `p2ptest` for ready-made ones. */
  transform?: TellTransform
  /** Called for every tell, ask and response and what became of it. */
  log?: (ev: TrafficEvent) => void
  /** Time source for latency and reordering (default: the system clock). */
  clock?: Clock
}

/** Counters of the whole realm. */
export interface RealmStats {
  [name: string]: number
  tells: number
  delivered: number
  lost: number
  duplicated: number
  transformedAway: number
  noSuchNode: number
  inboxFull: number
  asks: number
}

/** A set of in-process swarms. */
export class Realm {
  /** Largest payload in this realm. */
  readonly mtu: number
  /** @internal */
  readonly clock: Clock
  readonly #nodes = new Map<number, MemSwarm>()
  readonly #keys = new Map<number, unknown>()
  readonly #faults: FaultSchedule
  readonly #transform: TellTransform | undefined
  readonly #log: ((ev: TrafficEvent) => void) | undefined
  readonly #nodeOpts: MemSwarmOptions
  #next = 0
  readonly #stats: RealmStats = {
    tells: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    transformedAway: 0,
    noSuchNode: 0,
    inboxFull: 0,
    asks: 0,
  }

  constructor(opts: RealmOptions = {}) {
    const mtu = opts.mtu ?? 64 * 1024
    if (!Number.isInteger(mtu) || mtu < 1)
      throw new RangeError(`mtu must be a positive integer, got ${mtu}`)
    this.mtu = mtu
    this.clock = opts.clock ?? systemClock
    this.#faults = new FaultSchedule(opts)
    this.#transform = opts.transform
    this.#log = opts.log
    this.#nodeOpts = {
      inboxItems: opts.inboxItems,
      inboxBytes: opts.inboxBytes,
      askInboxItems: opts.askInboxItems,
    }
  }

  /** A new node (Swarm + Asker) with the next node number. */
  newSwarm(opts: MemSwarmOptions = {}): MemSwarm {
    const addr = new MemAddr(this.#next++)
    const s = new MemSwarm(this, addr, { ...this.#nodeOpts, ...opts })
    this.#nodes.set(addr.n, s)
    return s
  }

  /**
   * A new node with public key `key` (Swarm + Asker + Secure). Every secure node's
   * `lookupPublicKey` finds the keys of the realm's other secure nodes, also after they close.
   */
  newSecureSwarm<Pub>(key: Pub, opts: MemSwarmOptions = {}): SecureMemSwarm<Pub> {
    const addr = new MemAddr(this.#next++)
    const lookup = (a: MemAddr) => this.#keys.get(a.n) as Pub | undefined
    const s = new SecureMemSwarm<Pub>(this, addr, key, lookup, { ...this.#nodeOpts, ...opts })
    this.#nodes.set(addr.n, s)
    this.#keys.set(addr.n, key)
    return s
  }

  /** Number of open nodes. */
  get size(): number {
    return this.#nodes.size
  }

  /** Closes every node. */
  async close(): Promise<void> {
    await Promise.all([...this.#nodes.values()].map((s) => s.close()))
  }

  /** A snapshot of the counters. */
  stats(): RealmStats {
    return { ...this.#stats }
  }

  /** @internal A node closed: it no longer receives. */
  leave(node: MemSwarm): void {
    if (this.#nodes.get(node.addr.n) === node) this.#nodes.delete(node.addr.n)
  }

  /** @internal Sends a tell through the transform and the fault schedule. */
  routeTell(src: MemAddr, dst: MemAddr, data: Payload): void {
    this.#stats.tells++
    const size = payloadSize(data)
    let msg: Message<MemAddr> | undefined = { src, dst, payload: payloadCopy(data) }
    if (this.#transform !== undefined) {
      msg = this.#transform(msg)
      if (msg === undefined) return this.#note('tell', src, dst, size, 'transformed-away')
    }
    const target = this.#nodes.get(msg.dst.n)
    if (target === undefined) return this.#note('tell', src, dst, size, 'no-such-node')
    const fate = this.#faults.nextTell()
    if (fate.length === 0) return this.#note('tell', src, dst, size, 'lost')
    if (fate.length > 1) this.#stats.duplicated++
    this.#note('tell', src, dst, size, 'sent')
    fate.forEach((delay, i) => {
      // Each copy is its own message: the receiver owns (and may modify) its payload.
      const copy = i === 0 ? msg : { ...msg, payload: msg.payload.slice() }
      if (delay > 0) target.schedule(delay, () => this.#deliver(target, copy))
      else this.#deliver(target, copy)
    })
  }

  /**
   * @internal Delivers an ask from `client` to `dst` and resolves with the response. Never
   * lost. Rejects with the caller's signal reason on abort, `ClosedError` when the asker closes
   * (see MemSwarm.close) and `UnreachableError` when the server is gone.
   */
  routeAsk(
    client: MemSwarm,
    dst: MemAddr,
    req: Payload,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    this.#stats.asks++
    const src = client.addr
    const size = payloadSize(req)
    const target = this.#nodes.get(dst.n)
    if (target === undefined) {
      this.#note('ask', src, dst, size, 'no-such-node')
      return Promise.reject(new UnreachableError(String(dst)))
    }
    this.#note('ask', src, dst, size, 'sent')
    return new Promise<Uint8Array>((resolve, reject) => {
      const ends = {
        outgoing: client.outgoingAsks,
        incoming: target.incomingAsks,
        mtu: this.mtu,
        travel: (fn: () => void) => this.#travel(client, fn),
      }
      const ask = new MemAsk({ src, dst, payload: payloadCopy(req) }, ends, resolve, reject, signal)
      this.#travel(target, () => target.deliverAsk(ask))
    })
  }

  /** Runs `fn` after the one-way delay, as a timer owned by `node` (cancelled when it closes). */
  #travel(node: MemSwarm, fn: () => void): void {
    const delay = this.#faults.delay()
    if (delay > 0) node.schedule(delay, fn)
    else fn()
  }

  #deliver(target: MemSwarm, msg: Message<MemAddr>): void {
    const ok = target.deliverTell(msg)
    if (ok) this.#stats.delivered++
    this.#note('tell', msg.src, msg.dst, msg.payload.length, ok ? 'delivered' : 'inbox-full')
  }

  #note(
    kind: TrafficEvent['kind'],
    src: MemAddr,
    dst: MemAddr,
    size: number,
    fate: TrafficEvent['fate'],
  ): void {
    if (fate === 'lost') this.#stats.lost++
    else if (fate === 'transformed-away') this.#stats.transformedAway++
    else if (fate === 'no-such-node') this.#stats.noSuchNode++
    else if (fate === 'inbox-full') this.#stats.inboxFull++
    this.#log?.({ kind, src, dst, size, fate })
  }
}
