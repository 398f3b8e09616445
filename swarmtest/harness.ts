/**
 * The suite's plumbing: the runner it is given, the options a swarm declares, per-test
 * deadlines, and making and closing the swarms under test.
 */
import { setMaxListeners } from 'node:events'
import type { Addr, PeerID, Swarm } from '../core/index.js'

/** Fraction of tells a swarm that may drop must still deliver, by default (go-p2p's tolerance). */
export const MIN_DELIVERY_RATIO = 0.75

/**
 * The test runner, as vitest, node:test and mocha all provide it. The suite calls only
 * `describe(name, fn)` and `it(name, fn)`; it keeps its own per-test deadline (`timeoutMs`), so
 * give the runner a larger timeout than that (vitest: `testTimeout`, mocha: `this.timeout`).
 */
export interface TestRunner {
  describe(name: string, fn: () => void): unknown
  it(name: string, fn: () => Promise<void>): unknown
}

/** What a swarm under test declares about itself, and how to make it. */
export interface SwarmTestOptions<A extends Addr, S extends Swarm<A> = Swarm<A>> {
  /** Makes `n` fresh swarms that can all reach each other. Called once per test. */
  make(n: number): Promise<S[]>
  /** Runs after each test has closed its swarms (e.g. to stop a relay). */
  cleanup?(): Promise<void>
  /** The swarm may lose tells: counts need only reach 75%, and single tells are retried. */
  mayDrop?: boolean
  /**
   * With `mayDrop`, the fraction of tells that must still arrive (default 0.75, go-p2p's
   * tolerance). Lower it only for a swarm configured to lose that much on purpose.
   */
  minDeliveryRatio?: number
  /** The swarm may deliver tells out of order: no per-sender order is checked. */
  mayReorder?: boolean
  /** The swarm may deliver a tell more than once: duplicates are tolerated (never corruption). */
  mayDuplicate?: boolean
  /**
   * Smallest tell payload the swarm carries (default 0). Only for wire protocols that cannot
   * carry an empty message (P2PKE reserves it for keepalives); such a swarm must reject a
   * smaller tell with a RangeError, which the suite checks.
   */
  minPayloadSize?: number
  /** Run the ask tests (the swarms must implement `Asker`). */
  asks?: boolean
  /** Run the secure tests (the swarms must implement `Secure`). */
  secure?: SecureTestOptions<unknown>
  /** Largest ask request and response to test (default: `swarm.mtu(dst)`). */
  maxAskSize?(swarm: S, dst: A): number
  /** Each test's own deadline in ms (default 30 000). */
  timeoutMs?: number
  /** Swarms in the all-pairs tests (default 10). */
  pairs?: number
  /** Property-test runs per property (default 25). */
  numRuns?: number
  /** Check that closing every swarm leaves no open handles (default true). */
  checkHandles?: boolean
}

/** Options of the secure tests. */
export interface SecureTestOptions<Pub> {
  /** The PeerID a key maps to; checked against the PeerID in `msg.src` where it has one. */
  fingerprint?(pub: Pub): PeerID | Promise<PeerID>
  /** Key equality (default: `node:assert`'s deep strict equality). */
  keyEquals?(a: Pub, b: Pub): boolean
}

/** Options with defaults filled in. */
export type Resolved<A extends Addr, S extends Swarm<A>> = SwarmTestOptions<A, S> & {
  timeoutMs: number
  pairs: number
  numRuns: number
  minDeliveryRatio: number
}

/** Fills in defaults. */
export function resolve<A extends Addr, S extends Swarm<A>>(
  opts: SwarmTestOptions<A, S>,
): Resolved<A, S> {
  return {
    ...opts,
    timeoutMs: opts.timeoutMs ?? 30_000,
    pairs: opts.pairs ?? 10,
    numRuns: opts.numRuns ?? 25,
    minDeliveryRatio: opts.minDeliveryRatio ?? MIN_DELIVERY_RATIO,
  }
}

/**
 * Runs `fn` with `n` fresh swarms and a signal that aborts at the test's deadline; closes the
 * swarms (and runs `cleanup`) whatever happens.
 */
export async function withSwarms<A extends Addr, S extends Swarm<A>>(
  opts: Resolved<A, S>,
  n: number,
  fn: (swarms: S[], deadline: AbortSignal) => Promise<void>,
): Promise<void> {
  const deadline = new AbortController()
  // One deadline is shared by every call and collector of the test.
  setMaxListeners(0, deadline.signal)
  const timer = setTimeout(
    () => deadline.abort(new Error(`swarmtest: test did not finish within ${opts.timeoutMs} ms`)),
    opts.timeoutMs,
  )
  const swarms = await opts.make(n)
  try {
    if (swarms.length !== n) throw new Error(`make(${n}) returned ${swarms.length} swarms`)
    await raceDeadline(fn(swarms, deadline.signal), deadline.signal)
  } finally {
    clearTimeout(timer)
    await Promise.all(swarms.map((s) => s.close()))
    await opts.cleanup?.()
  }
}

/** Rejects with the deadline's reason if it aborts first. */
export function raceDeadline<T>(p: Promise<T>, deadline: AbortSignal): Promise<T> {
  if (deadline.aborted) return Promise.reject(deadline.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadline.reason)
    deadline.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => deadline.removeEventListener('abort', onAbort))
  })
}

/** A promise that settles after `ms`, or rejects when `signal` aborts. Used only for deadlines and retry pacing. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal?.reason)
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The address `from` uses to reach `to`: `to`'s first local address. */
export function addrOf<A extends Addr>(to: Swarm<A>): A {
  const addrs = to.localAddrs()
  if (addrs.length === 0) throw new Error('swarm has no local addresses')
  return addrs[0]!
}
