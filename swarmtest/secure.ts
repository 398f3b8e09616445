/**
 * The Secure tests: a public key, and inside a callback `lookupPublicKey(msg.src)` answers
 * from memory with the sender's key, whose fingerprint matches the PeerID in the address.
 */
import assert from 'node:assert/strict'
import { extractPeerID } from '../core/index.js'
import type { Addr, AskSwarm, Message, Secure, Swarm } from '../core/index.js'
import { Collector } from './collector.js'
import { tag, tellUntilReceived } from './delivery.js'
import {
  type Resolved,
  type SecureTestOptions,
  type TestRunner,
  addrOf,
  withSwarms,
} from './harness.js'

const NOT_YET = Symbol('not resolved before the next event-loop turn')

/** Registers the secure tests. */
export function secureTests<A extends Addr, S extends Swarm<A>>(
  t: TestRunner,
  o: Resolved<A, S>,
  so: SecureTestOptions<unknown>,
): void {
  const { it } = t
  const secure = (s: S) => s as unknown as Secure<A, unknown> & S

  it('publicKey() is defined', () =>
    withSwarms(o, 1, async ([s]) => {
      const key = secure(s!).publicKey()
      assert.ok(key !== undefined && key !== null, 'publicKey() returned nothing')
    }))

  it("inside receive, lookupPublicKey(msg.src) answers from memory with the sender's key", () =>
    withSwarms(o, 2, async ([a, b], deadline) => {
      const expected = secure(a!).publicKey()
      const checks: Promise<void>[] = []
      // The lookup starts inside the receive callback, as an application's would.
      const c = new Collector(b!, (msg) => checks.push(checkSender(secure(b!), msg, expected, so)))
      await tellUntilReceived(a!, addrOf(b!), tag('who'), c, () => true, o.mayDrop, deadline)
      await Promise.all(checks)
    }))

  if (o.asks) {
    it("inside serveAsk, lookupPublicKey(req.src) answers from memory with the asker's key", () =>
      withSwarms(o, 2, async ([a, b]) => {
        const server = b as unknown as AskSwarm<A> & Secure<A, unknown>
        let result: Promise<void> = Promise.resolve()
        const served = server.serveAsk(async (req) => {
          result = checkSender(server, req, secure(a!).publicKey(), so)
          await result.catch(() => {})
          return tag('ok')
        })
        await (a as unknown as AskSwarm<A>).ask(addrOf(b!), tag('who'))
        await served
        await result
      }))
  }
}

async function checkSender<A extends Addr>(
  receiver: Secure<A, unknown>,
  msg: Message<A>,
  expected: unknown,
  so: SecureTestOptions<unknown>,
): Promise<void> {
  const lookup = receiver.lookupPublicKey(msg.src)
  const nextTurn = new Promise<typeof NOT_YET>((resolve) => setImmediate(() => resolve(NOT_YET)))
  const key = await Promise.race([lookup, nextTurn])
  assert.notEqual(
    key,
    NOT_YET,
    'lookupPublicKey(msg.src) inside a callback needed I/O (did not resolve from memory)',
  )
  if (so.keyEquals)
    assert.ok(so.keyEquals(key, expected), "lookupPublicKey(msg.src) is not the sender's key")
  else assert.deepEqual(key, expected, "lookupPublicKey(msg.src) is not the sender's key")
  const id = extractPeerID(msg.src)
  if (id !== undefined && so.fingerprint) {
    const fp = await so.fingerprint(key)
    assert.ok(
      fp.equals(id),
      `fingerprint of the key (${fp}) differs from the PeerID in msg.src (${id})`,
    )
  }
}
