/**
 * The baseline: the cheapest reasonable async handoff between producers and consumers in one
 * process (an array of items and an array of waiting resolvers). The ratio against it shows
 * what a swarm adds.
 */

/** A minimal unbounded async queue. */
export class RawQueue<T> {
  readonly #items: T[] = []
  readonly #waiters: ((v: T) => void)[] = []

  push(v: T): void {
    const w = this.#waiters.shift()
    if (w !== undefined) w(v)
    else this.#items.push(v)
  }

  take(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!)
    return new Promise((r) => this.#waiters.push(r))
  }
}
