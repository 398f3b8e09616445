/**
 * swarmtest: the conformance suite every swarm must pass, ours or yours.
 *
 * ```ts
 * import { describe, it } from 'vitest'            // or node:test, or mocha's globals
 * import { runSwarmTests } from 'swarmwire/swarmtest'
 * runSwarmTests({ describe, it }, 'my swarm', { make: async (n) => makeMySwarms(n), asks: true })
 * ```
 */
import type { Addr, Swarm } from '../core/index.js'
import { addrTests } from './addr.js'
import { askTests } from './ask.js'
import { type SwarmTestOptions, type TestRunner, resolve } from './harness.js'
import { secureTests } from './secure.js'
import { swarmTests } from './swarm.js'

export { Collector } from './collector.js'
export { tellUntilReceived } from './delivery.js'
export { assertNoNewHandles, handleSnapshot } from './handles.js'
export type { SecureTestOptions, SwarmTestOptions, TestRunner } from './harness.js'
export { MIN_DELIVERY_RATIO } from './harness.js'
export { pseudoRandomBytes } from './swarm.js'

/**
 * Registers the whole suite under `describe(name)`: the Swarm and address tests always, the
 * ask tests when `opts.asks`, the secure tests when `opts.secure`. Checks of integrity, mtu and
 * close are never relaxed; `mayDrop`/`mayDuplicate`/`mayReorder` only relax counts and order.
 */
export function runSwarmTests<A extends Addr, S extends Swarm<A>>(
  runner: TestRunner,
  name: string,
  opts: SwarmTestOptions<A, S>,
): void {
  const o = resolve(opts)
  runner.describe(`swarmtest: ${name}`, () => {
    runner.describe('swarm', () => swarmTests(runner, o))
    runner.describe('addresses', () => addrTests(runner, o))
    if (o.asks) runner.describe('asks', () => askTests(runner, o))
    if (o.secure) {
      const so = o.secure
      runner.describe('secure', () => secureTests(runner, o, so))
    }
  })
}
