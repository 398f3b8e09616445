/**
 * MemAsk: one ask in flight inside a realm, from the asker's call to its settlement. Both ends
 * track it in a set (no listener on either node's long-lived close signal), so any number of
 * asks can be in flight.
 */
import {
  AskError,
  ResponseTooLargeError,
  errorReason,
  payloadCopy,
  payloadSize,
} from '../../core/index.js'
import type { IncomingAsk, Message, Payload } from '../../core/index.js'
import type { MemAddr } from './addr.js'

/** The two nodes' view of an ask, and how replies travel back. */
export interface MemAskEnds {
  /** Asks the asker is waiting for. */
  readonly outgoing: Set<MemAsk>
  /** Asks the server holds (queued or being handled). */
  readonly incoming: Set<MemAsk>
  /** Largest response accepted. */
  readonly mtu: number
  /** Runs `fn` after the realm's one-way delay (or at once). */
  readonly travel: (fn: () => void) => void
}

/** An ask between two memswarm nodes. Settles exactly once. */
export class MemAsk implements IncomingAsk<MemAddr> {
  readonly req: Message<MemAddr>
  #abandon: AbortController | undefined
  readonly #ends: MemAskEnds
  readonly #resolve: (res: Uint8Array) => void
  readonly #reject: (err: unknown) => void
  readonly #callerSignal: AbortSignal | undefined
  #settled = false

  constructor(
    req: Message<MemAddr>,
    ends: MemAskEnds,
    resolve: (res: Uint8Array) => void,
    reject: (err: unknown) => void,
    callerSignal: AbortSignal | undefined,
  ) {
    this.req = req
    this.#ends = ends
    this.#resolve = resolve
    this.#reject = reject
    this.#callerSignal = callerSignal
    ends.outgoing.add(this)
    ends.incoming.add(this)
    callerSignal?.addEventListener('abort', this.#onCallerAbort, { once: true })
  }

  /** Aborts when nobody waits for the answer any more. Created on first use. */
  get signal(): AbortSignal {
    if (this.#abandon === undefined) {
      this.#abandon = new AbortController()
      if (this.#settled) this.#abandon.abort(abandoned())
    }
    return this.#abandon.signal
  }

  get done(): boolean {
    return this.#settled
  }

  respond(res: Payload): void {
    if (this.#settled) return
    const n = payloadSize(res)
    if (n > this.#ends.mtu) return this.fail(new ResponseTooLargeError(n, this.#ends.mtu), true)
    const bytes = payloadCopy(res)
    this.#ends.travel(() => this.#settle(() => this.#resolve(bytes)))
  }

  /** Fails the ask: a handler error (sent back as `AskError`), or `err` itself when `local`. */
  fail(err: unknown, local = false): void {
    if (this.#settled) return
    const e = local ? err : new AskError(errorReason(err))
    this.#ends.travel(() => this.#settle(() => this.#reject(e)))
  }

  /** Ends the ask at once with `err` (asker closed or gave up, server gone). */
  cancel(err: unknown): void {
    this.#settle(() => this.#reject(err))
  }

  readonly #onCallerAbort = (): void => this.cancel(this.#callerSignal!.reason)

  #settle(fn: () => void): void {
    if (this.#settled) return
    this.#settled = true
    this.#ends.outgoing.delete(this)
    this.#ends.incoming.delete(this)
    this.#callerSignal?.removeEventListener('abort', this.#onCallerAbort)
    this.#abandon?.abort(abandoned())
    fn()
  }
}

function abandoned(): AskError {
  return new AskError('the asker stopped waiting')
}
