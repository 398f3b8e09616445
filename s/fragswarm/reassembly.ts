/**
 * Reassembly of fragmented messages: a pure state machine (no timers, no I/O). The caller
 * gives it each received part with the source's address text and the time, and drives
 * expiry; `FragSwarm` owns the timer.
 *
 * Rules, all checked before anything is stored:
 * - The header parses (`parseFragPart`).
 * - A single-part message (`partCount = 1`) is delivered at once if it fits `maxMessageSize`;
 *   it creates no state.
 * - Parts of a multi-part message are never empty. Every part but the last has the same
 *   length `L` and the last part's length is in `[1, L]` (this is how every sender splits:
 *   fixed-size parts and a remainder). So the message's size is known, and checked against
 *   `maxMessageSize`, from the first part on.
 * - A part whose `partCount` or length disagrees with the parts seen before it, or that
 *   repeats an index with different bytes, proves that two different messages share the id
 *   (a restarted sender, or corruption). The pending message is then *poisoned*: its parts
 *   are discarded and every later part with that id is dropped until the tombstone expires,
 *   so parts of the two messages can never be joined.
 * - A completed message leaves a tombstone too, so a late duplicate part is dropped instead
 *   of starting a new message that could later be completed by another message's parts.
 * - Budgets: at most `maxMessagesPerSource` pending messages and `maxBytesPerSource` stored
 *   bytes per source, `maxMessages` and `maxBytes` in total, `maxTombstones` tombstones
 *   (the oldest is forgotten first). A part that would exceed a budget is dropped and counted
 *   (and its pending message abandoned, since it can no longer complete). The part that
 *   completes a message is exempt: the message leaves at once, so it frees memory.
 * - Pending messages and tombstones expire `timeoutMs` after they were created.
 */
import { bytesEqual } from '../../core/index.js'
import { parseFragPart } from './wire.js'

/** Why a part was dropped. */
export type PartDropReason =
  /** The header did not parse. */
  | 'malformed'
  /** The message would be larger than `maxMessageSize`. */
  | 'tooLarge'
  /** `partCount` or the part's length disagrees with the message's earlier parts, or is empty. */
  | 'inconsistent'
  /** The index was seen before with different bytes. */
  | 'conflict'
  /** The index was seen before with the same bytes. */
  | 'duplicate'
  /** The id belongs to a message completed or poisoned within `timeoutMs`. */
  | 'stale'
  /** The source's budget (messages or bytes) is used up. */
  | 'budgetSource'
  /** The total budget (messages or bytes) is used up. */
  | 'budgetTotal'

/** Limits of a `Reassembler`. Every field is a positive number. */
export interface ReassemblyLimits {
  /** Largest message delivered, in bytes. */
  readonly maxMessageSize: number
  /** Lifetime of a pending message and of a tombstone, from its creation. */
  readonly timeoutMs: number
  /** Most pending messages per source. */
  readonly maxMessagesPerSource: number
  /** Most stored part bytes per source (at least `maxMessageSize`). */
  readonly maxBytesPerSource: number
  /** Most pending messages in total. */
  readonly maxMessages: number
  /** Most stored part bytes in total (at least `maxBytesPerSource`). */
  readonly maxBytes: number
  /** Most tombstones remembered; past it the oldest is forgotten. */
  readonly maxTombstones: number
}

/** What became of one part. */
export type AcceptResult =
  /** A message is complete; `payload` is owned by the caller. */
  | { readonly kind: 'message'; readonly payload: Uint8Array; readonly parts: number }
  /** The part was stored; its message is not complete yet. */
  | { readonly kind: 'pending' }
  /** The part was dropped (and counted). */
  | { readonly kind: 'drop'; readonly reason: PartDropReason }

/** Memory held now. */
export interface ReassemblyUsage {
  readonly [name: string]: number
  /** Pending (incomplete) messages. */
  readonly messages: number
  /** Bytes of stored parts. */
  readonly bytes: number
  /** Tombstones (recently completed or poisoned ids). */
  readonly tombstones: number
  /** Sources with at least one pending message. */
  readonly sources: number
}

/** Counters of a `Reassembler` since it was created. */
export interface ReassemblyCounters {
  [name: string]: number | Record<string, number>
  /** Parts stored. */
  partsStored: number
  /** Messages completed from more than one part. */
  reassembled: number
  /** Single-part messages passed through. */
  single: number
  /** Parts dropped, by reason. */
  droppedParts: Record<PartDropReason, number>
  /** Pending messages discarded: expired, poisoned (two messages shared an id), over budget. */
  droppedMessages: { expired: number; poisoned: number; budget: number }
  /** Tombstones forgotten early because `maxTombstones` was reached. */
  tombstonesEvicted: number
}

/** A pending (incomplete) multi-part message. */
interface Pending {
  readonly source: Source
  readonly msgId: number
  readonly count: number
  /** Length of every part but the last; 0 while unknown. */
  partLen: number
  /** Length of the last part; 0 while unknown. */
  lastLen: number
  readonly parts: (Uint8Array | undefined)[]
  received: number
  bytes: number
  readonly deadline: number
}

/** A remembered id of a completed or poisoned message. */
interface Tombstone {
  readonly source: Source
  readonly msgId: number
  readonly deadline: number
}

/**
 * Everything held for one source: its pending messages and tombstones by msgId. It exists
 * while it holds either, so the number of sources is bounded by the other budgets.
 */
interface Source {
  readonly key: string
  readonly pending: Map<number, Pending>
  readonly tombs: Map<number, Tombstone>
  bytes: number
}

/** The text of a source address, or the address itself (`toString()` is then called once, and only when needed). */
export type SourceKey = string | { toString(): string }

const LIMIT_NAMES = [
  'maxMessageSize',
  'timeoutMs',
  'maxMessagesPerSource',
  'maxBytesPerSource',
  'maxMessages',
  'maxBytes',
  'maxTombstones',
] as const

/**
 * Joins parts into messages under fixed memory budgets. Times given to `accept` and
 * `expire` must not decrease.
 *
 * State is keyed by source first and then by msgId (numbers), so a part costs one lookup of
 * its source's text and no string building; the last source is remembered, since the parts of
 * one message arrive back to back.
 */
export class Reassembler {
  readonly limits: ReassemblyLimits
  readonly #sources = new Map<string, Source>()
  /** Every pending message, in creation order (so also in deadline order). */
  readonly #pending = new Set<Pending>()
  /** Every tombstone, in creation order (so also in deadline order). */
  readonly #tombs = new Set<Tombstone>()
  /** Sources with at least one pending message. */
  #activeSources = 0
  #last: Source | undefined
  #bytes = 0
  readonly #counters: ReassemblyCounters = {
    partsStored: 0,
    reassembled: 0,
    single: 0,
    droppedParts: {
      malformed: 0,
      tooLarge: 0,
      inconsistent: 0,
      conflict: 0,
      duplicate: 0,
      stale: 0,
      budgetSource: 0,
      budgetTotal: 0,
    },
    droppedMessages: { expired: 0, poisoned: 0, budget: 0 },
    tombstonesEvicted: 0,
  }

  /** Throws `RangeError` when a limit is not a positive number or the budgets are inconsistent. */
  constructor(limits: ReassemblyLimits) {
    for (const name of LIMIT_NAMES) {
      const v = limits[name]
      if (typeof v !== 'number' || !(v > 0)) {
        throw new RangeError(`${name} must be a positive number, got ${v}`)
      }
    }
    if (limits.maxBytesPerSource < limits.maxMessageSize) {
      throw new RangeError(
        `maxBytesPerSource (${limits.maxBytesPerSource}) must be at least the largest message (${limits.maxMessageSize})`,
      )
    }
    if (limits.maxBytes < limits.maxBytesPerSource) {
      throw new RangeError(
        `maxBytes (${limits.maxBytes}) must be at least maxBytesPerSource (${limits.maxBytesPerSource})`,
      )
    }
    this.limits = { ...limits }
  }

  /**
   * Takes one received part from `src` (the source address's canonical text, or the address,
   * whose `toString()` is then called only for parts of multi-part messages) at time `now`.
   * Never throws on any input bytes. A single-part message's payload is a view into `buf`;
   * a reassembled payload is a fresh buffer. Stored parts are views into the given buffers,
   * which the caller must not modify afterwards.
   */
  accept(src: SourceKey, buf: Uint8Array, now: number): AcceptResult {
    this.expire(now)
    const part = parseFragPart(buf)
    if (part === undefined) return this.#drop('malformed')
    const { msgId, partIndex: index, partCount: count, data } = part
    const n = data.length
    if (count === 1) {
      if (n > this.limits.maxMessageSize) return this.#drop('tooLarge')
      this.#counters.single++
      return { kind: 'message', payload: data, parts: 1 }
    }
    const key = typeof src === 'string' ? src : src.toString()
    const last = this.#last
    const source = last !== undefined && last.key === key ? last : this.#sources.get(key)
    if (source === undefined) return this.#start(undefined, key, msgId, count, index, data, now)
    this.#last = source
    if (source.tombs.has(msgId)) return this.#drop('stale')
    const pending = source.pending.get(msgId)
    if (pending === undefined) return this.#start(source, key, msgId, count, index, data, now)

    if (pending.count !== count) return this.#poison(pending, 'inconsistent', now)
    const seen = pending.parts[index]
    if (seen !== undefined) {
      return bytesEqual(seen, data)
        ? this.#drop('duplicate')
        : this.#poison(pending, 'conflict', now)
    }
    const bad = checkShape(count, index, n, pending.partLen, pending.lastLen, this.limits)
    if (bad !== undefined) return this.#poison(pending, bad, now)
    // The part that completes a message is never refused: it frees memory rather than holds it.
    if (pending.received + 1 < count) {
      if (source.bytes + n > this.limits.maxBytesPerSource) {
        return this.#abandon(pending, 'budgetSource', now)
      }
      if (this.#bytes + n > this.limits.maxBytes) return this.#abandon(pending, 'budgetTotal', now)
    }

    this.#store(pending, index, data)
    if (pending.received < count) return { kind: 'pending' }
    return this.#complete(pending, now)
  }

  /** Discards pending messages and tombstones whose deadline is at or before `now`. */
  expire(now: number): void {
    for (const p of this.#pending) {
      if (p.deadline > now) break
      this.#remove(p)
      this.#counters.droppedMessages.expired++
    }
    for (const t of this.#tombs) {
      if (t.deadline > now) break
      this.#forget(t)
    }
  }

  /** The earliest deadline of a pending message or tombstone, or undefined when none is held. */
  nextDeadline(): number | undefined {
    let next: number | undefined
    for (const p of this.#pending) {
      next = p.deadline
      break
    }
    for (const t of this.#tombs) {
      if (next === undefined || t.deadline < next) next = t.deadline
      break
    }
    return next
  }

  /** Memory held now. */
  usage(): ReassemblyUsage {
    return {
      messages: this.#pending.size,
      bytes: this.#bytes,
      tombstones: this.#tombs.size,
      sources: this.#activeSources,
    }
  }

  /** Pending messages and stored bytes of one source (zeros when it has none). */
  sourceUsage(src: string): { messages: number; bytes: number } {
    const s = this.#sources.get(src)
    return { messages: s?.pending.size ?? 0, bytes: s?.bytes ?? 0 }
  }

  /** A snapshot of the counters. */
  counters(): ReassemblyCounters {
    const c = this.#counters
    return {
      ...c,
      droppedParts: { ...c.droppedParts },
      droppedMessages: { ...c.droppedMessages },
    }
  }

  /** Forgets every pending message and tombstone (on close). */
  clear(): void {
    this.#pending.clear()
    this.#tombs.clear()
    this.#sources.clear()
    this.#last = undefined
    this.#activeSources = 0
    this.#bytes = 0
  }

  #start(
    known: Source | undefined,
    key: string,
    msgId: number,
    count: number,
    index: number,
    data: Uint8Array,
    now: number,
  ): AcceptResult {
    const n = data.length
    const bad = checkShape(count, index, n, 0, 0, this.limits)
    if (bad !== undefined) return this.#drop(bad)
    if (
      (known?.pending.size ?? 0) >= this.limits.maxMessagesPerSource ||
      (known?.bytes ?? 0) + n > this.limits.maxBytesPerSource
    ) {
      return this.#drop('budgetSource')
    }
    if (this.#pending.size >= this.limits.maxMessages || this.#bytes + n > this.limits.maxBytes) {
      return this.#drop('budgetTotal')
    }
    // Only now, with every field checked, is anything allocated.
    let source = known
    if (source === undefined) {
      source = { key, pending: new Map(), tombs: new Map(), bytes: 0 }
      this.#sources.set(key, source)
      this.#last = source
    }
    const pending: Pending = {
      source,
      msgId,
      count,
      partLen: 0,
      lastLen: 0,
      parts: new Array<Uint8Array | undefined>(count).fill(undefined),
      received: 0,
      bytes: 0,
      deadline: now + this.limits.timeoutMs,
    }
    if (source.pending.size === 0) this.#activeSources++
    source.pending.set(msgId, pending)
    this.#pending.add(pending)
    this.#store(pending, index, data)
    return { kind: 'pending' }
  }

  #store(p: Pending, index: number, data: Uint8Array): void {
    p.parts[index] = data
    p.received++
    p.bytes += data.length
    if (index === p.count - 1) p.lastLen = data.length
    else p.partLen = data.length
    p.source.bytes += data.length
    this.#bytes += data.length
    this.#counters.partsStored++
  }

  #complete(p: Pending, now: number): AcceptResult {
    const payload = new Uint8Array((p.count - 1) * p.partLen + p.lastLen)
    let off = 0
    for (const part of p.parts) {
      payload.set(part!, off)
      off += part!.length
    }
    this.#tombstone(p, now)
    this.#remove(p)
    this.#counters.reassembled++
    return { kind: 'message', payload, parts: p.count }
  }

  /** Two messages share this id: discard what is stored and refuse the id for a while. */
  #poison(p: Pending, reason: PartDropReason, now: number): AcceptResult {
    this.#tombstone(p, now)
    this.#remove(p)
    this.#counters.droppedMessages.poisoned++
    return this.#drop(reason)
  }

  /** The message can no longer complete within budget: discard it and its later parts. */
  #abandon(p: Pending, reason: 'budgetSource' | 'budgetTotal', now: number): AcceptResult {
    this.#tombstone(p, now)
    this.#remove(p)
    this.#counters.droppedMessages.budget++
    return this.#drop(reason)
  }

  /**
   * Refuses the id of `p` (still pending, so its source is held) from `now` for `timeoutMs`.
   * Creation order stays deadline order.
   */
  #tombstone(p: Pending, now: number): void {
    if (this.#tombs.size >= this.limits.maxTombstones) {
      for (const oldest of this.#tombs) {
        this.#forget(oldest)
        this.#counters.tombstonesEvicted++
        break
      }
    }
    const t: Tombstone = { source: p.source, msgId: p.msgId, deadline: now + this.limits.timeoutMs }
    t.source.tombs.set(p.msgId, t)
    this.#tombs.add(t)
  }

  #remove(p: Pending): void {
    const s = p.source
    this.#pending.delete(p)
    s.pending.delete(p.msgId)
    s.bytes -= p.bytes
    this.#bytes -= p.bytes
    if (s.pending.size === 0) {
      this.#activeSources--
      this.#release(s)
    }
  }

  #forget(t: Tombstone): void {
    this.#tombs.delete(t)
    t.source.tombs.delete(t.msgId)
    this.#release(t.source)
  }

  /** Drops a source that holds nothing any more. */
  #release(s: Source): void {
    if (s.pending.size > 0 || s.tombs.size > 0) return
    this.#sources.delete(s.key)
    if (this.#last === s) this.#last = undefined
  }

  #drop(reason: PartDropReason): AcceptResult {
    this.#counters.droppedParts[reason]++
    return { kind: 'drop', reason }
  }
}

/**
 * Checks one part of a multi-part message against what is known of the message
 * (`partLen`/`lastLen`, 0 while unknown) and against the size limit. Returns why it is bad.
 */
function checkShape(
  count: number,
  index: number,
  n: number,
  partLen: number,
  lastLen: number,
  limits: ReassemblyLimits,
): 'tooLarge' | 'inconsistent' | undefined {
  if (n === 0) return 'inconsistent'
  let smallest: number
  if (index < count - 1) {
    if (partLen !== 0 && n !== partLen) return 'inconsistent'
    if (lastLen !== 0 && n < lastLen) return 'inconsistent'
    smallest = (count - 1) * n + (lastLen || 1)
  } else {
    if (partLen !== 0 && n > partLen) return 'inconsistent'
    smallest = (count - 1) * (partLen || n) + n
  }
  return smallest > limits.maxMessageSize ? 'tooLarge' : undefined
}
