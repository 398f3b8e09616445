/** Loops over a swarm: iterate received messages, serve asks, discard tells. */
import { setMaxListeners } from 'node:events'
import { isClosedError } from './errors.js'
import { linkedAbort } from './lifecycle.js'
import type { Addr, AskHandler, Asker, CallOptions, Message, Teller } from './swarm.js'

/**
 * Received messages as an async iterator. Ends when the swarm closes; throws `signal.reason`
 * when the signal aborts. Breaking out of the loop stops receiving; a message taken but not
 * yet yielded is never dropped (each message is taken only when the loop asks for the next).
 */
export async function* messages<A extends Addr>(
  swarm: Teller<A>,
  opts: CallOptions = {},
): AsyncGenerator<Message<A>, void, undefined> {
  for (;;) {
    let got: Message<A> | undefined
    try {
      await swarm.receive((m) => {
        got = m
      }, opts)
    } catch (err) {
      if (isClosedError(err)) return
      throw err
    }
    if (got !== undefined) yield got
  }
}

/** Options of `serveAsks`. */
export interface ServeAsksOptions extends CallOptions {
  /** Most handlers running at once (default 16). */
  concurrency?: number
  /** Called with errors other than close/abort that end a serving slot (default: rethrown). */
  onError?: (err: unknown) => void
}

/**
 * Serves asks until the swarm closes or the signal aborts, running at most `concurrency`
 * handlers at once. Resolves (never rejects) on close or abort; handler throws become error
 * responses as in `serveAsk`.
 */
export async function serveAsks<A extends Addr>(
  swarm: Asker<A>,
  handler: AskHandler<A>,
  opts: ServeAsksOptions = {},
): Promise<void> {
  const concurrency = opts.concurrency ?? 16
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  }
  // One listener on the caller's signal; the slots listen on a linked one sized for them.
  const { controller, dispose } = linkedAbort(opts.signal)
  setMaxListeners(concurrency + 1, controller.signal)
  const signal = controller.signal
  const slot = async (): Promise<void> => {
    for (;;) {
      try {
        await swarm.serveAsk(handler, { signal })
      } catch (err) {
        if (isClosedError(err) || signal.aborted) return
        if (opts.onError === undefined) throw err
        opts.onError(err)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, slot))
  } finally {
    dispose()
  }
}

/**
 * Receives and discards every tell until the swarm closes or the signal aborts, then resolves.
 * Rejects only with an unexpected error from the swarm.
 */
export async function discardTells<A extends Addr>(
  swarm: Teller<A>,
  opts: CallOptions = {},
): Promise<void> {
  for (;;) {
    try {
      await swarm.receive(() => {}, opts)
    } catch (err) {
      if (isClosedError(err) || opts.signal?.aborted) return
      throw err
    }
  }
}
