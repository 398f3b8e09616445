/**
 * The Swarm tests: tell/receive, sizes and integrity, replies, close and abort.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  SeededRandom,
  bytesEqual,
  isClosedError,
  isMTUExceededError,
  payloadConcat,
} from '../core/index.js'
import type { Addr, Message, Swarm } from '../core/index.js'
import { Collector } from './collector.js'
import { tag, tagText, tellUntilReceived } from './delivery.js'
import { type Resolved, type TestRunner, addrOf, withSwarms } from './harness.js'
import { assertNoNewHandles, handleSnapshot } from './handles.js'

/** How long a lossy swarm may stay quiet before counting what arrived. */
const QUIET_MS = 1500

/** Registers the Swarm tests. */
export function swarmTests<A extends Addr, S extends Swarm<A>>(
  t: TestRunner,
  o: Resolved<A, S>,
): void {
  const { it } = t

  it('localAddrs() is not empty', () =>
    withSwarms(o, 1, async ([s]) => {
      assert.ok(s!.localAddrs().length > 0, 'localAddrs() is empty')
    }))

  it('one tell arrives intact', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const c = new Collector(b!)
      const m = await tellUntilReceived(
        a!,
        addrOf(b!),
        tag('hello'),
        c,
        isTag('hello'),
        o.mayDrop,
        deadline,
      )
      assert.equal(tagText(m.payload), 'hello')
      assert.ok(isLocal(b!, m.dst), `msg.dst ${m.dst} is not one of the receiver's localAddrs()`)
    }))

  it('msg.src can be told back to, and the reply arrives', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const ca = new Collector(a!)
      const cb = new Collector(b!)
      const m = await tellUntilReceived(
        a!,
        addrOf(b!),
        tag('ping'),
        cb,
        isTag('ping'),
        o.mayDrop,
        deadline,
      )
      const reply = await tellUntilReceived(
        b!,
        m.src,
        tag('pong'),
        ca,
        isTag('pong'),
        o.mayDrop,
        deadline,
      )
      assert.ok(
        isLocal(a!, reply.dst),
        `reply dst ${reply.dst} is not one of the sender's localAddrs()`,
      )
    }))

  it(`tells between all ordered pairs of ${o.pairs} swarms arrive`, () =>
    withSwarms(o, o.pairs, async (swarms, deadline) => {
      const collectors = swarms.map((s) => new Collector(s))
      await Promise.all(
        swarms.flatMap((from, i) =>
          swarms.map((to, j) => (i === j ? undefined : from.tell(addrOf(to), tag('pair', i, j)))),
        ),
      )
      const n = swarms.length
      const expected = n * (n - 1)
      const distinct = () =>
        collectors.reduce(
          (sum, c, j) => sum + distinctTags(c.received, (text) => text.endsWith(`:${j}`)),
          0,
        )
      await Promise.all(
        collectors.map((c, j) =>
          c.until(
            () => distinctTags(c.received, (x) => x.endsWith(`:${j}`)) >= n - 1,
            deadline,
            o.mayDrop ? QUIET_MS : undefined,
          ),
        ),
      )
      for (const [j, c] of collectors.entries()) {
        for (const m of c.received) {
          const [kind, i, to] = tagText(m.payload).split(':')
          assert.equal(kind, 'pair', 'unexpected payload')
          assert.equal(Number(to), j, `swarm ${j} received a message meant for ${to}`)
          assert.ok(Number(i) !== j && Number(i) < n, `bad sender index ${i}`)
        }
        if (!o.mayDuplicate)
          assert.equal(
            c.received.length,
            distinctTags(c.received, () => true),
            `swarm ${j} got duplicates`,
          )
      }
      assertDelivered(distinct(), expected, o)
    }))

  it('concurrent bidirectional tells arrive (in order per sender unless mayReorder)', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const K = 50
      const ca = new Collector(a!)
      const cb = new Collector(b!)
      const send = (from: S, to: S, name: string) =>
        Promise.all(Array.from({ length: K }, (_, k) => from.tell(addrOf(to), tag(name, k))))
      await Promise.all([send(a!, b!, 'ab'), send(b!, a!, 'ba')])
      const quiet = o.mayDrop ? QUIET_MS : undefined
      await Promise.all([
        ca.until(() => distinctTags(ca.received, () => true) >= K, deadline, quiet),
        cb.until(() => distinctTags(cb.received, () => true) >= K, deadline, quiet),
      ])
      for (const [c, name] of [
        [ca, 'ba'],
        [cb, 'ab'],
      ] as const) {
        const seq = c.received.map((m) => tagText(m.payload))
        for (const text of seq) assert.ok(text.startsWith(`${name}:`), `unexpected payload ${text}`)
        assertDelivered(new Set(seq).size, K, o)
        if (!o.mayReorder && !o.mayDrop && !o.mayDuplicate) {
          assert.deepEqual(
            seq,
            Array.from({ length: K }, (_, k) => `${name}:${k}`),
            'messages from one sender arrived out of order',
          )
        }
      }
    }))

  if ((o.minPayloadSize ?? 0) > 0) {
    it('a tell smaller than the declared minimum is rejected with a RangeError', () =>
      withSwarms(o, 2, async ([a, b]) => {
        await assert.rejects(a!.tell(addrOf(b!), new Uint8Array(0)), RangeError)
      }))
  }

  it('payloads of random sizes 0..mtu arrive intact (property)', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const dst = addrOf(b!)
      const mtu = a!.mtu(dst)
      const c = new Collector(b!)
      const sent: Uint8Array[] = []
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: o.minPayloadSize ?? 0, max: mtu }),
          fc.integer(),
          async (size, seed) => {
            const payload = pseudoRandomBytes(size, seed)
            sent.push(payload)
            const original = payload.slice()
            const m = await tellUntilReceived(
              a!,
              dst,
              payload,
              c,
              (x) => bytesEqual(x.payload, original),
              o.mayDrop,
              deadline,
            )
            assert.ok(bytesEqual(payload, original), 'tell modified the caller buffer')
            assert.equal(m.payload.length, size)
          },
        ),
        { numRuns: o.numRuns },
      )
      // Nothing arrived that was not sent: corruption would show up as an unknown payload.
      for (const m of c.received) {
        assert.ok(
          sent.some((p) => bytesEqual(p, m.payload)),
          `received a payload that was never sent (${m.payload.length} bytes)`,
        )
      }
    }))

  it('a payload of exactly mtu(dst) is accepted and mtu(dst)+1 rejected with ERR_MTU_EXCEEDED', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const dst = addrOf(b!)
      const mtu = a!.mtu(dst)
      assert.ok(Number.isInteger(mtu) && mtu > 0, `mtu(dst) must be a positive integer, got ${mtu}`)
      assert.ok(b!.maxIncomingSize() >= mtu, 'maxIncomingSize() is below the sender mtu')
      const c = new Collector(b!)
      const big = pseudoRandomBytes(mtu, 7)
      await tellUntilReceived(
        a!,
        dst,
        big,
        c,
        (m) => bytesEqual(m.payload, big),
        o.mayDrop,
        deadline,
      )
      await assert.rejects(
        a!.tell(dst, new Uint8Array(mtu + 1)),
        (e) => isMTUExceededError(e),
        'mtu+1 was not rejected with ERR_MTU_EXCEEDED',
      )
      await assert.rejects(a!.tell(dst, [new Uint8Array(mtu), new Uint8Array(1)]), (e) =>
        isMTUExceededError(e),
      )
    }))

  it('multi-part payloads arrive concatenated and the parts stay unchanged', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const c = new Collector(b!)
      const parts = [
        tag('multi'),
        new Uint8Array(0),
        pseudoRandomBytes(33, 1),
        new Uint8Array([0, 255]),
      ]
      const copies = parts.map((p) => p.slice())
      const whole = payloadConcat(copies)
      const m = await tellUntilReceived(
        a!,
        addrOf(b!),
        parts,
        c,
        (x) => bytesEqual(x.payload, whole),
        o.mayDrop,
        deadline,
      )
      assert.ok(bytesEqual(m.payload, whole))
      for (const [i, p] of parts.entries())
        assert.ok(bytesEqual(p, copies[i]!), `part ${i} was modified`)
    }))

  it('the sender may reuse its buffers once tell() resolves', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const K = 20
      const c = new Collector(b!)
      for (let k = 0; k < K; k++) {
        const buf = tag('reuse', k)
        await a!.tell(addrOf(b!), buf)
        buf.fill(0x2a)
      }
      await c.until(
        () => distinctTags(c.received, () => true) >= K,
        deadline,
        o.mayDrop ? QUIET_MS : undefined,
      )
      const texts = c.received.map((m) => tagText(m.payload))
      for (const text of texts)
        assert.match(text, /^reuse:\d+$/, 'a received payload changed with the sender buffer')
      assertDelivered(new Set(texts).size, K, o)
    }))

  it('close: a pending receive rejects with ERR_CLOSED, later calls too, close twice is fine', () =>
    withSwarms(o, 2, async ([a, b]) => {
      const pending = a!.receive(() => {})
      const dst = addrOf(b!)
      const first = a!.close()
      const second = a!.close()
      await assert.rejects(pending, isClosedError, 'pending receive did not reject with ERR_CLOSED')
      await first
      await second
      await assert.rejects(
        a!.receive(() => {}),
        isClosedError,
        'receive after close',
      )
      await assert.rejects(a!.tell(dst, tag('x')), isClosedError, 'tell after close')
    }))

  if (o.checkHandles !== false) {
    it('closing every swarm leaves no open handles', async () => {
      const before = handleSnapshot()
      await withSwarms(o, 3, async ([a, b, c], deadline) => {
        const cb = new Collector(b!)
        await tellUntilReceived(a!, addrOf(b!), tag('h'), cb, isTag('h'), o.mayDrop, deadline)
        void c
      })
      await assertNoNewHandles(before)
    })
  }

  it('an aborted receive rejects with the signal reason and the next message goes to the next receive', () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const reason = new Error('test abort')
      const ac = new AbortController()
      const pending = b!.receive(() => assert.fail('aborted receive got a message'), {
        signal: ac.signal,
      })
      ac.abort(reason)
      await assert.rejects(pending, (e) => e === reason, 'did not reject with signal.reason')
      const pre = new AbortController()
      pre.abort(reason)
      await assert.rejects(
        b!.receive(() => {}, { signal: pre.signal }),
        (e) => e === reason,
      )
      await assert.rejects(
        a!.tell(addrOf(b!), tag('x'), { signal: pre.signal }),
        (e) => e === reason,
      )
      const c = new Collector(b!)
      await tellUntilReceived(
        a!,
        addrOf(b!),
        tag('after-abort'),
        c,
        isTag('after-abort'),
        o.mayDrop,
        deadline,
      )
    }))

  it('parseAddr round-trips every local address', () =>
    withSwarms(o, 2, async (swarms) => {
      for (const s of swarms) {
        for (const addr of s.localAddrs()) {
          const text = addr.toString()
          assert.equal(s.parseAddr(text).toString(), text, `parseAddr(${text}) did not round-trip`)
        }
      }
    }))
}

function isTag<A extends Addr>(text: string): (m: Message<A>) => boolean {
  return (m) => tagText(m.payload) === text
}

function isLocal<A extends Addr>(s: Swarm<A>, addr: A): boolean {
  return s.localAddrs().some((l) => l.toString() === addr.toString())
}

function distinctTags<A extends Addr>(msgs: Message<A>[], keep: (text: string) => boolean): number {
  return new Set(msgs.map((m) => tagText(m.payload)).filter(keep)).size
}

function assertDelivered(
  got: number,
  expected: number,
  o: { mayDrop?: boolean; minDeliveryRatio: number },
): void {
  if (o.mayDrop) {
    const min = Math.ceil(expected * o.minDeliveryRatio)
    assert.ok(
      got >= min,
      `only ${got} of ${expected} tells arrived (< ${o.minDeliveryRatio * 100}%)`,
    )
  } else {
    assert.equal(got, expected, `${got} of ${expected} tells arrived`)
  }
}

/** Deterministic bytes for a size and seed, so failures reproduce. */
export function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  return new SeededRandom(seed).bytes(size)
}
