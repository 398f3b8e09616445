import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ClosedError } from './errors.js'
import { Inbox } from './inbox.js'
import { ManualClock } from '../p2ptest/clock.js'

interface Item {
  id: number
  size: number
}

type Action =
  | { kind: 'put'; size: number }
  | { kind: 'take'; abortable: boolean }
  | { kind: 'abort'; which: number }
  | { kind: 'close' }

type Outcome =
  | { state: 'pending' }
  | { state: 'got'; id: number }
  | { state: 'rejected'; reason: unknown }

const settle = () => new Promise<void>((r) => setImmediate(r))

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('put' as const), size: fc.nat({ max: 40 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('take' as const), abortable: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const) }) },
)

describe('Inbox', () => {
  it('matches a model under random interleavings of put, take, abort and close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 120 }),
        async (actions, maxItems, maxBytes) => {
          const closeErr = new ClosedError()
          const dropped: Array<[number, string]> = []
          const inbox = new Inbox<Item>({
            maxItems,
            maxBytes,
            sizeOf: (i) => i.size,
            onDrop: (i, r) => dropped.push([i.id, r]),
          })
          // The model.
          const queue: Item[] = []
          const waiters: number[] = []
          let closed = false
          let flushedOnClose = 0
          const expected: Outcome[] = []
          const expectedDrops: Array<[number, string]> = []
          // The real thing.
          const outcomes: Outcome[] = []
          const controllers: (AbortController | undefined)[] = []
          let nextId = 0
          for (const a of actions) {
            if (a.kind === 'put') {
              const item = { id: nextId++, size: a.size }
              const accepted = inbox.put(item)
              const bytes = queue.reduce((n, i) => n + i.size, 0)
              if (closed) {
                expectedDrops.push([item.id, 'closed'])
                expect(accepted).toBe(false)
              } else if (waiters.length > 0) {
                expected[waiters.shift()!] = { state: 'got', id: item.id }
                expect(accepted).toBe(true)
              } else if (queue.length < maxItems && bytes + item.size <= maxBytes) {
                queue.push(item)
                expect(accepted).toBe(true)
              } else {
                expectedDrops.push([item.id, 'full'])
                expect(accepted).toBe(false)
              }
            } else if (a.kind === 'take') {
              const k = outcomes.length
              const ac = a.abortable ? new AbortController() : undefined
              controllers.push(ac)
              outcomes.push({ state: 'pending' })
              inbox.take({ signal: ac?.signal }).then(
                (item) => (outcomes[k] = { state: 'got', id: item.id }),
                (reason) => (outcomes[k] = { state: 'rejected', reason }),
              )
              if (closed) expected[k] = { state: 'rejected', reason: closeErr }
              else if (queue.length > 0) expected[k] = { state: 'got', id: queue.shift()!.id }
              else {
                expected[k] = { state: 'pending' }
                waiters.push(k)
              }
            } else if (a.kind === 'abort') {
              if (controllers.length === 0) continue
              const k = a.which % controllers.length
              const ac = controllers[k]
              if (ac === undefined || ac.signal.aborted) continue
              const reason = new Error(`abort ${k}`)
              ac.abort(reason)
              const w = waiters.indexOf(k)
              if (w >= 0) {
                waiters.splice(w, 1)
                expected[k] = { state: 'rejected', reason }
              }
            } else {
              inbox.close(closeErr)
              if (!closed) {
                for (const k of waiters) expected[k] = { state: 'rejected', reason: closeErr }
                waiters.length = 0
                for (const i of queue) expectedDrops.push([i.id, 'closed'])
                flushedOnClose += queue.length
                queue.length = 0
              }
              closed = true
            }
            await settle()
            expect(outcomes).toEqual(expected)
            expect(inbox.length).toBe(queue.length)
            expect(inbox.bytes).toBe(queue.reduce((n, i) => n + i.size, 0))
          }
          expect(dropped).toEqual(expectedDrops)
          const st = inbox.stats()
          expect(st.droppedFull).toBe(expectedDrops.filter(([, r]) => r === 'full').length)
          expect(st.droppedClosed).toBe(expectedDrops.filter(([, r]) => r === 'closed').length)
          // Conservation: every accepted item is handed out, still queued, or dropped on close.
          expect(st.accepted).toBe(st.handed + st.queued + flushedOnClose)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('never hands an item to a waiter whose signal aborted in the same turn', async () => {
    const inbox = new Inbox<number>()
    const ac = new AbortController()
    const first = inbox.take({ signal: ac.signal })
    const second = inbox.take()
    ac.abort(new Error('gone'))
    inbox.put(1)
    await expect(first).rejects.toThrow('gone')
    await expect(second).resolves.toBe(1)
  })

  it('drops expired and dead items instead of handing them out', async () => {
    const clock = new ManualClock()
    let dead = new Set<number>()
    const inbox = new Inbox<number>({ maxAgeMs: 100, clock, isLive: (n) => !dead.has(n) })
    inbox.put(1)
    clock.advance(60)
    inbox.put(2)
    inbox.put(3)
    dead = new Set([3])
    clock.advance(60)
    // 1 is 120 ms old (expired), 2 is 60 ms old, 3 is dead.
    inbox.put(4)
    await expect(inbox.take()).resolves.toBe(2)
    await expect(inbox.take()).resolves.toBe(4)
    expect(inbox.stats().droppedExpired).toBe(2)
  })

  it('makes room by purging dead items when full', () => {
    const clock = new ManualClock()
    const inbox = new Inbox<number>({ maxItems: 2, maxAgeMs: 10, clock })
    inbox.put(1)
    inbox.put(2)
    expect(inbox.put(3)).toBe(false)
    clock.advance(11)
    expect(inbox.put(4)).toBe(true)
    expect(inbox.stats()).toMatchObject({ droppedFull: 1, droppedExpired: 2, queued: 1 })
  })

  it('keeps FIFO order across many items (queue compaction)', async () => {
    const inbox = new Inbox<number>({ maxItems: 10_000 })
    for (let i = 0; i < 5000; i++) inbox.put(i)
    for (let i = 0; i < 3000; i++) expect(await inbox.take()).toBe(i)
    for (let i = 5000; i < 8000; i++) inbox.put(i)
    for (let i = 3000; i < 8000; i++) expect(await inbox.take()).toBe(i)
    expect(inbox.length).toBe(0)
  })

  it('rejects bad limits', () => {
    expect(() => new Inbox({ maxItems: 0 })).toThrow(RangeError)
    expect(() => new Inbox({ maxBytes: -1 })).toThrow(RangeError)
  })
})
