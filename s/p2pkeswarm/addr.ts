/**
 * p2pkeswarm addresses: `<PeerID>@<inner>`, as go-p2p's `p2pkeswarm.Addr` (s/p2pkeswarm/addr.go).
 *
 * The PeerID is the 43-character ordered-base64 text (see `core/peer.ts`), the inner part is the
 * inner swarm's canonical address text. Parsing splits at the first `@` (the PeerID alphabet has
 * no `@`, so an inner address may contain one) and is strict: a PeerID text that is not canonical
 * is refused (go-p2p ignores its decoder's error; swarmwire does not).
 */
import {
  type Addr,
  BadAddrError,
  type HasPeerID,
  PeerID,
  type WrappingAddr,
  isBadAddrError,
} from '../../core/index.js'

/** A peer on a p2pkeswarm: who (`peerID`) and where (`inner`, the inner swarm's address). */
export class P2PKEAddr<Inner extends Addr = Addr> implements WrappingAddr<Inner>, HasPeerID {
  /** The peer's identity: the fingerprint of its public key. */
  readonly peerID: PeerID
  /** The inner swarm's address of the peer. */
  readonly inner: Inner
  #text?: string

  /** Throws `TypeError` unless `peerID` is a `PeerID` and `inner` an object. */
  constructor(peerID: PeerID, inner: Inner) {
    if (!(peerID instanceof PeerID)) throw new TypeError('peerID must be a PeerID')
    if (typeof inner !== 'object' || inner === null) throw new TypeError('inner must be an Addr')
    this.peerID = peerID
    this.inner = inner
  }

  /** The inner swarm's address. */
  unwrap(): Inner {
    return this.inner
  }

  /** The same PeerID around `fn(inner)`. */
  map(fn: (inner: Inner) => Inner): this {
    return new P2PKEAddr(this.peerID, fn(this.inner)) as this
  }

  /** The same inner address with another PeerID (used by `core`'s `mapPeerID`). */
  withPeerID(id: PeerID): this {
    return new P2PKEAddr(id, this.inner) as this
  }

  /** `<PeerID>@<inner>`. */
  toString(): string {
    this.#text ??= `${this.peerID.toString()}@${this.inner.toString()}`
    return this.#text
  }

  toJSON(): string {
    return this.toString()
  }
}

/**
 * Parses `<PeerID>@<inner>` with `parseInner` for the part after the first `@`. Throws
 * `BadAddrError` for anything else; an error of `parseInner` that is not a `BadAddrError` is
 * wrapped in one (as its `cause`).
 */
export function parseP2PKEAddr<Inner extends Addr>(
  text: string,
  parseInner: (text: string) => Inner,
): P2PKEAddr<Inner> {
  if (typeof text !== 'string') throw new BadAddrError('p2pkeswarm address must be a string')
  const at = text.indexOf('@')
  if (at < 0) throw new BadAddrError(`bad p2pkeswarm address ${quote(text)}: want <PeerID>@<addr>`)
  const id = PeerID.parse(text.slice(0, at))
  const rest = text.slice(at + 1)
  if (rest.length === 0) {
    throw new BadAddrError(`bad p2pkeswarm address ${quote(text)}: empty inner address`)
  }
  let inner: Inner
  try {
    inner = parseInner(rest)
  } catch (err) {
    if (isBadAddrError(err)) throw err
    throw new BadAddrError(`bad p2pkeswarm address ${quote(text)}: ${String(err)}`, {
      cause: err,
    })
  }
  return new P2PKEAddr(id, inner)
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
}
