/**
 * Getting a tell across whatever the swarm declares: once when it never drops, retried with
 * pacing when it may.
 */
import type { Addr, Message, Payload, Swarm } from '../core/index.js'
import type { Collector } from './collector.js'

/** Pacing of retries for swarms that may drop. */
const RETRY_MS = 250

/**
 * Tells `payload` to `dst` and waits until `collector` sees a message matching `pred`.
 * When `mayDrop`, the tell is repeated every 250 ms until then; the caller's `deadline` bounds it.
 */
export async function tellUntilReceived<A extends Addr>(
  sender: Swarm<A>,
  dst: A,
  payload: Payload,
  collector: Collector<A>,
  pred: (m: Message<A>) => boolean,
  mayDrop: boolean | undefined,
  deadline: AbortSignal,
): Promise<Message<A>> {
  if (!mayDrop) {
    await sender.tell(dst, payload)
    return collector.next(pred, deadline)
  }
  const got = collector.next(pred, deadline)
  let arrived = false
  got.then(
    () => (arrived = true),
    () => {},
  )
  while (!arrived && !deadline.aborted) {
    await sender.tell(dst, payload)
    await Promise.race([got.catch(() => {}), pace(RETRY_MS)])
  }
  return got
}

function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A small payload naming a test message, e.g. `tag('pair', 3, 7)`. */
export function tag(...parts: (string | number)[]): Uint8Array {
  return encoder.encode(parts.join(':'))
}

/** The text of a tag payload. */
export function tagText(payload: Uint8Array): string {
  return decoder.decode(payload)
}
