/**
 * Address tests: canonical text, garbage rejected with ERR_BAD_ADDR.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { isBadAddrError } from '../core/index.js'
import type { Addr, Swarm } from '../core/index.js'
import { type Resolved, type TestRunner, withSwarms } from './harness.js'

const GARBAGE = [
  '',
  ' ',
  '\u0000',
  'not an address',
  '::::',
  '[',
  '@',
  '://',
  'x'.repeat(10_000),
  '\ud800',
  '%',
  '-1',
]

/** Registers the address tests. */
export function addrTests<A extends Addr, S extends Swarm<A>>(
  t: TestRunner,
  o: Resolved<A, S>,
): void {
  const { it } = t

  it('parseAddr rejects garbage with ERR_BAD_ADDR', () =>
    withSwarms(o, 1, async ([s]) => {
      for (const text of GARBAGE) {
        assert.throws(
          () => s!.parseAddr(text),
          isBadAddrError,
          `parseAddr(${JSON.stringify(text.slice(0, 40))}) did not throw ERR_BAD_ADDR`,
        )
      }
    }))

  it('parseAddr on random and mutated text throws ERR_BAD_ADDR or returns a canonical address (property)', () =>
    withSwarms(o, 1, async ([s]) => {
      const valid = s!.localAddrs().map((a) => a.toString())
      const mutated = fc
        .tuple(fc.constantFrom(...valid), fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
        .map(([text, at, insert, cut]) => {
          const i = at % (text.length + 1)
          return text.slice(0, i) + insert + text.slice(i + cut)
        })
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), mutated), (text) => {
          let addr: A
          try {
            addr = s!.parseAddr(text)
          } catch (e) {
            assert.ok(
              isBadAddrError(e),
              `parseAddr(${JSON.stringify(text)}) threw ${String(e)} instead of ERR_BAD_ADDR`,
            )
            return
          }
          const canonical = addr.toString()
          assert.equal(
            s!.parseAddr(canonical).toString(),
            canonical,
            `text of parseAddr(${JSON.stringify(text)}) does not round-trip`,
          )
        }),
        { numRuns: o.numRuns * 20 },
      )
    }))
}
