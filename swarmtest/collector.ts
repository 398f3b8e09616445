/**
 * Collector: a receive loop that gathers a swarm's messages so a test can wait for the ones it
 * expects (by predicate) instead of sleeping.
 */
import { isClosedError } from '../core/index.js'
import type { Addr, Message, Swarm } from '../core/index.js'

interface Want<A extends Addr> {
  pred: (m: Message<A>) => boolean
  resolve: (m: Message<A>) => void
}

/** Receives continuously from one swarm until stopped or the swarm closes. */
export class Collector<A extends Addr> {
  /** Every message received, in order of arrival. */
  readonly received: Message<A>[] = []
  readonly #stop = new AbortController()
  readonly #wants = new Set<Want<A>>()
  readonly #changed = new Set<() => void>()
  /** Settles when the loop ends; rejects only on an unexpected receive error. */
  readonly done: Promise<void>

  readonly #inspect: ((m: Message<A>) => void) | undefined

  /** Starts receiving from `swarm`; `inspect` runs inside each receive callback. */
  constructor(swarm: Swarm<A>, inspect?: (m: Message<A>) => void) {
    this.#inspect = inspect
    this.done = this.#loop(swarm)
  }

  /** Waits for a message matching `pred` (also one already received). */
  next(pred: (m: Message<A>) => boolean, signal: AbortSignal): Promise<Message<A>> {
    const have = this.received.find(pred)
    if (have !== undefined) return Promise.resolve(have)
    return new Promise((resolve, reject) => {
      const want: Want<A> = { pred, resolve }
      const onAbort = () => {
        this.#wants.delete(want)
        reject(signal.reason)
      }
      if (signal.aborted) return onAbort()
      want.resolve = (m) => {
        signal.removeEventListener('abort', onAbort)
        resolve(m)
      }
      this.#wants.add(want)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Waits until `done()` holds (checked after every message) and returns true. With `quietMs`,
   * gives up and returns false once that long passes without a new message (for swarms that
   * may drop, whose count may never be reached).
   */
  async until(done: () => boolean, signal: AbortSignal, quietMs?: number): Promise<boolean> {
    while (!done()) {
      if (!(await this.#nextChange(signal, quietMs))) return false
    }
    return true
  }

  /** Resolves true on the next message, false after `quietMs` without one. */
  #nextChange(signal: AbortSignal, quietMs?: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const finish = (result: boolean) => {
        clearTimeout(timer)
        this.#changed.delete(onChange)
        signal.removeEventListener('abort', onAbort)
        resolve(result)
      }
      const onChange = () => finish(true)
      const onAbort = () => {
        finish(false)
        reject(signal.reason)
      }
      if (signal.aborted) return reject(signal.reason)
      this.#changed.add(onChange)
      signal.addEventListener('abort', onAbort, { once: true })
      if (quietMs !== undefined) timer = setTimeout(() => finish(false), quietMs)
    })
  }

  /** Stops receiving. */
  stop(): Promise<void> {
    this.#stop.abort(new Error('collector stopped'))
    return this.done
  }

  async #loop(swarm: Swarm<A>): Promise<void> {
    const signal = this.#stop.signal
    for (;;) {
      try {
        await swarm.receive((m) => this.#add(m), { signal })
      } catch (err) {
        if (signal.aborted || isClosedError(err)) return
        throw err
      }
    }
  }

  #add(m: Message<A>): void {
    this.#inspect?.(m)
    this.received.push(m)
    for (const w of this.#wants) {
      if (w.pred(m)) {
        this.#wants.delete(w)
        w.resolve(m)
      }
    }
    for (const f of [...this.#changed]) f()
  }
}
