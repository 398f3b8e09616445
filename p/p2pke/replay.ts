/**
 * The anti-replay sliding window of RFC 6479 as WireGuard implements it (wireguard-go
 * `replay/replay.go`, Linux `counter_validate`): a ring of 128 blocks of 64 bits, one block
 * kept spare so that the window can slide by whole blocks. It remembers the highest counter
 * accepted and which of the `REPLAY_WINDOW_SIZE` (8128) counters below it were seen.
 *
 * A counter is accepted once; a counter seen before, more than the window below the highest
 * one, or at or above the limit is refused. Memory is constant (1 KiB) whatever the peer sends.
 *
 * Call `accept` only for a message whose authentication tag verified: a forged counter must not
 * move the window. `check` answers the same question without recording anything, so a receiver
 * can skip the decryption of an obvious replay.
 *
 * Counters are JavaScript numbers (safe integers, up to 2^53 − 1): P2PKE's are 32-bit.
 */
import { REPLAY_WINDOW_SIZE } from './constants.js'

const BLOCK_BITS = 64
const RING_BLOCKS = 128

/** RFC 6479 / WireGuard replay window. */
export class ReplayWindow {
  /** Counters at or above this are always refused. */
  readonly limit: number
  // Each 64-bit block is two 32-bit words: [low 32 bits, high 32 bits].
  readonly #ring = new Uint32Array(RING_BLOCKS * 2)
  #last = 0

  /**
   * A fresh window: nothing seen, highest counter 0 (so counter 0 is accepted once).
   * `limit` (default 2^53 − 1) is a safe integer; P2PKE uses `MAX_NONCE`.
   */
  constructor(limit: number = Number.MAX_SAFE_INTEGER) {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative safe integer, got ${limit}`)
    }
    this.limit = limit
  }

  /** The highest counter accepted so far (0 for a fresh window). */
  get highest(): number {
    return this.#last
  }

  /** True when `accept(counter)` would accept; records nothing. */
  check(counter: number): boolean {
    if (!isCounter(counter) || counter >= this.limit) return false
    if (counter > this.#last) return true
    if (this.#last - counter > REPLAY_WINDOW_SIZE) return false
    const [word, mask] = position(counter)
    return (this.#ring[word]! & mask) === 0
  }

  /**
   * Accepts and records `counter` when it is below the limit, within the window and not seen
   * before; returns false (changing nothing) otherwise. Non-integers and negatives are refused.
   */
  accept(counter: number): boolean {
    if (!isCounter(counter) || counter >= this.limit) return false
    if (counter > this.#last) {
      // Slide forward: clear the blocks the window moves over (all of them at most).
      const current = Math.floor(this.#last / BLOCK_BITS)
      const diff = Math.min(Math.floor(counter / BLOCK_BITS) - current, RING_BLOCKS)
      for (let i = current + 1; i <= current + diff; i++) {
        const b = (i % RING_BLOCKS) * 2
        this.#ring[b] = 0
        this.#ring[b + 1] = 0
      }
      this.#last = counter
    } else if (this.#last - counter > REPLAY_WINDOW_SIZE) {
      return false
    }
    const [word, mask] = position(counter)
    const old = this.#ring[word]!
    if ((old & mask) !== 0) return false
    this.#ring[word] = old | mask
    return true
  }

  /** Forgets everything: the window is as new. */
  reset(): void {
    this.#ring.fill(0)
    this.#last = 0
  }
}

function isCounter(c: number): boolean {
  return Number.isSafeInteger(c) && c >= 0
}

/** The ring word holding `counter`'s bit, and the bit's mask. */
function position(counter: number): [number, number] {
  // `%` rather than a mask: bitwise operators would truncate block numbers above 2^32.
  const block = Math.floor(counter / BLOCK_BITS) % RING_BLOCKS
  const bit = counter % BLOCK_BITS
  return [block * 2 + (bit >>> 5), (1 << (bit & 31)) >>> 0]
}
