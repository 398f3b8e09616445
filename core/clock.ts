/**
 * Time, injectable. Timer-driven code takes a `Clock` so tests can drive it with
 * `p2ptest`'s `ManualClock` instead of sleeping.
 */

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since some fixed epoch (monotonic for `systemClock`). */
  now(): number
  /** Calls `fn` once after `ms`; returns a function that cancels it (idempotent). */
  setTimeout(fn: () => void, ms: number): () => void
}

/** The real clock: `performance.now()` and the event loop's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    return () => clearTimeout(t)
  },
}

/** Milliseconds since the Unix epoch on the wall clock (for timestamps that leave the host). */
export function wallClockMs(): number {
  return Date.now()
}
