/**
 * Joining capabilities: type guards, and composition by explicit delegation (class methods
 * live on prototypes, so `{ ...swarm, ...asker }` would lose them).
 */
import type {
  Addr,
  AskHandler,
  AskSwarm,
  Asker,
  CallOptions,
  HasStats,
  Message,
  Payload,
  Secure,
  SecureAskSwarm,
  SecureSwarm,
  Stats,
  Swarm,
} from './swarm.js'

/** True when `x` has `ask` and `serveAsk`. */
export function isAsker<A extends Addr>(x: object): x is Asker<A> {
  const a = x as Partial<Asker<A>>
  return typeof a.ask === 'function' && typeof a.serveAsk === 'function'
}

/** True when `x` has `publicKey` and `lookupPublicKey`. */
export function isSecure<A extends Addr, Pub = unknown>(x: object): x is Secure<A, Pub> {
  const s = x as Partial<Secure<A, Pub>>
  return typeof s.publicKey === 'function' && typeof s.lookupPublicKey === 'function'
}

/** True when `x` has `stats()`. */
export function hasStats(x: object): x is HasStats {
  return typeof (x as Partial<HasStats>).stats === 'function'
}

/** A Swarm that delegates every Swarm method to `swarm`. Base of the compose helpers. */
class SwarmView<A extends Addr> implements Swarm<A>, HasStats {
  protected readonly swarm: Swarm<A>
  constructor(swarm: Swarm<A>) {
    this.swarm = swarm
  }
  tell(dst: A, data: Payload, opts?: CallOptions): Promise<void> {
    return this.swarm.tell(dst, data, opts)
  }
  receive(fn: (msg: Message<A>) => void | Promise<void>, opts?: CallOptions): Promise<void> {
    return this.swarm.receive(fn, opts)
  }
  localAddrs(): A[] {
    return this.swarm.localAddrs()
  }
  mtu(dst: A): number {
    return this.swarm.mtu(dst)
  }
  maxIncomingSize(): number {
    return this.swarm.maxIncomingSize()
  }
  parseAddr(text: string): A {
    return this.swarm.parseAddr(text)
  }
  close(): Promise<void> {
    return this.swarm.close()
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
  stats(): Stats {
    return hasStats(this.swarm) ? this.swarm.stats() : {}
  }
}

class AskSwarmView<A extends Addr> extends SwarmView<A> implements AskSwarm<A> {
  readonly #asker: Asker<A>
  constructor(swarm: Swarm<A>, asker: Asker<A>) {
    super(swarm)
    this.#asker = asker
  }
  ask(dst: A, req: Payload, opts?: CallOptions): Promise<Uint8Array> {
    return this.#asker.ask(dst, req, opts)
  }
  serveAsk(handler: AskHandler<A>, opts?: CallOptions): Promise<void> {
    return this.#asker.serveAsk(handler, opts)
  }
}

class SecureAskSwarmView<A extends Addr, Pub>
  extends AskSwarmView<A>
  implements SecureAskSwarm<A, Pub>
{
  readonly #secure: Secure<A, Pub>
  constructor(swarm: Swarm<A>, asker: Asker<A>, secure: Secure<A, Pub>) {
    super(swarm, asker)
    this.#secure = secure
  }
  publicKey(): Pub {
    return this.#secure.publicKey()
  }
  lookupPublicKey(addr: A, opts?: CallOptions): Promise<Pub> {
    return this.#secure.lookupPublicKey(addr, opts)
  }
}

class SecureSwarmView<A extends Addr, Pub> extends SwarmView<A> implements SecureSwarm<A, Pub> {
  readonly #secure: Secure<A, Pub>
  constructor(swarm: Swarm<A>, secure: Secure<A, Pub>) {
    super(swarm)
    this.#secure = secure
  }
  publicKey(): Pub {
    return this.#secure.publicKey()
  }
  lookupPublicKey(addr: A, opts?: CallOptions): Promise<Pub> {
    return this.#secure.lookupPublicKey(addr, opts)
  }
}

/** An AskSwarm whose Swarm methods go to `swarm` and ask methods to `asker`. `close()` closes `swarm`. */
export function composeAskSwarm<A extends Addr>(swarm: Swarm<A>, asker: Asker<A>): AskSwarm<A> {
  return new AskSwarmView(swarm, asker)
}

/** A SecureSwarm joining `swarm` with `secure`. `close()` closes `swarm`. */
export function composeSecureSwarm<A extends Addr, Pub>(
  swarm: Swarm<A>,
  secure: Secure<A, Pub>,
): SecureSwarm<A, Pub> {
  return new SecureSwarmView(swarm, secure)
}

/** A SecureAskSwarm joining the three parts. `close()` closes `swarm`. */
export function composeSecureAskSwarm<A extends Addr, Pub>(
  swarm: Swarm<A>,
  asker: Asker<A>,
  secure: Secure<A, Pub>,
): SecureAskSwarm<A, Pub> {
  return new SecureAskSwarmView(swarm, asker, secure)
}
