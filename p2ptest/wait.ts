/**
 * Waiting in tests for a condition with no event of its own (a counter in `stats()`, a socket
 * handle going away): checked once per event-loop turn, so I/O keeps flowing, with a deadline
 * that fails the test with a message saying what never happened.
 */

/** Options of `waitUntil`. */
export interface WaitOptions {
  /** Give up after this many ms (default 20 000). */
  timeoutMs?: number
  /** Called every turn before the check (e.g. to pump a ManualClock). */
  onTurn?: () => void
}

/**
 * Resolves once `cond()` is true, checking after every event-loop turn (`setImmediate`, no
 * timers). Rejects with "timed out waiting for <what>" after `timeoutMs`.
 */
export async function waitUntil(
  cond: () => boolean,
  what: string | (() => string),
  opts: WaitOptions = {},
): Promise<void> {
  const deadline = performance.now() + (opts.timeoutMs ?? 20_000)
  for (;;) {
    opts.onTurn?.()
    if (cond()) return
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    }
    await new Promise<void>((r) => setImmediate(r))
  }
}
