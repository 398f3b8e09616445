/**
 * A swarm of your own: a wrapper that is its inner swarm plus one idea (here, counting bytes).
 * `counting-swarm.test.ts` runs the swarmtest conformance suite on it.
 */
import type { Addr, CallOptions, Message, Payload, Swarm } from 'swarmwire/core'
import { payloadSize } from 'swarmwire/core'

/** Counts the bytes told and received through any swarm. */
export class CountingSwarm<A extends Addr> implements Swarm<A> {
  bytesOut = 0
  bytesIn = 0
  readonly #inner: Swarm<A>

  constructor(inner: Swarm<A>) {
    this.#inner = inner
  }

  async tell(dst: A, data: Payload, opts?: CallOptions): Promise<void> {
    await this.#inner.tell(dst, data, opts)
    this.bytesOut += payloadSize(data)
  }

  receive(fn: (msg: Message<A>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    return this.#inner.receive((msg) => {
      this.bytesIn += msg.payload.length
      return fn(msg)
    }, opts)
  }

  localAddrs(): A[] {
    return this.#inner.localAddrs()
  }
  mtu(dst: A): number {
    return this.#inner.mtu(dst)
  }
  maxIncomingSize(): number {
    return this.#inner.maxIncomingSize()
  }
  parseAddr(text: string): A {
    return this.#inner.parseAddr(text)
  }
  close(): Promise<void> {
    return this.#inner.close()
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
