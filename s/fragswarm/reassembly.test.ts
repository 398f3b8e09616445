import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AcceptResult, Reassembler, type ReassemblyLimits } from './reassembly.js'
import { MAX_MSG_ID, encodeFragHeader, fragment } from './wire.js'

const roomy: ReassemblyLimits = {
  maxMessageSize: 1 << 16,
  timeoutMs: 1000,
  maxMessagesPerSource: 1000,
  maxBytesPerSource: 1 << 24,
  maxMessages: 10_000,
  maxBytes: 1 << 26,
  maxTombstones: 10_000,
}

function join(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** The wire bytes of every part of a message. */
function wireParts(id: number, payload: Uint8Array, partSize: number): Uint8Array[] {
  return fragment(id, payload, partSize).map(([h, c]) => join(h, c))
}

function part(id: number, index: number, count: number, data: ArrayLike<number>): Uint8Array {
  return join(
    encodeFragHeader({ msgId: id, partIndex: index, partCount: count }),
    Uint8Array.from(data),
  )
}

function payloadOf(r: AcceptResult): Uint8Array | undefined {
  return r.kind === 'message' ? r.payload : undefined
}

function checkBudgets(r: Reassembler, sources: readonly string[]): void {
  const u = r.usage()
  const l = r.limits
  expect(u.messages).toBeLessThanOrEqual(l.maxMessages)
  expect(u.bytes).toBeLessThanOrEqual(l.maxBytes)
  expect(u.tombstones).toBeLessThanOrEqual(l.maxTombstones)
  let messages = 0
  let bytes = 0
  for (const s of sources) {
    const su = r.sourceUsage(s)
    expect(su.messages).toBeLessThanOrEqual(l.maxMessagesPerSource)
    expect(su.bytes).toBeLessThanOrEqual(l.maxBytesPerSource)
    expect(su.messages).toBeGreaterThanOrEqual(0)
    expect(su.bytes).toBeGreaterThanOrEqual(0)
    messages += su.messages
    bytes += su.bytes
  }
  // The per-source accounting adds up to the totals: nothing leaks or is double counted.
  expect(messages).toBe(u.messages)
  expect(bytes).toBe(u.bytes)
}

interface Sent {
  src: string
  id: number
  payload: Uint8Array
  parts: Uint8Array[]
}

/** Messages from up to three sources, each with a distinct id per source and a unique tag. */
const sentMessages = fc
  .array(
    fc.record({
      src: fc.constantFrom('a', 'b', 'c'),
      size: fc.integer({ min: 2, max: 300 }),
      partSize: fc.integer({ min: 1, max: 64 }),
      seed: fc.integer(),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((specs) =>
    specs.map((s, i): Sent => {
      const payload = new Uint8Array(s.size)
      let x = s.seed | 0
      for (let j = 0; j < payload.length; j++) {
        x = (Math.imul(x, 1103515245) + 12345) | 0
        payload[j] = x >>> 24
      }
      payload[0] = i // unique tag: which message this is
      payload[1] = i >> 8
      const partSize = Math.max(s.partSize, Math.ceil(s.size / 255))
      return {
        src: s.src,
        id: (i * 7919) % MAX_MSG_ID,
        payload,
        parts: wireParts(i, payload, partSize),
      }
    }),
  )

/** Each part delivered 0 (lost), 1 or 2 (duplicated) times, in a random order. */
const schedule = (sent: Sent[]) =>
  fc
    .array(fc.integer({ min: 0, max: 9 }), {
      minLength: sent.reduce((n, m) => n + m.parts.length, 0),
      maxLength: sent.reduce((n, m) => n + m.parts.length, 0),
    })
    .chain((fates) => {
      const events: { msg: number; part: number }[] = []
      let k = 0
      sent.forEach((m, msg) => {
        for (let part = 0; part < m.parts.length; part++) {
          const fate = fates[k++]!
          const copies = fate === 0 ? 0 : fate === 1 ? 2 : 1 // 10% lost, 10% duplicated
          for (let c = 0; c < copies; c++) events.push({ msg, part })
        }
      })
      return fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })
    })

describe('Reassembler', () => {
  it('delivers each complete message exactly once and intact, under reorder, loss and duplication', () => {
    fc.assert(
      fc.property(
        sentMessages.chain((sent) => fc.tuple(fc.constant(sent), schedule(sent))),
        ([sent, events]) => {
          const r = new Reassembler(roomy)
          const got = new Map<number, number>()
          for (const ev of events) {
            const m = sent[ev.msg]!
            const out = payloadOf(r.accept(m.src, m.parts[ev.part]!, 0))
            if (out !== undefined) {
              const tag = out[0]! | (out[1]! << 8)
              expect(out).toEqual(sent[tag]!.payload)
              expect(sent[tag]!.src).toBe(m.src)
              got.set(tag, (got.get(tag) ?? 0) + 1)
            }
            checkBudgets(r, ['a', 'b', 'c'])
          }
          sent.forEach((m, i) => {
            const copies = m.parts.map(
              (_, p) => events.filter((e) => e.msg === i && e.part === p).length,
            )
            const complete = copies.every((c) => c > 0)
            // Multi-part messages come out exactly once; a single part as often as it arrives.
            const want = m.parts.length === 1 ? copies[0]! : complete ? 1 : 0
            expect(got.get(i) ?? 0, `message ${i}`).toBe(want)
          })
          r.expire(roomy.timeoutMs)
          expect(r.usage()).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('never exceeds its budgets and never corrupts a message, whatever arrives', () => {
    const tight: ReassemblyLimits = {
      maxMessageSize: 400,
      timeoutMs: 50,
      maxMessagesPerSource: 3,
      maxBytesPerSource: 500,
      maxMessages: 5,
      maxBytes: 900,
      maxTombstones: 8,
    }
    fc.assert(
      fc.property(
        sentMessages.chain((sent) => fc.tuple(fc.constant(sent), schedule(sent))),
        fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 200 }),
        ([sent, events], steps) => {
          const r = new Reassembler(tight)
          let now = 0
          events.forEach((ev, i) => {
            now += steps[i] ?? 0
            const m = sent[ev.msg]!
            const out = payloadOf(r.accept(m.src, m.parts[ev.part]!, now))
            if (out !== undefined) {
              const tag = out[0]! | (out[1]! << 8)
              expect(out).toEqual(sent[tag]!.payload)
            }
            checkBudgets(r, ['a', 'b', 'c'])
          })
          r.expire(now + tight.timeoutMs)
          expect(r.usage()).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('never throws and keeps its accounting on arbitrary parts', () => {
    const limits: ReassemblyLimits = {
      ...roomy,
      maxMessageSize: 200,
      maxBytesPerSource: 300,
      maxBytes: 600,
      maxMessagesPerSource: 4,
      maxMessages: 6,
      maxTombstones: 5,
    }
    const anyPart = fc.oneof(
      fc.uint8Array({ maxLength: 30 }),
      fc
        .record({
          id: fc.integer({ min: 0, max: 3 }),
          count: fc.integer({ min: 1, max: 6 }),
          index: fc.nat(),
          len: fc.integer({ min: 0, max: 80 }),
          fill: fc.integer({ min: 0, max: 2 }),
        })
        .map(({ id, count, index, len, fill }) =>
          part(id, index % count, count, new Array(len).fill(fill)),
        ),
    )
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('x', 'y'), anyPart, fc.integer({ min: 0, max: 400 })), {
          maxLength: 120,
        }),
        (input) => {
          const r = new Reassembler(limits)
          let now = 0
          for (const [src, buf, dt] of input) {
            now += dt
            const res = r.accept(src, buf, now)
            if (res.kind === 'message')
              expect(res.payload.length).toBeLessThanOrEqual(limits.maxMessageSize)
            checkBudgets(r, ['x', 'y'])
          }
          r.expire(now + limits.timeoutMs)
          expect(r.usage()).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
        },
      ),
      { numRuns: 500 },
    )
  })

  it('passes a single-part message through without state', () => {
    const r = new Reassembler(roomy)
    const res = r.accept('a', part(9, 0, 1, [1, 2, 3]), 0)
    expect(payloadOf(res)).toEqual(Uint8Array.from([1, 2, 3]))
    expect(payloadOf(r.accept('a', part(9, 0, 1, []), 0))).toEqual(new Uint8Array(0))
    expect(r.usage().messages).toBe(0)
    expect(r.usage().tombstones).toBe(0)
  })

  it("reads a source address's text only for parts of multi-part messages, once per part", () => {
    const r = new Reassembler(roomy)
    let reads = 0
    const src = {
      toString() {
        reads++
        return 'a'
      },
    }
    r.accept(src, part(9, 0, 1, [1]), 0)
    expect(reads).toBe(0)
    r.accept(src, part(10, 0, 2, [1, 2]), 0)
    expect(payloadOf(r.accept(src, part(10, 1, 2, [3]), 0))).toEqual(Uint8Array.of(1, 2, 3))
    expect(reads).toBe(2)
    // The same source as text: one state per source, whatever form it was given in.
    expect(r.accept('a', part(10, 0, 2, [1, 2]), 0)).toEqual({ kind: 'drop', reason: 'stale' })
    expect(r.sourceUsage('a')).toEqual({ messages: 0, bytes: 0 })
  })

  it('checks every field against the limit before storing anything', () => {
    const r = new Reassembler({ ...roomy, maxMessageSize: 100 })
    const drop = (buf: Uint8Array) => {
      const res = r.accept('a', buf, 0)
      expect(r.usage()).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
      return res.kind === 'drop' ? res.reason : res.kind
    }
    expect(drop(part(1, 0, 1, new Array(101).fill(0)))).toBe('tooLarge')
    // 255 parts of 1 byte claim at least 255 bytes: refused on the first part.
    expect(drop(part(1, 0, 255, [1]))).toBe('tooLarge')
    expect(drop(part(1, 254, 255, [1]))).toBe('tooLarge')
    // A non-last part of 60 bytes in a 2-part message: at least 61 bytes, fine; of 3 parts: 121.
    expect(drop(part(1, 0, 3, new Array(60).fill(0)))).toBe('tooLarge')
    // A last part of 51 bytes in a 2-part message: the other part is at least as long.
    expect(drop(part(1, 1, 2, new Array(51).fill(0)))).toBe('tooLarge')
    expect(drop(part(1, 0, 2, []))).toBe('inconsistent')
    expect(drop(Uint8Array.from([0x80]))).toBe('malformed')
    expect(r.counters().droppedParts).toMatchObject({ tooLarge: 5, inconsistent: 1, malformed: 1 })
  })

  it('poisons a message whose parts disagree, and refuses its id until it expires', () => {
    const r = new Reassembler(roomy)
    expect(r.accept('a', part(5, 0, 3, [1, 1]), 0).kind).toBe('pending')
    // Same id, different part count: two messages share id 5.
    expect(r.accept('a', part(5, 1, 4, [2, 2]), 1)).toEqual({
      kind: 'drop',
      reason: 'inconsistent',
    })
    expect(r.usage().messages).toBe(0)
    // Every later part of id 5 is refused, so no mix of the two can complete.
    expect(r.accept('a', part(5, 1, 3, [2, 2]), 2)).toEqual({ kind: 'drop', reason: 'stale' })
    expect(r.accept('a', part(5, 2, 3, [3]), 2)).toEqual({ kind: 'drop', reason: 'stale' })
    // Other sources are not affected.
    expect(r.accept('b', part(5, 0, 2, [1]), 2).kind).toBe('pending')
    r.expire(1 + roomy.timeoutMs)
    expect(r.accept('a', part(5, 0, 2, [7]), 1 + roomy.timeoutMs).kind).toBe('pending')
    expect(payloadOf(r.accept('a', part(5, 1, 2, [8]), 1 + roomy.timeoutMs))).toEqual(
      Uint8Array.from([7, 8]),
    )
    expect(r.counters().droppedMessages.poisoned).toBe(1)
  })

  it('poisons on a part length that breaks the equal-parts rule', () => {
    const r = new Reassembler(roomy)
    r.accept('a', part(1, 0, 3, [1, 1, 1]), 0)
    expect(r.accept('a', part(1, 1, 3, [1, 1]), 0)).toEqual({
      kind: 'drop',
      reason: 'inconsistent',
    })
    r.accept('a', part(2, 2, 3, [1, 1, 1]), 0) // last part first: 3 bytes
    expect(r.accept('a', part(2, 0, 3, [1, 1]), 0)).toEqual({
      kind: 'drop',
      reason: 'inconsistent',
    })
    r.accept('a', part(3, 0, 3, [1, 1]), 0)
    expect(r.accept('a', part(3, 2, 3, [1, 1, 1]), 0)).toEqual({
      kind: 'drop',
      reason: 'inconsistent',
    })
    expect(r.usage().messages).toBe(0)
  })

  it('drops an exact duplicate but poisons a repeated index with other bytes', () => {
    const r = new Reassembler(roomy)
    r.accept('a', part(1, 0, 2, [1, 1]), 0)
    expect(r.accept('a', part(1, 0, 2, [1, 1]), 0)).toEqual({ kind: 'drop', reason: 'duplicate' })
    expect(r.usage().messages).toBe(1)
    expect(r.accept('a', part(1, 0, 2, [9, 9]), 0)).toEqual({ kind: 'drop', reason: 'conflict' })
    expect(r.usage().messages).toBe(0)
    expect(r.accept('a', part(1, 1, 2, [2]), 0)).toEqual({ kind: 'drop', reason: 'stale' })
  })

  it('drops a late duplicate of a completed message instead of starting a new one', () => {
    const r = new Reassembler(roomy)
    r.accept('a', part(1, 0, 2, [1]), 0)
    expect(payloadOf(r.accept('a', part(1, 1, 2, [2]), 0))).toEqual(Uint8Array.from([1, 2]))
    expect(r.accept('a', part(1, 0, 2, [1]), 10)).toEqual({ kind: 'drop', reason: 'stale' })
    expect(r.usage().messages).toBe(0)
  })

  describe('a sender that restarts and reuses ids', () => {
    // The old incarnation sent id 0 as 3 parts; only part 0 arrived. The new incarnation
    // (go-p2p senders count ids from 0 again) sends a different message with id 0.
    const oldMsg = Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1])
    const newMsg = Uint8Array.from([2, 2, 2, 2, 2, 2, 2, 2, 2])

    it('never splices when the new message is shaped differently', () => {
      const r = new Reassembler(roomy)
      r.accept('a', wireParts(0, oldMsg, 3)[0]!, 0)
      const out = wireParts(0, newMsg, 4).map((p) => r.accept('a', p, 5))
      expect(out.map((o) => o.kind)).not.toContain('message')
      expect(r.usage().messages).toBe(0)
    })

    it('never splices when a part of the new message overlaps the stored one before completing', () => {
      // Same part count and part length: only the overlapping index tells the messages apart.
      for (const order of [
        [0, 1, 2],
        [1, 0, 2],
        [2, 0, 1],
        [0, 2, 1],
      ]) {
        const r = new Reassembler(roomy)
        r.accept('a', wireParts(0, oldMsg, 3)[0]!, 0)
        const parts = wireParts(0, newMsg, 3)
        const out = order.map((i) => r.accept('a', parts[i]!, 5))
        expect(out.map((o) => o.kind)).not.toContain('message')
        expect(r.counters().droppedMessages.poisoned).toBe(1)
      }
    })

    it('delivers the new message intact once the old state has expired', () => {
      const r = new Reassembler(roomy)
      r.accept('a', wireParts(0, oldMsg, 3)[0]!, 0)
      const out = wireParts(0, newMsg, 3).map((p) => payloadOf(r.accept('a', p, roomy.timeoutMs)))
      expect(out[2]).toEqual(newMsg)
    })

    it('a remembered id of a completed message blocks the reused id instead of splicing', () => {
      const r = new Reassembler(roomy)
      for (const p of wireParts(0, oldMsg, 3)) r.accept('a', p, 0)
      const out = wireParts(0, newMsg, 3).map((p) => r.accept('a', p, 1))
      expect(out.every((o) => o.kind === 'drop' && o.reason === 'stale')).toBe(true)
    })
  })

  it('refuses new messages past the per-source and total message budgets', () => {
    const r = new Reassembler({ ...roomy, maxMessagesPerSource: 2, maxMessages: 3 })
    expect(r.accept('a', part(1, 0, 2, [1]), 0).kind).toBe('pending')
    expect(r.accept('a', part(2, 0, 2, [1]), 0).kind).toBe('pending')
    expect(r.accept('a', part(3, 0, 2, [1]), 0)).toEqual({ kind: 'drop', reason: 'budgetSource' })
    expect(r.accept('b', part(1, 0, 2, [1]), 0).kind).toBe('pending')
    expect(r.accept('c', part(1, 0, 2, [1]), 0)).toEqual({ kind: 'drop', reason: 'budgetTotal' })
    // Completing a message frees its slot.
    expect(payloadOf(r.accept('a', part(1, 1, 2, [2]), 0))).toEqual(Uint8Array.from([1, 2]))
    expect(r.accept('c', part(1, 0, 2, [1]), 0).kind).toBe('pending')
  })

  it('abandons a message that would exceed the byte budgets', () => {
    const r = new Reassembler({ ...roomy, maxMessageSize: 10, maxBytesPerSource: 10, maxBytes: 12 })
    expect(r.accept('a', part(1, 0, 3, [1, 1, 1, 1]), 0).kind).toBe('pending')
    expect(r.accept('a', part(2, 0, 2, [1, 1, 1, 1, 1]), 0).kind).toBe('pending')
    // a holds 9 bytes; 4 more for message 1 do not fit: message 1 is abandoned.
    expect(r.accept('a', part(1, 1, 3, [1, 1, 1, 1]), 0)).toEqual({
      kind: 'drop',
      reason: 'budgetSource',
    })
    expect(r.sourceUsage('a')).toEqual({ messages: 1, bytes: 5 })
    expect(r.accept('a', part(1, 2, 3, [1]), 0)).toEqual({ kind: 'drop', reason: 'stale' })
    expect(r.counters().droppedMessages.budget).toBe(1)
    // The part that completes a message is accepted even at the limit.
    expect(r.accept('a', part(3, 0, 2, [1, 1, 1, 1, 1]), 0).kind).toBe('pending')
    expect(r.accept('a', part(2, 1, 2, [2]), 0).kind).toBe('message')
    // Total budget: a holds 5, b may add 7 more at most.
    expect(r.accept('b', part(1, 0, 2, [1, 1, 1, 1, 1, 1, 1, 1]), 0)).toEqual({
      kind: 'drop',
      reason: 'budgetTotal',
    })
    expect(r.accept('b', part(1, 0, 2, [1, 1, 1, 1, 1]), 0).kind).toBe('pending')
    expect(r.usage().bytes).toBe(10)
  })

  it('expires incomplete messages and tombstones, and reports the next deadline', () => {
    const r = new Reassembler(roomy)
    expect(r.nextDeadline()).toBeUndefined()
    r.accept('a', part(1, 0, 2, [1]), 100)
    r.accept('a', part(2, 0, 2, [1]), 200)
    expect(r.nextDeadline()).toBe(1100)
    r.expire(1099)
    expect(r.usage().messages).toBe(2)
    r.expire(1100)
    expect(r.usage().messages).toBe(1)
    expect(r.nextDeadline()).toBe(1200)
    r.expire(5000)
    expect(r.usage()).toEqual({ messages: 0, bytes: 0, tombstones: 0, sources: 0 })
    expect(r.counters().droppedMessages.expired).toBe(2)
  })

  it('forgets the oldest tombstone when full', () => {
    const r = new Reassembler({ ...roomy, maxTombstones: 2 })
    for (const id of [1, 2, 3]) {
      r.accept('a', part(id, 0, 2, [1]), 0)
      r.accept('a', part(id, 1, 2, [1]), 0)
    }
    expect(r.usage().tombstones).toBe(2)
    expect(r.counters().tombstonesEvicted).toBe(1)
    expect(r.accept('a', part(1, 0, 2, [1]), 0).kind).toBe('pending')
    expect(r.accept('a', part(3, 0, 2, [1]), 0)).toEqual({ kind: 'drop', reason: 'stale' })
  })

  it('rejects inconsistent limits', () => {
    expect(() => new Reassembler({ ...roomy, timeoutMs: 0 })).toThrow(/timeoutMs/)
    expect(() => new Reassembler({ ...roomy, maxBytesPerSource: 10 })).toThrow(/maxBytesPerSource/)
    expect(() => new Reassembler({ ...roomy, maxBytes: roomy.maxBytesPerSource - 1 })).toThrow(
      /maxBytes/,
    )
  })
})
