/**
 * The receive loop of a wrapping swarm: takes every message its inner swarm receives and hands
 * it on, until the inner swarm closes. Every layer that reads its inner swarm uses this one
 * loop, so they all behave the same when the inner swarm closes underneath them.
 */
import { isClosedError } from './errors.js'
import type { Addr, Message, Teller } from './swarm.js'

/**
 * Receives from `inner` until it closes, calling `onMessage` inside each receive callback.
 * `onMessage` must not throw (it parses and drops bad input itself); if it does, the error ends
 * the loop like an unexpected receive error.
 *
 * Resolves with undefined when `inner` closes, or with the unexpected error that ended the
 * loop; never rejects. The owner should then close itself (without awaiting the loop from
 * inside its own close, which awaits this promise):
 *
 * ```ts
 * this.#loop = pumpMessages(inner, this.#onMessage).then(() => void this.close())
 * ```
 *
 * No signal is passed to `inner.receive`: the owner stops the loop by closing `inner`, which
 * it owns, so no abort listener is added and removed per message.
 */
export async function pumpMessages<A extends Addr>(
  inner: Teller<A>,
  onMessage: (msg: Message<A>) => void,
): Promise<unknown> {
  for (;;) {
    try {
      await inner.receive(onMessage)
    } catch (err) {
      return isClosedError(err) ? undefined : err
    }
  }
}
