/**
 * Forwarding asks from an inner Asker into an inbox that an outer `serveAsk` takes from: the
 * serving side of every layer that merges (multiswarm) or splits (p2pmux) ask traffic.
 */
import type { IncomingAsk } from './asks.js'
import { isClosedError } from './errors.js'
import type { Inbox } from './inbox.js'
import type { Addr, AskHandler, Asker, Message, Payload } from './swarm.js'

/** Where an inner request goes: the inbox, and the request as the outer layer sees it. */
export interface AskRoute<B extends Addr> {
  readonly inbox: Inbox<IncomingAsk<B>>
  readonly req: Message<B>
}

/** Options of `forwardAsks`. */
export interface ForwardAsksOptions {
  /** Most asks taken from the source and not yet answered (at least 1). */
  readonly maxInFlight: number
  /** Stops forwarding; asks in flight then fail with its reason. */
  readonly signal: AbortSignal
  /** Called when the source's `serveAsk` fails with something other than close/abort. */
  readonly log?: (event: string, detail: Record<string, unknown>) => void
}

/**
 * Serves `source`'s asks by handing each to the inbox `route` picks, and answering with what
 * the outer server responds (or the error it fails with: busy when the inbox is full, expired,
 * closed). `route` may throw to refuse a request; the source then sends that error.
 *
 * Keeps exactly one `serveAsk` waiting on `source` while fewer than `maxInFlight` asks are in
 * flight, so the number of listeners and pending calls stays constant, and a slow outer
 * server holds at most `maxInFlight` of the source's asks. An ask whose asker stops waiting
 * frees its slot at once. Resolves once `signal` aborts (or the source closes) and every ask
 * in flight has been answered; aborting fails the asks in flight with the signal's reason.
 */
export function forwardAsks<A extends Addr, B extends Addr>(
  source: Asker<A>,
  route: (req: Message<A>) => AskRoute<B>,
  opts: ForwardAsksOptions,
): Promise<void> {
  const { signal, maxInFlight } = opts
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`)
  }
  const cancels = new Set<(err: unknown) => void>()
  let inFlight = 0
  let idle = false
  let stopped = false
  let finish!: () => void
  const done = new Promise<void>((resolve) => (finish = resolve))
  const maybeDone = () => {
    if (stopped && !idle && inFlight === 0) finish()
  }
  const onStop = () => {
    stopped = true
    for (const cancel of [...cancels]) cancel(signal.reason)
    maybeDone()
  }

  const launch = () => {
    if (stopped || idle || inFlight >= maxInFlight) return
    idle = true
    let took = false
    const handler: AskHandler<A> = (req, ctx) => {
      took = true
      idle = false
      inFlight++
      launch()
      const r = route(req)
      return handOff(r.inbox, r.req, ctx.signal, cancels)
    }
    source.serveAsk(handler, { signal }).then(
      () => {
        if (took) inFlight--
        else idle = false
        launch()
        maybeDone()
      },
      (err: unknown) => {
        if (took) inFlight--
        else idle = false
        if (!signal.aborted && !isClosedError(err)) {
          opts.log?.('serveAsk failed', { err })
        }
        // Closed, aborted or broken: nothing more will be taken from this source.
        stopped = true
        maybeDone()
      },
    )
  }

  if (signal.aborted) {
    stopped = true
    finish()
    return done
  }
  signal.addEventListener('abort', onStop, { once: true })
  void done.then(() => signal.removeEventListener('abort', onStop))
  launch()
  return done
}

/**
 * Puts a request into `inbox` and settles with the outer server's answer. Settles early with
 * `signal.reason` when the asker stops waiting (the request may still be served if it was
 * already handed out: once taken, an ask is always answered, to nobody). `cancels` holds the
 * early-settle hook while the request is in flight.
 */
function handOff<B extends Addr>(
  inbox: Inbox<IncomingAsk<B>>,
  req: Message<B>,
  signal: AbortSignal,
  cancels: Set<(err: unknown) => void>,
): Promise<Payload> {
  return new Promise<Payload>((resolve, reject) => {
    let done = false
    const settle = (fn: () => void) => {
      if (done) return
      done = true
      signal.removeEventListener('abort', onAbort)
      cancels.delete(cancel)
      fn()
    }
    const cancel = (err: unknown) => settle(() => reject(err))
    const onAbort = () => cancel(signal.reason)
    cancels.add(cancel)
    inbox.put({
      req,
      signal,
      respond: (res) => settle(() => resolve(res)),
      fail: (err) => cancel(err),
    })
    if (done) return
    if (signal.aborted) cancel(signal.reason)
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}
