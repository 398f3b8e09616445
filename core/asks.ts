/**
 * The server side of an ask, shared by every swarm that asks natively: an `IncomingAsk` waits
 * in an `Inbox` until `serveAsk` takes it, runs the handler and answers exactly once.
 */
import { BusyError, ClosedError, TimeoutError } from './errors.js'
import { Inbox, type InboxOptions } from './inbox.js'
import type { Addr, AskHandler, CallOptions, Message, Payload } from './swarm.js'

/** A request waiting to be served. Exactly one of `respond`/`fail` takes effect. */
export interface IncomingAsk<A extends Addr> {
  readonly req: Message<A>
  /**
   * Aborts when nobody waits for the answer any more (asker gave up, deadline, close).
   * Implementations may create it lazily: it is read only when a handler looks at it.
   */
  readonly signal: AbortSignal
  /**
   * True once the ask was answered or abandoned; an inbox skips such asks. When absent,
   * `signal.aborted` is used instead (which creates a lazy signal).
   */
  readonly done?: boolean
  /** Sends the response. */
  respond(res: Payload): void
  /** Sends an error response with a short reason derived from `err`. */
  fail(err: unknown): void
}

/**
 * An inbox for incoming asks: dead asks (nobody waiting) are skipped, and every ask the inbox
 * drops is failed with a reason the asker can read (busy, expired, closed).
 */
export function newAskInbox<A extends Addr>(
  opts: Omit<InboxOptions<IncomingAsk<A>>, 'isLive' | 'onDrop' | 'sizeOf'> = {},
): Inbox<IncomingAsk<A>> {
  return new Inbox<IncomingAsk<A>>({
    ...opts,
    sizeOf: (a) => a.req.payload.length,
    isLive: (a) => !(a.done ?? a.signal.aborted),
    onDrop: (a, reason) => {
      if (reason === 'full') a.fail(new BusyError('server has too many asks waiting'))
      else if (reason === 'expired') a.fail(new TimeoutError('ask expired before it was served'))
      else a.fail(new ClosedError())
    },
  })
}

/**
 * Takes one ask from `inbox`, runs `handler` and answers it. A handler throw becomes an error
 * response and does not reject. Rejects only as `take` does: closed or aborted while waiting.
 * Once an ask is taken it is always answered, even if `opts.signal` aborts meanwhile.
 */
export async function serveOne<A extends Addr>(
  inbox: Inbox<IncomingAsk<A>>,
  handler: AskHandler<A>,
  opts?: CallOptions,
): Promise<void> {
  const ask = await inbox.take(opts)
  let res: Payload
  try {
    // The context reads the signal only if the handler does (creating one costs).
    res = await handler(ask.req, {
      get signal() {
        return ask.signal
      },
    })
  } catch (err) {
    ask.fail(err)
    return
  }
  if (!isPayload(res)) {
    // A common mistake (returning nothing); answered as a handler error, never thrown here.
    ask.fail(new TypeError('ask handler must return a Uint8Array or an array of them'))
    return
  }
  ask.respond(res)
}

/** True when `x` is a `Payload`: a Uint8Array or an array of them. */
export function isPayload(x: unknown): x is Payload {
  if (x instanceof Uint8Array) return true
  if (!Array.isArray(x)) return false
  for (const part of x) if (!(part instanceof Uint8Array)) return false
  return true
}

/**
 * Takes one message from `inbox` and calls `fn` with it; resolves after `fn` settles.
 * This is `receive` for every swarm that keeps an inbox of messages.
 */
export async function receiveOne<A extends Addr>(
  inbox: Inbox<Message<A>>,
  fn: (msg: Message<A>) => void | Promise<void>,
  opts?: CallOptions,
): Promise<void> {
  const msg = await inbox.take(opts)
  await fn(msg)
}

/** An inbox for received messages, sized by payload bytes. */
export function newMessageInbox<A extends Addr>(
  opts: Omit<InboxOptions<Message<A>>, 'sizeOf'> = {},
): Inbox<Message<A>> {
  return new Inbox<Message<A>>({ ...opts, sizeOf: (m) => m.payload.length })
}
