/**
 * The suite tested against deliberately broken swarms: each mutant must fail the test that
 * guards its broken promise, and a correct swarm must pass it. A suite that cannot fail is
 * worth nothing.
 */
import { describe, expect, it } from 'vitest'
import { ClosedError, payloadConcat, prepend } from '../core/index.js'
import type { AskHandler, CallOptions, Message, Payload } from '../core/index.js'
import { type MemAddr, type MemSwarm, Realm, type SecureMemSwarm } from '../s/memswarm/index.js'
import { runSwarmTests } from './index.js'
import type { SwarmTestOptions, TestRunner } from './index.js'

/** A runner that records tests instead of running them. */
function capture(): { runner: TestRunner; tests: Map<string, () => Promise<void>> } {
  const tests = new Map<string, () => Promise<void>>()
  const path: string[] = []
  const runner: TestRunner = {
    describe(name, fn) {
      path.push(name)
      fn()
      path.pop()
    },
    it(name, fn) {
      tests.set([...path, name].join(' > '), fn)
    },
  }
  return { runner, tests }
}

function find(tests: Map<string, () => Promise<void>>, part: string): () => Promise<void> {
  const hits = [...tests.keys()].filter((k) => k.includes(part))
  if (hits.length !== 1) throw new Error(`expected one test matching ${part}, got ${hits.length}`)
  return tests.get(hits[0]!)!
}

/** A memswarm node with some methods overridden. */
function mutant(
  inner: SecureMemSwarm<Uint8Array>,
  patch: Partial<Record<string, unknown>>,
): MemSwarm {
  return new Proxy(inner, {
    get: (target, prop) => {
      if (typeof prop === 'string' && prop in patch) return patch[prop]
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

type Patch = (s: SecureMemSwarm<Uint8Array>) => Partial<Record<string, unknown>>

function mutants(patch: Patch): SwarmTestOptions<MemAddr, MemSwarm> {
  return {
    make: async (n) => {
      const realm = new Realm({ mtu: 2000 })
      return Array.from({ length: n }, (_, i) => {
        const s = realm.newSecureSwarm(new Uint8Array(32).fill(i))
        return mutant(s, patch(s))
      })
    },
    asks: true,
    secure: {},
    numRuns: 10,
    pairs: 4,
    timeoutMs: 3000,
  }
}

const cases: Array<{ test: string; why: string; patch: Patch }> = [
  {
    test: 'payloads of random sizes',
    why: 'flips a bit of every payload',
    patch: (s) => ({
      tell: (dst: MemAddr, data: Payload) => {
        const bytes = payloadConcat(data).slice()
        if (bytes.length > 0) bytes[bytes.length - 1]! ^= 1
        return s.tell(dst, bytes)
      },
    }),
  },
  {
    test: 'exactly mtu(dst)',
    why: 'reports an mtu one byte smaller than it accepts',
    patch: (s) => ({ mtu: (dst: MemAddr) => s.mtu(dst) - 1 }),
  },
  {
    test: 'a pending receive rejects with ERR_CLOSED',
    why: 'leaves a pending receive hanging on close',
    patch: (s) => ({
      receive: (fn: (m: Message<MemAddr>) => void, opts?: CallOptions) =>
        s.closed ? new Promise(() => {}) : s.receive(fn, opts).catch(() => new Promise(() => {})),
    }),
  },
  {
    test: 'leaves no open handles',
    why: 'keeps a timer running after close',
    patch: (s) => ({
      close: () => {
        setTimeout(() => {}, 60_000)
        return s.close()
      },
    }),
  },
  {
    test: 'an aborted receive',
    why: 'ignores the signal of receive',
    patch: (s) => ({ receive: (fn: (m: Message<MemAddr>) => void) => s.receive(fn) }),
  },
  {
    test: 'the sender may reuse its buffers',
    why: 'keeps a reference to the caller buffer and delivers it later',
    patch: (s) => ({
      tell: async (dst: MemAddr, data: Payload) => {
        const view = payloadConcat(data)
        setImmediate(() => void s.tell(dst, view).catch(() => {}))
      },
    }),
  },
  {
    test: 'a throwing handler gives ERR_ASK',
    why: 'turns handler throws into empty responses',
    patch: (s) => ({
      serveAsk: (h: AskHandler<MemAddr>, opts?: CallOptions) =>
        s.serveAsk(async (req, ctx) => {
          try {
            return await h(req, ctx)
          } catch {
            return new Uint8Array(0)
          }
        }, opts),
    }),
  },
  {
    test: 'multi-part requests and responses',
    why: 'drops all but the first part of a response',
    patch: (s) => ({
      serveAsk: (h: AskHandler<MemAddr>, opts?: CallOptions) =>
        s.serveAsk(async (req, ctx) => {
          const res = await h(req, ctx)
          return res instanceof Uint8Array ? res : res[0]!
        }, opts),
    }),
  },
  {
    test: 'parseAddr rejects garbage',
    why: 'throws a TypeError instead of ERR_BAD_ADDR',
    patch: () => ({
      parseAddr: () => {
        throw new TypeError('nope')
      },
    }),
  },
  {
    test: 'inside receive, lookupPublicKey',
    why: 'needs a timer (I/O) to answer lookupPublicKey',
    patch: (s) => ({
      lookupPublicKey: (a: MemAddr) =>
        new Promise((r) => setTimeout(() => r(s.lookupPublicKey(a)), 5)),
    }),
  },
  {
    test: 'pending serveAsk and ask reject with ERR_CLOSED',
    why: 'resolves a pending ask with an empty response on close',
    patch: (s) => ({
      ask: (dst: MemAddr, req: Payload, opts?: CallOptions) =>
        s.ask(dst, prepend(new Uint8Array(0), req), opts).catch((e) => {
          if (e instanceof ClosedError) return new Uint8Array(0)
          throw e
        }),
    }),
  },
]

describe('swarmtest catches broken swarms', () => {
  for (const c of cases) {
    it(`fails "${c.test}" for a swarm that ${c.why}, passes it for memswarm`, async () => {
      const bad = capture()
      runSwarmTests(bad.runner, 'mutant', mutants(c.patch))
      await expect(find(bad.tests, c.test)()).rejects.toThrow()
      const good = capture()
      runSwarmTests(
        good.runner,
        'memswarm',
        mutants(() => ({})),
      )
      await find(good.tests, c.test)()
    })
  }
})
