/**
 * The channel table: one entry per remote (PeerID, inner address), and every rule about how
 * many there may be, which one goes to make room, and when one expires. This is where a channel
 * is evicted or expired, and why.
 *
 * - Caps: at most `maxChannels` entries, `maxHalfOpen` half-open inbound ones (created by a
 *   remote InitHello, first handshake not yet complete), `maxPerAddr` per inner address.
 * - Making room, per address and then overall: a half-open inbound entry nobody waits on goes
 *   first (the oldest). A remote InitHello (`inbound`) never evicts an established entry: it gets
 *   no entry. A local tell or lookup evicts the least recently used entry nobody waits on (by the
 *   later of its last use and its channel's last received packet), else it gets no entry either.
 *   A new half-open inbound entry always evicts the oldest one when `maxHalfOpen` are open.
 * - Expiry (`sweep`): an entry not yet established closes `halfOpenTimeout` after its creation
 *   or last use; an established one `idleTimeout` after its last use or last received packet.
 *   Entries someone waits on (`waiting > 0`) never expire and are never evicted (except the
 *   half-open rule above, which only ever sees inbound entries nobody asked for).
 * - Anti-amplification: bytes received from an inner address are credited to it (`received`,
 *   `credit`), and a half-open inbound entry may send only what that credit covers (`spend`).
 *
 * Pure: no I/O, no timers; the caller passes the time and runs `sweep`. The table makes and
 * closes channels only through the hooks it is given.
 */
import type { Addr, PeerID } from '../../core/index.js'
import type { PublicKey } from '../../f/x509/index.js'
import { P2PKEAddr } from './addr.js'
import type { Limits } from './options.js'

/** What the table needs of a channel. */
export interface TableChannel {
  /** Time of the last packet the channel accepted (`-Infinity` before any). */
  readonly lastReceived: number
  /** Closes the channel; the table calls it once, when the entry goes. */
  close(): void
}

/** One channel and what the table and the swarm keep about it. */
export interface ChannelEntry<A extends Addr, C extends TableChannel> {
  /** `<PeerID>@<inner>`: the remote address text. */
  readonly key: string
  /** The remote PeerID. */
  readonly id: PeerID
  /** The remote address, used as `msg.src` of everything this channel delivers. */
  readonly addr: P2PKEAddr<A>
  /** Created by a remote InitHello (else by a local tell or lookup). */
  readonly inbound: boolean
  /** When it was created. */
  readonly createdAt: number
  /** The channel, made by the table's `open` hook. */
  readonly channel: C
  /** Last local use (a tell or lookup); the swarm sets it. Creation counts as a use. */
  lastUsed: number
  /** Tells and lookups waiting on it; the swarm counts them. Never evicted or expired while > 0. */
  waiting: number
  /** Its first handshake completed (set by `ChannelTable.established`). */
  readonly established: boolean
  /** The remote key, once established. */
  readonly remoteKey: PublicKey | undefined
  /** Closed and removed from the table. */
  readonly closed: boolean
}

/** How a channel made and closed by a table is opened and retired. */
export interface TableHooks<A extends Addr, C extends TableChannel> {
  /** Makes the channel of a new entry (`entry.channel` is not set yet). */
  open(entry: ChannelEntry<A, C>): C
  /** Called once per entry, after its channel is closed. */
  closed(entry: ChannelEntry<A, C>): void
}

/** The limits a table keeps (see `P2PKESwarmOptions`). */
export type TableLimits = Pick<
  Limits,
  'maxChannels' | 'maxHalfOpen' | 'maxPerAddr' | 'halfOpenTimeout' | 'idleTimeout'
>

/** Why an entry was closed, when it is counted. */
export type CloseReason = 'evicted' | 'halfOpenExpired' | 'idleExpired'

/** Counters of a `ChannelTable` (the `channels` of `P2PKESwarmStats`, and `sendsWithheld`). */
export interface ChannelTableStats {
  /** Entries now. */
  readonly open: number
  /** Entries whose first handshake completed. */
  readonly established: number
  /** Entries created by a remote InitHello, not yet established. */
  readonly halfOpenInbound: number
  /** Entries ever created. */
  readonly created: number
  /** Closed to make room. */
  readonly evicted: number
  /** Closed half-open after `halfOpenTimeout`, or at once by the caller (a failed handshake). */
  readonly halfOpenExpired: number
  /** Closed after `idleTimeout` without traffic. */
  readonly idleExpired: number
  /** Sends `spend` refused: they would exceed what the address sent us. */
  readonly sendsWithheld: number
}

/** The channels at one inner address, and its anti-amplification credit. */
interface AddrRecord<E> {
  readonly key: string
  /** Channels at this address, oldest first. */
  readonly entries: E[]
  /** Bytes received from this address not yet spent by half-open inbound channels. */
  credit: number
}

/** The mutable form of an entry, for the table alone. */
type Entry<A extends Addr, C extends TableChannel> = {
  -readonly [K in keyof ChannelEntry<A, C>]: ChannelEntry<A, C>[K]
} & { readonly record: AddrRecord<Entry<A, C>> }

/** Channels by (PeerID, inner address), with caps, eviction, expiry and send credit. */
export class ChannelTable<A extends Addr, C extends TableChannel> {
  readonly #limits: TableLimits
  readonly #hooks: TableHooks<A, C>
  /** Every entry by remote address text, in creation order. */
  readonly #entries = new Map<string, Entry<A, C>>()
  /** Entries by inner address text. */
  readonly #byAddr = new Map<string, AddrRecord<Entry<A, C>>>()
  /** Half-open entries created by remote InitHellos, oldest first. */
  readonly #halfOpenInbound = new Set<Entry<A, C>>()
  readonly #counts = {
    created: 0,
    evicted: 0,
    halfOpenExpired: 0,
    idleExpired: 0,
    sendsWithheld: 0,
  }

  /** `limits` as `resolveLimits` checked them; not checked again. */
  constructor(limits: TableLimits, hooks: TableHooks<A, C>) {
    this.#limits = limits
    this.#hooks = hooks
  }

  /** Entries now. */
  get size(): number {
    return this.#entries.size
  }

  /** Every entry, in creation order. */
  values(): IterableIterator<ChannelEntry<A, C>> {
    return this.#entries.values()
  }

  /** The entry for remote address text `key` (`<PeerID>@<inner>`). */
  get(key: string): ChannelEntry<A, C> | undefined {
    return this.#entries.get(key)
  }

  /**
   * A packet of `bytes` arrived from inner address text `inner`: credits the address and returns
   * its entries (oldest first), or undefined (and credits nothing) when it has none.
   */
  received(inner: string, bytes: number): readonly ChannelEntry<A, C>[] | undefined {
    const rec = this.#byAddr.get(inner)
    if (rec === undefined) return undefined
    rec.credit += bytes
    return rec.entries
  }

  /** Credits `bytes` received for `entry` to its address. */
  credit(entry: ChannelEntry<A, C>, bytes: number): void {
    ;(entry as Entry<A, C>).record.credit += bytes
  }

  /**
   * Whether `entry` may send `bytes` now, spending its address's credit when it is half-open
   * inbound (established and outbound entries always may). A refusal is counted
   * (`sendsWithheld`).
   */
  spend(entry: ChannelEntry<A, C>, bytes: number): boolean {
    const e = entry as Entry<A, C>
    if (e.established || !e.inbound) return true
    if (bytes > e.record.credit) {
      this.#counts.sendsWithheld++
      return false
    }
    e.record.credit -= bytes
    return true
  }

  /**
   * The entry a local tell or lookup to `addr` uses at `now`: the existing one (no longer a
   * candidate for the half-open eviction, since it is wanted here now) or a new outbound one.
   * Undefined when there is no room (every entry that could go is waited on).
   */
  outbound(addr: P2PKEAddr<A>, now: number): ChannelEntry<A, C> | undefined {
    const existing = this.#entries.get(addr.toString())
    if (existing !== undefined) {
      this.#halfOpenInbound.delete(existing)
      return existing
    }
    return this.create(addr.peerID, addr.inner, false, now)
  }

  /**
   * A new entry for `id` at `inner`, making room as the module comment says, or undefined when
   * there is none. The caller checks there is no entry for (`id`, `inner`) yet. Synchronous: no
   * other packet or call runs between the caller's look-up and the insertion.
   */
  create(id: PeerID, inner: A, inbound: boolean, now: number): ChannelEntry<A, C> | undefined {
    const l = this.#limits
    const addrKey = inner.toString()
    const rec0 = this.#byAddr.get(addrKey)
    if (rec0 !== undefined && rec0.entries.length >= l.maxPerAddr) {
      const victim =
        rec0.entries.find((e) => e.inbound && !e.established && e.waiting === 0) ??
        (inbound ? undefined : lru(rec0.entries))
      if (victim === undefined) return undefined
      this.close(victim, 'evicted')
    }
    if (inbound && this.#halfOpenInbound.size >= l.maxHalfOpen) {
      this.close(this.#halfOpenInbound.values().next().value!, 'evicted')
    }
    if (this.#entries.size >= l.maxChannels) {
      const victim =
        (this.#halfOpenInbound.values().next().value as Entry<A, C> | undefined) ??
        (inbound ? undefined : lru(this.#entries.values()))
      if (victim === undefined) return undefined
      this.close(victim, 'evicted')
    }
    let rec = this.#byAddr.get(addrKey)
    if (rec === undefined) {
      rec = { key: addrKey, entries: [], credit: 0 }
      this.#byAddr.set(addrKey, rec)
    }
    const addr = new P2PKEAddr(id, inner)
    const entry: Entry<A, C> = {
      key: addr.toString(),
      id,
      addr,
      record: rec,
      inbound,
      createdAt: now,
      lastUsed: now,
      established: false,
      remoteKey: undefined,
      waiting: 0,
      closed: false,
      // Set just below: the hook gets the entry, so its channel can send through it.
      channel: undefined as unknown as C,
    }
    entry.channel = this.#hooks.open(entry)
    rec.entries.push(entry)
    this.#entries.set(entry.key, entry)
    if (inbound) this.#halfOpenInbound.add(entry)
    this.#counts.created++
    return entry
  }

  /** Marks `entry` established with the remote `key`: from now on it is never half-open. */
  established(entry: ChannelEntry<A, C>, key: PublicKey): void {
    const e = entry as Entry<A, C>
    e.established = true
    e.remoteKey = key
    this.#halfOpenInbound.delete(e)
  }

  /**
   * Closes `entry`'s channel and removes it (nothing when already closed), counting it under
   * `reason` when given.
   */
  close(entry: ChannelEntry<A, C>, reason?: CloseReason): void {
    const e = entry as Entry<A, C>
    if (e.closed) return
    if (reason !== undefined) this.#counts[reason]++
    e.closed = true
    e.channel.close()
    this.#hooks.closed(e)
    this.#entries.delete(e.key)
    this.#halfOpenInbound.delete(e)
    const rec = e.record
    const i = rec.entries.indexOf(e)
    if (i >= 0) rec.entries.splice(i, 1)
    if (rec.entries.length === 0) this.#byAddr.delete(rec.key)
  }

  /** Closes every entry, uncounted (the swarm is closing). */
  closeAll(): void {
    for (const e of [...this.#entries.values()]) this.close(e)
  }

  /** Closes the entries expired at `now` (see the module comment). */
  sweep(now: number): void {
    const l = this.#limits
    for (const e of [...this.#entries.values()]) {
      if (e.waiting > 0) continue
      if (!e.established) {
        if (now - Math.max(e.createdAt, e.lastUsed) >= l.halfOpenTimeout) {
          this.close(e, 'halfOpenExpired')
        }
      } else if (now - Math.max(e.channel.lastReceived, e.lastUsed) >= l.idleTimeout) {
        this.close(e, 'idleExpired')
      }
    }
  }

  /** How often to `sweep`: a quarter of the shorter timeout, at least 10 ms. */
  get sweepEveryMs(): number {
    return Math.max(10, Math.min(this.#limits.halfOpenTimeout, this.#limits.idleTimeout) / 4)
  }

  /** A snapshot of the counters. */
  stats(): ChannelTableStats {
    let established = 0
    for (const e of this.#entries.values()) if (e.established) established++
    const c = this.#counts
    return {
      open: this.#entries.size,
      established,
      halfOpenInbound: this.#halfOpenInbound.size,
      created: c.created,
      evicted: c.evicted,
      halfOpenExpired: c.halfOpenExpired,
      idleExpired: c.idleExpired,
      sendsWithheld: c.sendsWithheld,
    }
  }
}

/** The least recently used entry nobody waits on. */
function lru<E extends { waiting: number; lastUsed: number; channel: TableChannel }>(
  entries: Iterable<E>,
): E | undefined {
  let best: E | undefined
  let bestAt = Number.POSITIVE_INFINITY
  for (const e of entries) {
    if (e.waiting > 0) continue
    const at = Math.max(e.channel.lastReceived, e.lastUsed)
    if (at < bestAt) {
      best = e
      bestAt = at
    }
  }
  return best
}
