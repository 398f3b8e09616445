/**
 * ManualClock: a `Clock` whose time moves only when a test says so, so timer-driven code
 * (rekeys, retransmissions, expiry) is tested without sleeping.
 */
import type { Clock } from '../core/index.js'

interface Timer {
  at: number
  seq: number
  fn: () => void
}

/** A clock driven by `advance`/`tick`. Timers fire in order of due time, then of creation. */
export class ManualClock implements Clock {
  #now: number
  #seq = 0
  readonly #timers = new Set<Timer>()

  /** Starts at `start` ms (default 0). */
  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const t: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn }
    this.#timers.add(t)
    return () => {
      this.#timers.delete(t)
    }
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.size
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (also timers those
   * timers set), each at its own due time. Synchronous: promise continuations run afterwards.
   */
  advance(ms: number): void {
    const end = this.#now + ms
    for (let t = this.#due(end); t !== undefined; t = this.#due(end)) this.#fire(t)
    this.#now = end
  }

  /**
   * Like `advance`, but lets the event loop run (promise continuations and I/O callbacks)
   * after each timer and at the end, so async code reacts before the next timer fires.
   */
  async tick(ms: number): Promise<void> {
    const end = this.#now + ms
    await settle()
    for (let t = this.#due(end); t !== undefined; t = this.#due(end)) {
      this.#fire(t)
      await settle()
    }
    this.#now = end
    await settle()
  }

  #due(end: number): Timer | undefined {
    let first: Timer | undefined
    for (const t of this.#timers) {
      if (t.at > end) continue
      if (first === undefined || t.at < first.at || (t.at === first.at && t.seq < first.seq))
        first = t
    }
    return first
  }

  #fire(t: Timer): void {
    this.#timers.delete(t)
    this.#now = Math.max(this.#now, t.at)
    t.fn()
  }
}

/** Lets pending promise continuations and immediates run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
