/**
 * The Swarm contract: a node's view of an address space.
 *
 * Every swarm in swarmwire, and every swarm a user writes for swarmtest, implements these
 * interfaces. The semantics below are the contract swarmtest checks.
 */

/**
 * A message payload as an iovec: the parts are concatenated on the wire. A layer prepends its
 * header by building a new list, so nothing is copied until a socket gathers the parts.
 */
export type Payload = Uint8Array | readonly Uint8Array[]

/** Options every async call accepts, last. Aborting rejects the call with `signal.reason`. */
export interface CallOptions {
  signal?: AbortSignal
}

/**
 * An address in some swarm's address space. `toString()` is the canonical text form:
 * `swarm.parseAddr(a.toString())` yields an address whose text equals `a.toString()`.
 * Two addresses are equal exactly when their texts are equal (see `addrEqual`).
 */
export interface Addr {
  toString(): string
}

/** A received datagram, request or response. The payload belongs to whoever receives it. */
export interface Message<A extends Addr> {
  src: A
  dst: A
  payload: Uint8Array
}

/** Best-effort datagrams. */
export interface Teller<A extends Addr> {
  /**
   * Sets `data` in flight to `dst`. Resolving promises nothing about delivery.
   * Rejects with `MTUExceededError` when the payload is larger than `mtu(dst)`, with
   * `ClosedError` after close, and with `signal.reason` when aborted. Never modifies the
   * caller's buffers, and never keeps a reference to them after it resolves.
   */
  tell(dst: A, data: Payload, opts?: CallOptions): Promise<void>
  /**
   * Takes exactly one message: waits for one, calls `fn` with it and resolves after `fn`
   * (and the promise it returns) settles; a throw from `fn` rejects `receive`. Messages that
   * arrive while nobody receives wait in a bounded inbox and are dropped (and counted) past it.
   */
  receive(fn: (msg: Message<A>) => void | Promise<void>, opts?: CallOptions): Promise<void>
}

/** A node's view of an address space: datagrams plus introspection. */
export interface Swarm<A extends Addr> extends Teller<A> {
  /** The addresses other nodes can reach this one at. Never empty while open. */
  localAddrs(): A[]
  /** The largest payload `tell()` accepts for `dst`. */
  mtu(dst: A): number
  /** The largest payload `receive()` can deliver. */
  maxIncomingSize(): number
  /** Parses the canonical text of an address. Throws `BadAddrError` on bad input. */
  parseAddr(text: string): A
  /**
   * Releases every socket, timer and pending call. Pending and later calls reject with
   * `ClosedError`. Idempotent: every call returns the same promise. A wrapping swarm owns
   * its inner swarm and closes it.
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Context given to an ask handler. `signal` aborts when the asker stops waiting or the swarm closes. */
export interface AskContext {
  signal: AbortSignal
}

/** Answers one request. A throw becomes an error response (`AskError` at the caller). */
export type AskHandler<A extends Addr> = (
  req: Message<A>,
  ctx: AskContext,
) => Payload | Promise<Payload>

/** Reliable request/response. */
export interface Asker<A extends Addr> {
  /**
   * Sends `req` to `dst` and resolves with the response. Rejects with `AskError` when the
   * remote handler failed, with `signal.reason` on abort or deadline, with `ClosedError`
   * after close, and with `MTUExceededError` when `req` is too large.
   */
  ask(dst: A, req: Payload, opts?: CallOptions): Promise<Uint8Array>
  /**
   * Serves exactly one request with `handler`, then resolves. A handler that throws sends an
   * error response; the throw does not reject `serveAsk`.
   */
  serveAsk(handler: AskHandler<A>, opts?: CallOptions): Promise<void>
}

/** A swarm whose peers are identified by public keys. */
export interface Secure<A extends Addr, Pub> {
  /** This node's long-lived public key. */
  publicKey(): Pub
  /**
   * The public key of the peer at `addr`. Inside a `receive` or `serveAsk` callback,
   * `lookupPublicKey(msg.src)` answers from memory. Rejects with `PublicKeyNotFoundError`
   * when the key is unknown and cannot be learned.
   */
  lookupPublicKey(addr: A, opts?: CallOptions): Promise<Pub>
}

/** The address type of a swarm type: `AddrOf<UDPSwarm>` is `UDPAddr`. */
export type AddrOf<S> = S extends Swarm<infer A> ? A : never

/** A Swarm that also asks. */
export type AskSwarm<A extends Addr> = Swarm<A> & Asker<A>
/** A Swarm with authenticated peers. */
export type SecureSwarm<A extends Addr, Pub> = Swarm<A> & Secure<A, Pub>
/** A Swarm with authenticated peers that also asks. */
export type SecureAskSwarm<A extends Addr, Pub> = Swarm<A> & Asker<A> & Secure<A, Pub>

/** Counters an operator reads. Nested objects hold an inner layer's counters. */
export interface Stats {
  readonly [name: string]: number | Stats
}

/** Something that reports counters (every swarm in swarmwire does). */
export interface HasStats {
  stats(): Stats
}
