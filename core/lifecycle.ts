/**
 * Small pieces every swarm needs around close and abort.
 */
import { ClosedError } from './errors.js'
import type { CallOptions } from './swarm.js'

/**
 * Closes once: the first `close(fn)` runs `fn` and every call returns that same promise.
 * `signal` aborts (with a `ClosedError`) as soon as closing starts, so loops and waits stop.
 */
export class CloseOnce {
  readonly #controller = new AbortController()
  #done?: Promise<void>

  /** Aborts with a `ClosedError` when closing starts. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** True once closing has started. */
  get closed(): boolean {
    return this.#controller.signal.aborted
  }

  /** Throws `ClosedError` once closing has started. */
  throwIfClosed(): void {
    if (this.closed) throw new ClosedError()
  }

  /** Starts closing (once) and returns the promise of `fn`, the same for every call. */
  close(fn: () => Promise<void>): Promise<void> {
    if (this.#done === undefined) {
      this.#controller.abort(new ClosedError())
      this.#done = fn()
    }
    return this.#done
  }
}

/**
 * Rejects with `ClosedError` when `closer` is closed and with `signal.reason` when aborted.
 * The entry check of every public call.
 */
export function checkCall(closer: CloseOnce, opts?: CallOptions): void {
  closer.throwIfClosed()
  opts?.signal?.throwIfAborted()
}

/**
 * Settles like `p`, or rejects earlier with the reason of the first of `signals` to abort.
 * Adds one listener per signal and removes it when settled (no `AbortSignal.any`, which leaks
 * with long-lived signals: nodejs/node#55351).
 */
export function raceAbort<T>(
  p: Promise<T>,
  ...signals: readonly (AbortSignal | undefined)[]
): Promise<T> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined)
  if (live.length === 0) return p
  for (const s of live) if (s.aborted) return Promise.reject(s.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (ev: Event) => {
      done()
      reject((ev.target as AbortSignal).reason)
    }
    const done = () => {
      for (const s of live) s.removeEventListener('abort', onAbort)
    }
    for (const s of live) s.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        done()
        resolve(v)
      },
      (e) => {
        done()
        reject(e)
      },
    )
  })
}

/**
 * An AbortController that aborts when any of `signals` aborts, with that signal's reason.
 * `dispose()` removes the listeners; call it when the derived controller is no longer needed.
 */
export function linkedAbort(...signals: readonly (AbortSignal | undefined)[]): {
  controller: AbortController
  dispose: () => void
} {
  const controller = new AbortController()
  const live = signals.filter((s): s is AbortSignal => s !== undefined)
  const onAbort = (ev: Event) => controller.abort((ev.target as AbortSignal).reason)
  const dispose = () => {
    for (const s of live) s.removeEventListener('abort', onAbort)
  }
  for (const s of live) {
    if (s.aborted) {
      controller.abort(s.reason)
      return { controller, dispose: () => {} }
    }
  }
  for (const s of live) s.addEventListener('abort', onAbort, { once: true })
  return { controller, dispose }
}
